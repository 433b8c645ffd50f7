// How long each event's method ran, kept beside the log and outside the hash
// chain: one row per stored chunk row, written in the group commit's own
// SQLite transaction. The table is made by the first writer that has timings,
// so a log without it (written before) still opens, and an older Loom reading
// a newer log never sees it. Readers never write.
import type Database from 'better-sqlite3'
import type { EventRecord } from '../../runtime/event.ts'

/** Per event of a batch: its time (ms, -1: not measured) and which of `keys` ran. Plain, so it crosses to a thread or a link. */
export interface Timings {
  ms: number[]
  key: number[]
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
  let t: Timings | undefined
  let index: Map<string, number> | undefined
  // Most batches run one method over and over: the previous event's key is tried first.
  let last: EventRecord | null = null
  let k = 0
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.duration === undefined) continue
    if (!t) {
      t = { ms: new Array(events.length).fill(-1), key: new Array(events.length).fill(0), keys: [] }
      index = new Map()
    }
    if (!last || last.kind !== e.kind || last.method !== e.method || last.cell !== e.cell) {
      const name = `${e.kind}\0${e.method}\0${e.cell}`
      const found = index!.get(name)
      if (found === undefined) {
        index!.set(name, (k = t.keys.length))
        t.keys.push([e.kind, e.method, e.cell ?? null])
      } else k = found
      last = e
    }
    // Microseconds are plenty, and keep what crosses to the writer short.
    t.ms[i] = Math.round(e.duration * 1000) / 1000
    t.key[i] = k
  }
  return t
}

/** Why a timings record from elsewhere (a confined engine's commit) is refused, or null. */
export function badTimings(t: unknown, count: number): string | null {
  if (t === undefined) return null
  const x = t as Timings
  if (typeof t !== 'object' || t === null || !Array.isArray(x.ms) || !Array.isArray(x.key) || !Array.isArray(x.keys)) return 'malformed timings'
  if (x.ms.length !== count || x.key.length !== count || x.keys.length > 0xffff) return 'timings of another count of events'
  for (const k of x.keys) {
    if (!Array.isArray(k) || k.length !== 3 || typeof k[0] !== 'string' || !(k[1] === null || typeof k[1] === 'string') || !(k[2] === null || typeof k[2] === 'string')) return 'a malformed timing key'
  }
  for (let i = 0; i < count; i++) {
    const ms = x.ms[i], key = x.key[i]
    if (typeof ms !== 'number' || !(ms === -1 || (ms >= 0 && ms < 1e9)) || !Number.isInteger(key) || key! < 0 || key! >= Math.max(1, x.keys.length)) return 'a malformed timing'
  }
  return null
}

const CREATE = 'CREATE TABLE IF NOT EXISTS timings (branch INTEGER NOT NULL, first INTEGER NOT NULL, ms BLOB NOT NULL, key BLOB NOT NULL, keys TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID'

const inserts = new WeakMap<Database.Database, Database.Statement>()

/** Writes events a..b of a batch (seqs first + a ..) as one row: call inside the chunk's transaction. */
export function writeTimings(db: Database.Database, branch: number, first: number, t: Timings, a: number, b: number): void {
  let insert = inserts.get(db)
  if (!insert) {
    db.exec(CREATE)
    inserts.set(db, (insert = db.prepare('INSERT OR REPLACE INTO timings (branch, first, ms, key, keys) VALUES (?, ?, ?, ?, ?)')))
  }
  const ms = new Float32Array(b - a)
  const key = new Uint16Array(b - a)
  for (let i = a; i < b; i++) {
    ms[i - a] = t.ms[i]!
    key[i - a] = t.key[i]!
  }
  insert.run(branch, first + a, Buffer.from(ms.buffer), Buffer.from(key.buffer), JSON.stringify(t.keys))
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
    const rows = this.db.prepare(`SELECT first, ms, key, keys FROM timings WHERE branch = ? AND first <= ?
      AND first >= coalesce((SELECT first FROM timings WHERE branch = ? AND first <= ? ORDER BY first DESC LIMIT 1), 0) ORDER BY first`)
    for (const row of rows.iterate(branch, to, branch, from) as Iterable<{ first: number; ms: Buffer; key: Buffer; keys: string }>) {
      const ms = new Float32Array(row.ms.buffer.slice(row.ms.byteOffset, row.ms.byteOffset + row.ms.byteLength))
      const key = new Uint16Array(row.key.buffer.slice(row.key.byteOffset, row.key.byteOffset + row.key.byteLength))
      const keys = JSON.parse(row.keys) as TimingKey[]
      for (let i = Math.max(0, from - row.first); i < ms.length && row.first + i <= to; i++) {
        const k = keys[key[i]!]
        if (ms[i]! < 0 || !k) continue
        yield { seq: row.first + i, ms: ms[i]!, kind: k[0], method: k[1], cell: k[2] }
      }
    }
  }
}
