// What a group commit carries beside its events, outside the hash chain:
// derived data a run knows only after an event committed (a test that failed
// after it, a request's latency once answered). Gathered until the next group
// commit and written in its SQLite transaction; one shape for the log's own
// writer and for a confined engine's commits, checked when it comes from one.
import type Database from 'better-sqlite3'
import { badFailures, writeFailures, MAX_PER_COMMIT, type RecordedFailure } from './failures.ts'
import { goodLatency, writeLatencies, type Latency } from './latencies.ts'

export interface SideRecords {
  /** Absent: the writer checks no tests, and says nothing about failures (history/failures.ts). */
  failures?: RecordedFailure[]
  latencies?: Latency[]
}

/** Most latencies one commit carries (a batch answers at most this many requests at once, and more wait for the next). */
const MAX_LATENCIES = 100_000

/** What the engine hands a durable log to keep beside its events. */
export interface SideSink {
  /** The engine checks tests: from now on every commit says what failed after which event (none is a statement too). */
  recordFailures(): void
  /** A failed test or an error. */
  addFailure(failure: RecordedFailure): void
  /** How long an http event's request took from arrival to answer. */
  addLatency(seq: number, ms: number): void
}

/** Side records waiting for the next group commit. */
export class PendingSide implements SideSink {
  private failures: RecordedFailure[] | null = null
  private latencies: Latency[] = []

  recordFailures(): void {
    this.failures ??= []
  }
  addFailure(failure: RecordedFailure): void {
    // As many as one commit may carry (a confined engine's commit with more is refused whole): a test broken
    // after every event of a flat-out batch is kept at its first MAX_PER_COMMIT events of that batch.
    if (this.failures && this.failures.length < MAX_PER_COMMIT) this.failures.push(failure)
  }
  addLatency(seq: number, ms: number): void {
    if (this.latencies.length < MAX_LATENCIES) this.latencies.push([seq, ms])
  }
  /** Something to write even without events. */
  get waiting(): boolean {
    return !!this.failures?.length || this.latencies.length > 0
  }
  /** What the next commit carries; the pending lists start again. */
  take(): SideRecords | undefined {
    const side: SideRecords = {}
    if (this.failures) (side.failures = this.failures), (this.failures = [])
    if (this.latencies.length) (side.latencies = this.latencies), (this.latencies = [])
    return side.failures || side.latencies ? side : undefined
  }
  discard(): void {
    this.take()
  }
}

/** Why a confined engine's side records are refused, or null; `last`: the branch's last event once the commit is written. */
export function badSide(side: unknown, last: number): string | null {
  if (side === undefined) return null
  if (typeof side !== 'object' || side === null || Array.isArray(side)) return 'malformed side records'
  const s = side as SideRecords
  const failures = badFailures(s.failures, last)
  if (failures) return failures
  if (s.latencies !== undefined && (!Array.isArray(s.latencies) || s.latencies.length > MAX_LATENCIES || !s.latencies.every((l) => goodLatency(l, last)))) return 'a malformed latency'
  return null
}

/** Writes a commit's side records: call inside the chunk's transaction. */
export function writeSide(db: Database.Database, branch: number, first: number, side: SideRecords): void {
  // Beside the events, never instead of them: a side table SQLite refuses to write (one of that name made by
  // something else, with a constraint Loom never sets) loses these records, not the commit.
  db.exec('SAVEPOINT side')
  try {
    if (side.failures) writeFailures(db, branch, first, side.failures)
    if (side.latencies) writeLatencies(db, branch, side.latencies)
  } catch {
    db.exec('ROLLBACK TO side')
  }
  db.exec('RELEASE side')
}
