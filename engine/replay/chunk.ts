// A group commit as it is written: the batch's events sealed into the hash
// chain and stored as one row, with the marks, snapshots and attempts that
// go with it (and the side records found since: history/sideRecords.ts), in one SQLite transaction. The same code writes on the main
// thread (sync flushes) and in the log's writer thread (pipelined flushes).
import type Database from 'better-sqlite3'
import { chainHash, contentHash } from './history/hashChain.ts'
import { encodeEventParts } from '../runtime/log.ts'
import type { EventRecord } from '../runtime/event.ts'
import { encodeTimings, writeTimings, type Timings } from './history/timings.ts'
import { checkEvents } from './commitCheck.ts'
import { writeSide, type SideRecords } from './history/sideRecords.ts'

/** Events per stored row (a group commit may span several rows). */
const ROW_EVENTS = 1000
/** Values whose encoding is at least this long are stored once, by hash. */
export const BLOB_MIN = 1024

/**
 * A batch of events as a chunk carries them: encodings one per line, with
 * `code` left out where it is the event's (as the log stores them), large
 * values' ranges in those texts, kinds, and how long each ran.
 */
export function encodeEvents(events: EventRecord[], code = events.length ? events[events.length - 1]!.codeHash : ''): Pick<Chunk, 'texts' | 'count' | 'cuts' | 'kinds' | 'timings'> {
  const texts: string[] = new Array(events.length)
  const cuts: Chunk['cuts'] = new Array(events.length)
  const kinds: string[] = new Array(events.length)
  for (let i = 0; i < events.length; i++) {
    const parts = encodeEventParts(events[i]!, BLOB_MIN, code)
    texts[i] = parts.text
    cuts[i] = parts.cuts.length ? parts.cuts : null
    kinds[i] = events[i]!.kind
  }
  const timings = encodeTimings(events)
  return { texts: texts.join('\n'), count: events.length, cuts, kinds, ...(timings ? { timings } : {}) }
}

/** What the main thread hands over: everything plain, so it can cross to a worker. */
export interface Chunk {
  path: string
  branch: number
  branchName: string
  forkSeq: number
  /** When the branch was made: with its id and name, what the heads record knows it by. */
  created: number
  /** The hash before the first event, when the sender knows it; null: continue from the writer's previous chunk. */
  parent: string | null
  first: number
  /**
   * The events' canonical encodings, one per line (canonical JSON has no raw newline, and one string
   * crosses to a thread cheaper than many), each with the chunk's `code` left out (`"codeHash":""`)
   * where it is the event's: as the log stores them. As UTF-8 bytes when they came from a confined
   * engine process: moved to the writer thread unread.
   */
  texts: string | Uint8Array
  /** The texts came from a confined engine process: each is checked to be an event of this branch at its place (checkEvents) before anything is written. */
  untrusted?: true
  count: number
  cuts: ([number, number][] | null)[]
  kinds: string[]
  /** How long each event ran: kept beside the events, outside the hash chain (absent: none was measured). */
  timings?: Timings
  /** The code hash most events ran: stored once per row, and left out of their texts. */
  code: string
  snapshots: [seq: number, data: string, hash: string][]
  attempts: string[]
  maxAttempts: number
  /** Failed tests, errors and latencies found after these events or earlier ones: beside the events, outside the hash chain. */
  side?: SideRecords
}

export interface Written {
  /** The hash before the first event, and each event's hash: 64 hex digits each, one after another (as events keep them). */
  parent: string
  hashes: string
  last: string
}

/** Raised when another process wrote the same branch meanwhile. */
export class ConflictError extends Error {}

const statements = new WeakMap<Database.Database, ReturnType<typeof prepare>>()

function prepare(db: Database.Database) {
  return {
    insert: db.prepare('INSERT INTO chunks (branch, first, last, code, hashes, refs, bodies) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    mark: db.prepare('INSERT OR IGNORE INTO marks (branch, seq, kind) VALUES (?, ?, ?)'),
    blob: db.prepare('INSERT OR IGNORE INTO blobs (hash, data) VALUES (?, ?)'),
    last: db.prepare('SELECT last FROM chunks WHERE branch = ? ORDER BY first DESC LIMIT 1').pluck(),
    snapshot: db.prepare('INSERT OR REPLACE INTO snapshots (branch, seq, data, hash) VALUES (?, ?, ?, ?)'),
    attempt: db.prepare('INSERT INTO attempts (branch, data) VALUES (?, ?)'),
    trimAttempts: db.prepare('DELETE FROM attempts WHERE id <= (SELECT max(id) FROM attempts) - ?'),
  }
}

/** Writes one chunk in one transaction (one fsync with synchronous=FULL). */
export function writeChunk(db: Database.Database, chunk: Chunk, parent: string): Written {
  let stmt = statements.get(db)
  if (!stmt) statements.set(db, (stmt = prepare(db)))
  const n = chunk.count
  const t = chunk.texts
  const all = n ? (typeof t === 'string' ? t : Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('utf8')) : ''
  const texts = n ? all.split('\n') : []
  // Kinds of untrusted texts are read from the texts themselves, as they are checked.
  if (chunk.untrusted) chunk.kinds = checkEvents(texts, chunk)
  // Kept as the hex events hold them, joined: one conversion to bytes per row, not one per event.
  const hexes: string[] = new Array(n)
  // A text is stored as it came unless a large value is cut out of it (then its body is here).
  const bodies: (string | undefined)[] = new Array(n)
  const refs: Record<number, [number, string][]> = {}
  const blobs: [string, string][] = []
  const code = chunk.code
  let h = parent
  for (let i = 0; i < n; i++) {
    const text = texts[i]!
    // What is hashed is the whole canonical encoding: the code hash goes back where it was left out.
    const at = text.indexOf(CODE_FIELD) + CODE_FIELD.length
    const left = text.charCodeAt(at) === QUOTE
    hexes[i] = h = chainHash(h, left ? text.slice(0, at) + code + text.slice(at) : text)
    const cuts = chunk.cuts[i]
    if (cuts) {
      // Cut large values out, back to front so earlier offsets stay valid; `refs` says where they go back
      // in the whole encoding (readers put the code hash back first).
      const shift = left ? code.length : 0
      const list: [number, string][] = []
      let body = text
      for (let c = cuts.length - 1; c >= 0; c--) {
        const [a, b] = cuts[c]!
        const piece = text.slice(a, b)
        const ph = contentHash(piece)
        blobs.push([ph, piece])
        body = body.slice(0, a) + body.slice(b)
        list.unshift([a + shift, ph])
      }
      refs[i] = list
      bodies[i] = body
    }
  }
  // IMMEDIATE: the write lock is taken first, waiting (busy_timeout) for another connection's write to
  // end. A deferred transaction reads first, and SQLite cannot wait for a reader to become a writer after
  // another connection has written (the engine's own thread keeps code and compiled cells): it fails at once
  // with 'database is locked', and the log could take no more events.
  db.transaction(() => {
    // Two writers on one branch would fork its history silently: refuse instead.
    const stored = (stmt.last.get(chunk.branch) as number | null) ?? chunk.forkSeq
    if (n && stored !== chunk.first - 1) {
      throw new ConflictError(`${chunk.path}: another process has written branch '${chunk.branchName}' (it is at event ${stored}, this run expected ${chunk.first - 1}); run one loom per branch`)
    }
    for (const [bh, data] of blobs) stmt.blob.run(bh, data)
    // Rows of at most ROW_EVENTS events: a seek reads one or two rows, not a whole batch.
    // Where row `a`'s lines start in the chunk's one string.
    let start = 0
    for (let a = 0; a < n; a += ROW_EVENTS) {
      const b = Math.min(n, a + ROW_EVENTS)
      let rowRefs: Record<number, [number, string][]> | null = null
      let end = start - 1
      for (let i = a; i < b; i++) {
        end += texts[i]!.length + 1
        if (refs[i]) (rowRefs ??= {})[i - a] = refs[i]!
      }
      // The row's texts as they came — a piece of the one string — unless values were cut from some.
      const rowBodies = rowRefs ? texts.slice(a, b).map((text, i) => bodies[a + i] ?? text).join('\n') : all.slice(start, end)
      start = end + 1
      stmt.insert.run(chunk.branch, chunk.first + a, chunk.first + b - 1, chunk.code, Buffer.from(hexes.slice(a, b).join(''), 'hex'), rowRefs ? JSON.stringify(rowRefs) : null, rowBodies)
      if (chunk.timings) writeTimings(db, chunk.branch, chunk.first, chunk.timings, a, b)
    }
    for (let i = 0; i < n; i++) if (chunk.kinds[i] !== 'step') stmt.mark.run(chunk.branch, chunk.first + i, chunk.kinds[i])
    for (const [seq, data, sh] of chunk.snapshots) stmt.snapshot.run(chunk.branch, seq, data, sh)
    for (const a of chunk.attempts) stmt.attempt.run(chunk.branchName, a)
    if (chunk.attempts.length) stmt.trimAttempts.run(chunk.maxAttempts)
    if (chunk.side) writeSide(db, chunk.branch, chunk.first, chunk.side)
  }).immediate()
  return { parent, hashes: hexes.join(''), last: h }
}

const CODE_FIELD = ',"codeHash":"'
const QUOTE = 34

/** Puts the chunk's code hash back where an encoding left it out (a real one is never empty). */
export function expandBody(body: string, codeHash: string): string {
  const at = body.indexOf(CODE_FIELD) + CODE_FIELD.length
  return body[at] === '"' ? body.slice(0, at) + codeHash + body.slice(at) : body
}
