// What went wrong after which event — a test that failed, a method that threw
// or ran past its time limit — kept beside the log so that a reopened window,
// a restarted engine and `loom log` see what the live run saw. Derived data
// (replaying the branch with its tests recomputes it), so it lives outside
// the hash chain, written in the group commit's own SQLite transaction like
// the timings. A row is what the engine said, not verified: readers take
// only rows of the shape Loom writes, at events the branch has.
import type Database from 'better-sqlite3'
import { sideStatements } from './sideTable.ts'
import type { Attempt, TestFailure } from '../../runtime/event.ts'

/** One failure as the log keeps it. */
export interface RecordedFailure {
  /** The event after which it happened (0: before the first). */
  seq: number
  /** 'test': a test failed (`name` is the test); 'error': a method threw or ran past its time limit (`name` is the method). */
  kind: 'test' | 'error'
  name: string
  cell: string | null
  line: number | null
  message: string
}

/** A recorded failure with the branch whose event it follows. */
export type BranchFailure = RecordedFailure & { branch: string }

/** The failures of a branch as read back, and what the log cannot say. */
export interface FailureList {
  branch: string
  failures: BranchFailure[]
  /** More rows than asked for exist past the last one listed. */
  more: boolean
  /** Events 1..n of the branch were written by a Loom that did not record failures (0: every event's are recorded). */
  notRecordedUntil: number
}

/** Longest message and name kept (a failure's message can quote the state it saw). */
const MAX_TEXT = 2000
/** Most failure rows written per group commit: a broken test fails after every event, and a flat-out batch has thousands. */
export const MAX_PER_COMMIT = 1000

/** A name or message as a failure row keeps it (longer ones are cut, so no commit is refused for its length). */
export const cut = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s)

export function testFailureRecord(f: TestFailure): RecordedFailure {
  return { seq: f.seq, kind: 'test', name: cut(f.test), cell: f.location?.cell ?? null, line: f.location?.line ?? null, message: cut(f.message) }
}

/** An attempt that threw or ran out of time; null for a wait (sys.abort), which is no failure. */
export function attemptFailureRecord(a: Attempt): RecordedFailure | null {
  if (a.aborted) return null
  return { seq: a.after, kind: 'error', name: cut(a.method ?? a.kind), cell: a.location?.cell ?? null, line: a.location?.line ?? null, message: cut(a.reason) }
}

/** Whether `f` has the shape Loom writes (seq within 0..last). */
export function goodFailure(f: unknown, last: number): f is RecordedFailure {
  const x = f as RecordedFailure
  return typeof f === 'object' && f !== null &&
    Number.isSafeInteger(x.seq) && x.seq >= 0 && x.seq <= last &&
    (x.kind === 'test' || x.kind === 'error') &&
    typeof x.name === 'string' && x.name.length <= MAX_TEXT + 1 &&
    typeof x.message === 'string' && x.message.length <= MAX_TEXT + 1 &&
    (x.cell === null || (typeof x.cell === 'string' && x.cell.length <= MAX_TEXT)) &&
    (x.line === null || (Number.isSafeInteger(x.line) && x.line >= 0))
}

/** Why a commit's failures (from a confined engine) are refused, or null. */
export function badFailures(list: unknown, last: number): string | null {
  if (list === undefined) return null
  if (!Array.isArray(list) || list.length > MAX_PER_COMMIT) return 'malformed failures'
  return list.every((f) => goodFailure(f, last)) ? null : 'a malformed failure'
}

const CREATE = `CREATE TABLE IF NOT EXISTS failures (branch INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  cell TEXT, line INTEGER, message TEXT NOT NULL, PRIMARY KEY (branch, seq, kind, name)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS failures_from (branch INTEGER PRIMARY KEY, seq INTEGER NOT NULL);`

const statements = new WeakMap<Database.Database, { insert: Database.Statement; from: Database.Statement } | null>()

/**
 * Writes a commit's failures (call inside the chunk's transaction), and notes
 * from which event on this branch's failures are recorded: events before were
 * written by a Loom that did not record them.
 */
export function writeFailures(db: Database.Database, branch: number, first: number, failures: RecordedFailure[]): void {
  const stmt = sideStatements(statements, db, CREATE, () => ({
    insert: db.prepare('INSERT OR IGNORE INTO failures (branch, seq, kind, name, cell, line, message) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    from: db.prepare('INSERT OR IGNORE INTO failures_from (branch, seq) VALUES (?, ?)'),
  }))
  if (stmt === null) return
  stmt.from.run(branch, Math.max(0, first - 1))
  for (let i = 0; i < failures.length && i < MAX_PER_COMMIT; i++) {
    const f = failures[i]!
    stmt.insert.run(branch, f.seq, f.kind, f.name, f.cell, f.line, f.message)
  }
}

/** Reads the failures a log keeps; a log without the tables has none recorded. Readers never write. */
export class FailureReader {
  constructor(private readonly db: Database.Database) {}

  private get recorded(): boolean {
    return this.db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('failures', 'failures_from')`).pluck().get() === 2
  }

  /** From which event on failures of the branch stored as `branch` are recorded (failures after it, and after every later event), or null: never. */
  recordedFrom(branch: number): number | null {
    if (!this.recorded) return null
    try {
      const seq = this.db.prepare('SELECT seq FROM failures_from WHERE branch = ?').pluck().get(branch)
      return Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : null
    } catch {
      return null
    }
  }

  /** Rows of the branch stored as `branch` after events in [from, to], at most `limit`, in seq order; rows not of Loom's shape are skipped. */
  *read(branch: number, from: number, to: number, limit: number): Generator<RecordedFailure> {
    if (!this.recorded || from > to || limit <= 0) return
    let rows: Database.Statement
    try {
      rows = this.db.prepare('SELECT seq, kind, name, cell, line, message FROM failures WHERE branch = ? AND seq >= ? AND seq <= ? ORDER BY seq, kind DESC, name LIMIT ?')
    } catch {
      return
    }
    // Outside the hash chain: a row changed by hand into something Loom never writes is left out, never trusted.
    for (const row of rows.iterate(branch, from, to, limit) as Iterable<RecordedFailure>) {
      if (goodFailure(row, to)) yield { seq: row.seq, kind: row.kind, name: row.name, cell: row.cell, line: row.line, message: row.message }
    }
  }
}
