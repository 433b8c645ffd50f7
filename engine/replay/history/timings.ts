// How long each event's method ran, kept beside the log and outside the hash
// chain: one row per stored chunk row, packed (well under a byte per event),
// written in the group commit's own SQLite transaction. The table is made by
// the first writer that has timings, so a log without it (written before)
// still opens; an older Loom reads a packed row as not timed. Readers never write.
import type Database from 'better-sqlite3'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { sideStatements } from './sideTable.ts'
import type { EventRecord } from '../../runtime/event.ts'

/**
 * Per event of a batch: its time (ms, -1: not measured) and which of `keys`
 * ran, as the bytes of a Float32Array and a Uint16Array in base64: a string
 * crosses to the writer thread as one copy (an array of numbers is cloned
 * number by number) and over a confined engine's link as JSON.
 */
export interface Timings {
  ms: string
  key: string
  /** What ran: kind, method and the cell that exports it, each once per batch. */
  keys: TimingKey[]
}

export type TimingKey = [kind: string, method: string | null, cell: string | null]

/** One event's time as read back. */
export interface EventTiming {
  seq: number
  ms: number
  kind: string
  method: string | null
  cell: string | null
}

/** The timings of a batch, or undefined when none of its events was measured (an import, a marker). */
export function encodeTimings(events: EventRecord[]): Timings | undefined {
  let ms: Float32Array | undefined
  let key: Uint16Array | undefined
  const keys: TimingKey[] = []
  const index = new Map<string, number>()
  // Most batches run one method over and over: the previous event's key is tried first.
  let last: EventRecord | null = null
  let k = 0
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.duration === undefined) continue
    if (!ms) {
      ms = new Float32Array(events.length).fill(-1)
      key = new Uint16Array(events.length)
    }
    if (!last || last.kind !== e.kind || last.method !== e.method || last.cell !== e.cell) {
      const name = `${e.kind}\0${e.method}\0${e.cell}`
      const found = index.get(name)
      if (found === undefined) {
        // More distinct methods than a Uint16 counts in one batch: the rest are not timed.
        if (keys.length === 0xffff) continue
        index.set(name, (k = keys.length))
        keys.push([e.kind, e.method, e.cell ?? null])
      } else k = found
      last = e
    }
    ms[i] = e.duration
    key![i] = k
  }
  return ms ? { ms: base64(ms), key: base64(key!), keys } : undefined
}

function base64(a: Float32Array | Uint16Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
}

/** Why a timings record from elsewhere (a confined engine's commit) is refused, or null. */
export function badTimings(t: unknown, count: number): string | null {
  if (t === undefined) return null
  const x = t as Timings
  if (typeof t !== 'object' || t === null || typeof x.ms !== 'string' || typeof x.key !== 'string' || !Array.isArray(x.keys)) return 'malformed timings'
  if (x.ms.length > 8 * count + 8 || x.key.length > 4 * count + 8 || x.keys.length > 0xffff) return 'timings of another count of events'
  const { ms, key } = decode(x)
  if (ms.length !== count || key.length !== count) return 'timings of another count of events'
  if (!x.keys.every(goodKey)) return 'a malformed timing key'
  for (let i = 0; i < count; i++) {
    if (!(ms[i] === -1 || goodTime(ms[i]!)) || key[i]! >= Math.max(1, x.keys.length)) return 'a malformed timing'
  }
  return null
}

function goodKey(k: unknown): k is TimingKey {
  return Array.isArray(k) && k.length === 3 && typeof k[0] === 'string' && (k[1] === null || typeof k[1] === 'string') && (k[2] === null || typeof k[2] === 'string')
}

function goodTime(ms: number): boolean {
  return ms >= 0 && ms < 1e9
}

/** The times and keys of a batch as arrays (a copy: base64 bytes need not be aligned). */
function decode(t: Timings): { ms: Float32Array; key: Uint16Array } {
  const ms = Buffer.from(t.ms, 'base64')
  const key = Buffer.from(t.key, 'base64')
  if (ms.length % 4 || key.length % 2) return { ms: new Float32Array(0), key: new Uint16Array(0) }
  return { ms: new Float32Array(new Uint8Array(ms).buffer), key: new Uint16Array(new Uint8Array(key).buffer) }
}

const CREATE = 'CREATE TABLE IF NOT EXISTS timings (branch INTEGER NOT NULL, first INTEGER NOT NULL, ms BLOB NOT NULL, key BLOB NOT NULL, keys TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID'

const inserts = new WeakMap<Database.Database, Database.Statement | null>()

/**
 * Writes events a..b of a batch (seqs first + a ..) as one row: call inside the chunk's transaction.
 * Stored packed (keys marked {"v":2}): each time a varint of tenths of a microsecond plus one (0:
 * not measured), each key index a varint, both deflated; the keys are left out when every event
 * of the row ran the first key (a batch of one method). Steps that take about the same time
 * deflate to a fraction of a byte each: a Float32 and a Uint16 took six.
 */
export function writeTimings(db: Database.Database, branch: number, first: number, t: Timings, a: number, b: number): void {
  const insert = sideStatements<Database.Statement>(inserts, db, CREATE, () => db.prepare('INSERT OR REPLACE INTO timings (branch, first, ms, key, keys) VALUES (?, ?, ?, ?, ?)'))
  if (insert === null) return
  const { ms, key } = decode(t)
  const times: number[] = []
  const keys: number[] = []
  let oneKey = true
  for (let i = a; i < b; i++) {
    pushVarint(times, ms[i] === -1 ? 0 : Math.round(ms[i]! * TICKS_PER_MS) + 1)
    pushVarint(keys, key[i]!)
    if (key[i] !== 0) oneKey = false
  }
  insert.run(branch, first + a, deflateRawSync(Buffer.from(times)), oneKey ? Buffer.alloc(0) : deflateRawSync(Buffer.from(keys)), JSON.stringify({ v: 2, keys: t.keys }))
}

/** Stored times count tenths of a microsecond. */
const TICKS_PER_MS = 10_000

/** Appends `n` (a whole number below 2^53) as an unsigned LEB128 varint. */
function pushVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
}

/** The most a stored row inflates to: a row holds at most a batch's events (history/chunk.ts cuts rows at 1000), 8 bytes each. */
const MAX_INFLATED = 8 * 0xffff

/** The varints deflated in `stored`, or null when it does not inflate, inflates past MAX_INFLATED, or one is cut off or longer than a time can be (8 bytes). */
function readVarints(stored: Buffer): number[] | null {
  let b: Buffer
  try {
    b = inflateRawSync(stored, { maxOutputLength: MAX_INFLATED })
  } catch {
    return null
  }
  const out: number[] = []
  for (let i = 0; i < b.length; ) {
    let n = 0
    for (let scale = 1, len = 0; ; scale *= 0x80, len++) {
      if (i >= b.length || len === 8) return null
      const byte = b[i++]!
      n += (byte & 0x7f) * scale
      if (byte < 0x80) break
    }
    out.push(n)
  }
  return out
}

/** Reads the timings a log keeps; a log without the table has none. */
export class TimingReader {
  constructor(private readonly db: Database.Database) {}

  /** Whether any event of the log was ever timed. */
  get recorded(): boolean {
    return this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'timings'`).get() !== undefined
  }

  /** The measured events with seq in [from, to] of the branch stored as `branch` (its own events, not its parent's). */
  *read(branch: number, from: number, to: number): Generator<EventTiming> {
    if (!this.recorded || from > to) return
    let rows: Database.Statement
    try {
      rows = this.db.prepare(`SELECT first, ms, key, keys FROM timings WHERE branch = ? AND first <= ?
        AND first >= coalesce((SELECT first FROM timings WHERE branch = ? AND first <= ? ORDER BY first DESC LIMIT 1), 0) ORDER BY first`)
    } catch {
      return // a table of that name that Loom did not make: no timings
    }
    // One timing per event, as Loom writes them: rows made by hand may overlap (each seq is read once, from the first row that has it).
    let next = from
    for (const stored of rows.iterate(branch, to, branch, from) as Iterable<Record<string, unknown>>) {
      // The table is outside the hash chain: a row changed by hand is read as not timed, never trusted.
      const row = readable(stored)
      if (!row) continue
      const { first, ms, key, keys } = row
      for (let i = Math.max(0, next - first); i < ms.length && first + i <= to; i++, next = first + i) {
        const k = keys[key[i]!]
        if (!goodTime(ms[i]!) || !k) continue
        yield { seq: first + i, ms: ms[i]!, kind: k[0], method: k[1], cell: k[2] }
      }
    }
  }
}

/** A stored row decoded, or null when it is not what Loom writes (blob lengths, keys). */
function readable(row: Record<string, unknown>): { first: number; ms: ArrayLike<number>; key: ArrayLike<number>; keys: TimingKey[] } | null {
  const { first, ms, key, keys: text } = row
  if (!Number.isSafeInteger(first) || !Buffer.isBuffer(ms) || !Buffer.isBuffer(key) || typeof text !== 'string') return null
  let keys: unknown
  try {
    keys = JSON.parse(text)
  } catch {
    return null
  }
  // Packed rows (writeTimings) say so in their keys; a plain list is a row of Float32 times and Uint16 keys (written before).
  const packed = typeof keys === 'object' && keys !== null && !Array.isArray(keys) && (keys as { v?: unknown }).v === 2
  if (packed) keys = (keys as { keys?: unknown }).keys
  if (!Array.isArray(keys) || keys.length > 0xffff || !keys.every(goodKey)) return null
  if (packed) {
    const ticks = readVarints(ms)
    const index = key.length ? readVarints(key) : ticks && new Array<number>(ticks.length).fill(0)
    if (!ticks || !index || index.length !== ticks.length) return null
    return { first: first as number, ms: ticks.map((n) => (n === 0 ? -1 : (n - 1) / TICKS_PER_MS)), key: index, keys }
  }
  if (ms.length % 4 || ms.length / 4 !== key.length / 2) return null
  const copy = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)
  return { first: first as number, ms: new Float32Array(copy(ms)), key: new Uint16Array(copy(key)), keys }
}
