// What is kept beside the log, outside the hash chain — how long each event
// ran (timings), how long each request waited for its answer (latencies),
// and what failed after which event (failures) — read along a branch's
// ancestry: a fork's early events are its parent's, and so are their records.
import type Database from 'better-sqlite3'
import type { BranchTable, BranchInfo } from './branchTable.ts'
import { TimingReader, type EventTiming } from './timings.ts'
import { LatencyReader, type Latency } from './latencies.ts'
import { FailureReader, type FailureList } from './failures.ts'
import { profileOf, type Profile } from '../profile.ts'
import type { Attempt } from '../../runtime/event.ts'

export class BesideLog {
  private readonly timings: TimingReader
  private readonly latencyReader: LatencyReader
  private readonly failureReader: FailureReader

  constructor(
    private readonly db: Database.Database,
    private readonly table: BranchTable,
    private readonly branchInfo: (name: string) => BranchInfo | null,
    private readonly maxAttempts: number,
  ) {
    this.timings = new TimingReader(db)
    this.latencyReader = new LatencyReader(db)
    this.failureReader = new FailureReader(db)
  }

  /** The stored branch ids and seq ranges that make up events [from, to] of `branch` (its parents' up to each fork). */
  private *parts(branch: string, from: number, to: number): Generator<[id: number, a: number, b: number]> {
    const last = Math.min(to, this.branchInfo(branch)?.head ?? 0)
    for (const [owner, a, b] of this.table.segments(branch, Math.max(1, from), last)) yield [this.table.row(owner)!.id, a, b]
  }

  /** The measured events of `branch` with seq in [from, to]. */
  *timed(branch: string, from = 1, to = Infinity): Generator<EventTiming> {
    for (const [id, a, b] of this.parts(branch, from, to)) yield* this.timings.read(id, a, b)
  }

  /** How long the http events of `branch` with seq in [from, to] took from arrival to answer. */
  *latencies(branch: string, from = 1, to = Infinity): Generator<Latency> {
    for (const [id, a, b] of this.parts(branch, from, to)) yield* this.latencyReader.read(id, a, b)
  }

  /** How long each method of each cell took across the branch's whole history. */
  profile(branch: string): Profile {
    const info = this.branchInfo(branch)
    if (!info) throw new Error(`there is no branch '${branch}'`)
    // Read as stored (a reader never flushes): the attempts of this branch the log still keeps.
    const attempts = (this.db.prepare('SELECT data FROM attempts WHERE branch = ? ORDER BY id DESC LIMIT ?').pluck().all(info.name, this.maxAttempts) as string[]).map((r) => JSON.parse(r) as Attempt)
    return profileOf(info.name, info.head, this.timed(info.name), attempts, this.latencies(info.name))
  }

  /**
   * The recorded failures after events `from`..`to` of `branch`, the first
   * `limit`, and up to which event the writer recorded none (a Loom before
   * failures were kept).
   */
  failures(branch: string, from = 0, to = Infinity, limit = 1000): FailureList {
    const info = this.branchInfo(branch)
    if (!info) throw new Error(`there is no branch '${branch}'`)
    const failures: FailureList['failures'] = []
    let notRecordedUntil = 0
    const last = Math.min(to, info.head)
    // Failures after event 0 (a start that threw) belong to the root: segments begin at event 1.
    const parts = this.table.segments(info.name, 1, Math.max(1, last))
    if (parts.length && from <= 0) parts[0] = [parts[0]![0], 0, parts[0]![2]]
    for (const [owner, a, b] of parts) {
      const id = this.table.row(owner)!.id
      const since = this.failureReader.recordedFrom(id)
      if (since === null || since > a) notRecordedUntil = Math.max(notRecordedUntil, Math.min(b, since ?? b, info.head))
      const lo = Math.max(a, from)
      const hi = Math.min(b, last)
      if (lo > hi) continue
      for (const f of this.failureReader.read(id, lo, hi, limit + 1 - failures.length)) failures.push({ branch: info.name, ...f })
      if (failures.length > limit) break
    }
    const more = failures.length > limit
    return { branch: info.name, failures: failures.slice(0, limit), more, notRecordedUntil }
  }
}
