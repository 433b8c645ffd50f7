// How long each http request took from arrival to answer (its event made
// durable, then answered), kept beside the log and outside the hash chain: a
// timing is not deterministic. Known only once the answer goes, so it is
// written with the group commit after its event's (history/sideRecords.ts).
import type Database from 'better-sqlite3'
import { sideStatements } from './sideTable.ts'

/** An http event's seq and its latency in ms. */
export type Latency = [seq: number, ms: number]

/** Whether `x` is a latency Loom writes, after an event in 1..last. */
export function goodLatency(x: unknown, last: number): x is Latency {
  return Array.isArray(x) && x.length === 2 && Number.isSafeInteger(x[0]) && x[0] >= 1 && x[0] <= last && typeof x[1] === 'number' && x[1] >= 0 && x[1] < 1e9
}

const CREATE = 'CREATE TABLE IF NOT EXISTS latencies (branch INTEGER NOT NULL, seq INTEGER NOT NULL, ms REAL NOT NULL, PRIMARY KEY (branch, seq)) WITHOUT ROWID'
const inserts = new WeakMap<Database.Database, Database.Statement | null>()

/** Writes latencies of the branch stored as `branch`: call inside the chunk's transaction. */
export function writeLatencies(db: Database.Database, branch: number, latencies: Latency[]): void {
  const insert = sideStatements<Database.Statement>(inserts, db, CREATE, () => db.prepare('INSERT OR REPLACE INTO latencies (branch, seq, ms) VALUES (?, ?, ?)'))
  if (insert === null) return
  for (const [seq, ms] of latencies) insert.run(branch, seq, ms)
}

/** Reads the latencies a log keeps (none in a log written before them). Readers never write. */
export class LatencyReader {
  constructor(private readonly db: Database.Database) {}

  /** The latencies after events [from, to] of the branch stored as `branch`; a row not of Loom's shape is left out, never trusted. */
  *read(branch: number, from: number, to: number): Generator<Latency> {
    if (from > to || this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'latencies'`).get() === undefined) return
    let rows: Database.Statement
    try {
      rows = this.db.prepare('SELECT seq, ms FROM latencies WHERE branch = ? AND seq >= ? AND seq <= ? ORDER BY seq').raw()
    } catch {
      return
    }
    // One per event, as Loom writes them: a table of that name made by hand may repeat a seq without end.
    let seq = 0
    for (const row of rows.iterate(branch, from, to) as Iterable<unknown[]>) {
      if (goodLatency(row, to) && row[0] > seq) yield row
      if (typeof row[0] === 'number' && row[0] > seq) seq = row[0]
    }
  }
}
