// Reading any branch's events from the chunks table: a page of group-commit
// rows at a time, each row checked to fit together (a damaged row is reported,
// never half-read), large values put back from the blobs table, and a fork's
// history read through its ancestors. Also the marks (by kind) and the hashes.
import type Database from 'better-sqlite3'
import { expandBody } from '../chunk.ts'
import { LogDamageError, LogFormatError } from '../logErrors.ts'
import { GENESIS_HASH } from './hashChain.ts'
import type { BranchTable } from './branchTable.ts'
import type { EventKind, EventRecord, StateKind } from '../../runtime/event.ts'

/** The kinds the marks table holds: every kind but 'step'. */
export const MARKED_KINDS = ['start', 'http', 'gui', 'edit', 'code', 'halt', 'effect'] as const

/** An event as stored: its canonical encoding and hash, for verification without decoding. */
export interface RawEvent {
  branch: string
  seq: number
  body: string
  hash: string
}

/** An event's seq and writes: what a seek applies to the state (EventReader.writeSets). */
export type WriteSet = Pick<EventRecord, 'seq' | 'writes'>

type Row = { first: number; last: number; code: string; bodies: string; refs: string | null; hashes: Buffer }

export class EventReader {
  private readonly stmt

  /** `headOf`: a branch's last event as this connection knows it (its own branch's includes what it has not written yet). */
  constructor(private readonly db: Database.Database, private readonly path: string, private readonly branches: BranchTable, private readonly headOf: (branch: string) => number) {
    this.stmt = {
      getBlob: db.prepare('SELECT data FROM blobs WHERE hash = ?').pluck(),
      // Chunks are disjoint and ordered: start from the one holding `from` (an index seek), not from the branch's first.
      chunks: db.prepare(`SELECT first, last, code, bodies, refs, hashes FROM chunks WHERE branch = @branch AND first <= @to
        AND first >= coalesce((SELECT first FROM chunks WHERE branch = @branch AND first <= @from ORDER BY first DESC LIMIT 1), 0) ORDER BY first`),
      hashOf: db.prepare('SELECT substr(hashes, (? - first) * 32 + 1, 32) FROM chunks WHERE branch = ? AND first <= ? ORDER BY first DESC LIMIT 1').pluck(),
      lastMark: db.prepare('SELECT max(seq) FROM marks WHERE branch = ? AND kind = ? AND seq BETWEEN ? AND ?').pluck(),
      newest: db.prepare('SELECT first, last FROM chunks WHERE branch = ? ORDER BY first DESC LIMIT 1'),
    }
  }

  /** Events of `branch` from `from` to `to`, decoded one chunk at a time. */
  *iterate(branch: string, from = 1, to = Infinity): Generator<EventRecord> {
    const end = Math.min(this.headOf(branch), to)
    if (end < from) return
    let parent = this.hashAt(branch, from - 1)
    for (const raw of this.stored(branch, from, end, true)) {
      const e = this.decoded(raw)
      e.parentHash = parent
      e.hash = parent = raw.hash
      yield e
    }
  }

  /**
   * What a seek applies: the write sets of events `from` to `to`, read and checked as `iterate` reads them,
   * without their hashes (a seek checks no chain: a hash read is a tenth of a seek's time).
   */
  *writeSets(branch: string, from = 1, to = Infinity): Generator<WriteSet> {
    for (const raw of this.stored(branch, from, to, false)) yield this.decoded(raw)
  }

  private decoded(raw: RawEvent): EventRecord {
    let e: EventRecord
    try {
      e = JSON.parse(raw.body) as EventRecord
    } catch {
      this.unreadable(raw.branch, raw.seq, raw.seq, 'its stored encoding is not JSON')
    }
    // JSON of another shape (a changed letter in a field's name, or what a broken engine process committed) is damage too, not an event to crash a reader.
    const wrong = notAnEvent(e, raw.seq)
    if (wrong) this.unreadable(raw.branch, raw.seq, raw.seq, `its stored encoding is not an event (${wrong})`)
    return e
  }

  /** The stored encoding and hash of each event, chunk by chunk, for verification and reading. */
  raw(branch: string, from = 1, to = Infinity): Generator<RawEvent> {
    return this.stored(branch, from, to, true)
  }

  /** Each event's stored encoding, and its hash when `hashes` (else ''). */
  private *stored(branch: string, from: number, to: number, hashes: boolean): Generator<RawEvent> {
    const end = Math.min(this.headOf(branch), to)
    for (const [b, a, z] of this.branches.segments(branch, from, end)) {
      const id = this.branches.idOf(b)
      // A page of chunks at a time, so a long history does not sit in memory.
      let s = a
      while (s <= z) {
        const rows = this.stmt.chunks.all({ branch: id, from: s, to: Math.min(z, s + 9999) }) as Row[]
        if (!rows.length) break
        let expected = s
        for (const row of rows) {
          const { bodies, refs } = this.decodeRow(b, row, expected)
          expected = Math.max(expected, row.last + 1)
          for (let seq = Math.max(row.first, s); seq <= Math.min(row.last, z); seq++) {
            const i = seq - row.first
            const full = expandBody(bodies[i] ?? '', row.code)
            let body = full
            try {
              if (refs?.[i]) body = this.withBlobs(full, refs[i]!)
            } catch (err) {
              this.unreadable(b, seq, seq, (err as Error).message)
            }
            yield { branch: b, seq, body, hash: hashes ? row.hashes.subarray(i * 32, i * 32 + 32).toString('hex') : '' }
          }
        }
        s = rows[rows.length - 1]!.last + 1
      }
      if (s <= z) this.unreadable(b, s, z, 'the log holds no group commit with them')
    }
  }

  /** A stored row's parts, checked to fit together: a damaged row is reported, never half-read. */
  private decodeRow(branch: string, row: Omit<Row, 'code'>, expected: number): { bodies: string[]; refs: Record<string, [number, string][]> | null } {
    const count = row.last - row.first + 1
    if (row.first > expected) this.unreadable(branch, expected, row.first - 1, 'the log holds no group commit with them')
    const bodies = typeof row.bodies === 'string' ? row.bodies.split('\n') : []
    if (count < 1 || bodies.length !== count) this.unreadable(branch, row.first, row.last, `their group commit holds ${bodies.length} encodings for ${count} events`)
    if (!Buffer.isBuffer(row.hashes) || row.hashes.length !== 32 * count) this.unreadable(branch, row.first, row.last, `their group commit holds ${Buffer.isBuffer(row.hashes) ? row.hashes.length : 0} bytes of hashes for ${count} events`)
    let refs: Record<string, [number, string][]> | null = null
    try {
      refs = row.refs ? (JSON.parse(row.refs) as Record<string, [number, string][]>) : null
    } catch {
      this.unreadable(branch, row.first, row.last, 'the list of their large values is not readable')
    }
    return { bodies, refs }
  }

  private unreadable(branch: string, seq: number, to: number, why: string): never {
    const what = seq === to ? `event ${seq}` : `events ${seq}..${to}`
    const message = `branch '${branch}': ${what} cannot be read: ${why}`
    throw new LogDamageError(`${this.path}: ${message} (loom replay ${this.path} --verify checks the whole log)`, this.path, [{ code: 'unreadable-chunk', branch, seq, to, message }])
  }

  private withBlobs(body: string, refs: [number, string][]): string {
    // Offsets refer to the full text; re-insert front to back.
    for (const [at, h] of refs) {
      const data = this.stmt.getBlob.get(h) as string | undefined
      if (data === undefined) throw new LogFormatError(`a stored value (${h.slice(0, 12)}…) is missing`)
      body = body.slice(0, at) + data + body.slice(at)
    }
    return body
  }

  /** The range of `branch`'s own newest group commit row, or null when it has none. */
  newestChunk(branch: string): { first: number; last: number } | null {
    return (this.stmt.newest.get(this.branches.idOf(branch)) as { first: number; last: number } | undefined) ?? null
  }

  /** The hash of event `seq` as seen from `branch` (the genesis hash for 0). */
  hashAt(branch: string, seq: number): string {
    if (seq <= 0) return GENESIS_HASH
    const owner = this.branches.ownerOf(branch, seq)
    const h = this.stmt.hashOf.get(seq, this.branches.idOf(owner), seq) as Buffer | undefined
    if (!h || h.length !== 32) throw new LogFormatError(`${this.path}: event ${seq} of branch '${branch}' is missing`)
    return h.toString('hex')
  }

  /** The seq of the last event of `kind` at or before `seq` on `branch` (following its ancestry), or null. */
  lastOfKind(branch: string, kind: string, seq: number): number | null {
    for (const [b, a, z] of this.branches.segments(branch, 1, seq).reverse()) {
      const found = this.stmt.lastMark.get(this.branches.idOf(b), kind, a, z) as number | null
      if (found !== null) return found
    }
    return null
  }

  /**
   * How many events of each marked kind (every kind but 'step', see the marks
   * table) fall in each of `count` equal ranges of seqs `from`..`to` of
   * `branch`: bin i holds the seqs s with floor((s - from) * count / n) = i,
   * n = to - from + 1. Reads no event.
   */
  markCounts(branch: string, from: number, to: number, count: number): Record<string, number>[] {
    const n = to - from + 1
    const out: Record<string, number>[] = Array.from({ length: Math.max(0, count) }, () => ({}))
    if (n <= 0 || count <= 0) return out
    // Parameters arrive as floating point: made integers, the division is floor division. One kind at a time: the key is (branch, kind, seq).
    const binOf = this.db.prepare(`SELECT ((seq - CAST(@from AS INTEGER)) * CAST(@count AS INTEGER)) / CAST(@n AS INTEGER) AS bin, count(*) AS events FROM marks
      WHERE branch = @id AND kind = @kind AND seq BETWEEN @a AND @z GROUP BY bin`)
    for (const [owner, a, z] of this.branches.segments(branch, from, to)) {
      const id = this.branches.idOf(owner)
      for (const kind of MARKED_KINDS) {
        for (const row of binOf.all({ from, count, n, id, kind, a, z }) as { bin: number; events: number }[]) {
          const kinds = out[row.bin]
          if (kinds) kinds[kind] = (kinds[kind] ?? 0) + row.events
        }
      }
    }
    return out
  }
}

/** What makes a decoded body not an event at `seq` (the fields every reader uses, with their types), or null. */
export function notAnEvent(e: unknown, seq: number): string | null {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not an object'
  const r = e as Record<string, unknown>
  if (r.seq !== seq) return `its seq is ${JSON.stringify(r.seq)}`
  if (typeof r.kind !== 'string') return 'no kind'
  if (!EVENT_KINDS.has(r.kind)) return `a kind there is not, ${JSON.stringify(r.kind.slice(0, 20))}`
  if (typeof r.branch !== 'string' || typeof r.codeHash !== 'string' || typeof r.time !== 'number') return 'no branch, code hash or time'
  if (r.method !== null && typeof r.method !== 'string') return 'no method'
  if (typeof r.outputs !== 'object' || r.outputs === null || Array.isArray(r.outputs)) return 'no outputs'
  // Indexed loops: this runs for every event read, and a seek's first reads run it before V8 has optimised it,
  // where each for-of makes and steps an iterator.
  for (let f = 0; f < LISTS.length; f++) {
    const field = LISTS[f]!
    const list = r[field]
    if (!Array.isArray(list)) return `no ${field}`
    for (let i = 0; i < list.length; i++) {
      const x: unknown = list[i]
      if (typeof x !== 'object' || x === null || Array.isArray(x)) return `malformed ${field}`
    }
  }
  const choices = r.choices as Record<string, unknown>[]
  for (let i = 0; i < choices.length; i++) if (!Number.isSafeInteger(choices[i]!.n) || !Number.isSafeInteger(choices[i]!.value)) return 'malformed choices'
  const reads = r.reads as Record<string, unknown>[]
  for (let i = 0; i < reads.length; i++) {
    const x = reads[i]!
    if (typeof x.state !== 'string' || !Number.isSafeInteger(x.version) || (x.key !== undefined && typeof x.key !== 'string')) return 'malformed reads'
  }
  const writes = r.writes as Record<string, unknown>[]
  for (let i = 0; i < writes.length; i++) if (!isWrite(writes[i]!)) return 'malformed writes'
  return null
}

const LISTS = ['choices', 'reads', 'writes'] as const

/** A write the log's encoding and the state's replay can take (log.ts writes numbers and kinds into the text as they are). */
function isWrite(w: Record<string, unknown>): boolean {
  if (typeof w.state !== 'string') return false
  switch (w.op) {
    case 'set':
      return 'value' in w && (!('key' in w) || typeof w.key === 'string')
    case 'delete':
      return typeof w.key === 'string'
    case 'queue':
      return count(w.take) && Array.isArray(w.push)
    case 'bag':
      return Array.isArray(w.take) && w.take.every(count) && Array.isArray(w.put)
    case 'add':
      return typeof w.value === 'number' && Number.isFinite(w.value)
    case 'declare':
      return typeof w.kind === 'string' && STATE_KINDS.has(w.kind) && 'value' in w
    default:
      return false
  }
}

/** Module-level, not a closure made per write: every event read checks every write. */
function count(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= 0
}

const STATE_KINDS: ReadonlySet<string> = new Set(['var', 'map', 'set', 'queue', 'bag', 'counter'] satisfies StateKind[])

const EVENT_KINDS: ReadonlySet<string> = new Set(['start', 'step', 'http', 'gui', 'edit', 'code', 'halt', 'effect'] satisfies EventKind[])
