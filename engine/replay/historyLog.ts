// What the engine reads and changes of its log beyond the events it appends
// (EventLog): any branch's history, its snapshots, code and damage, and the
// branches themselves. SqliteLog implements it where SQLite is (the CLI, the
// supervisor of `loom serve`); LinkedLog implements it in the confined engine
// process as requests over its log link, answered by the log host
// (logHost.ts) through a whitelist of these methods. Types only: importing
// this loads no SQLite.
import type { EffectRequest } from '../runtime/effects/request.ts'
import type { Performed } from '../runtime/effects/effectRunner.ts'
import type { EventLog } from '../runtime/log.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { BranchInfo, RawEvent, StoredCode } from './sqliteLog.ts'
import type { Damage, LogDamageError } from './logErrors.ts'
import type { Moment } from './seek.ts'
import type { EventTiming } from './history/timings.ts'
import type { WriteSet } from './history/eventReader.ts'
import type { Profile } from './profile.ts'
import type { FailureList } from './history/failures.ts'
import type { Latency } from './history/latencies.ts'

export interface HistoryLog extends EventLog {
  /** A safe read performed outside the engine process (a log across the link: the launcher performs it); absent where nothing performs. */
  effect?(request: EffectRequest): Promise<Performed>
  readonly path: string
  /** The branch this log appends to. */
  readonly branch: string
  /** The branch the running system extends (the log's meta). */
  readonly live: string
  readonly snapshotEvery: number

  branchInfo(name: string): BranchInfo | null
  branches(): BranchInfo[]
  eventsOf(branch: string, from?: number, limit?: number): EventRecord[]
  iterate(branch: string, from?: number, to?: number): Iterable<EventRecord>
  /** The write sets of events from..to, without their hashes: what a seek applies. */
  writeSets(branch: string, from?: number, to?: number): Iterable<WriteSet>
  raw(branch: string, from?: number, to?: number): Iterable<RawEvent>
  event(branch: string, seq: number): EventRecord | null
  hashAt(branch: string, seq: number): string
  lastOfKind(branch: string, kind: string, seq: number): number | null
  ownerOf(branch: string, seq: number): string
  segments(branch: string, from: number, to: number): [string, number, number][]
  snapshotAt(branch: string, seq: number): { seq: number; state: StoreSnapshot } | null
  markCounts(branch: string, from: number, to: number, count: number): Record<string, number>[]
  snapshots(branch: string): Iterable<{ seq: number; ok: boolean }>
  codeBlobs(): Iterable<{ codeHash: string; actual: string }>
  damageOf(branch: string): Damage[]
  refusal(): LogDamageError | null
  getCode(codeHash: string): StoredCode | null
  /** How long events ran (kept beside the log, outside the hash): a bounded range, and the whole branch added up. */
  timings(branch: string, from: number, to: number): EventTiming[]
  profile(branch: string): Profile
  /** How long http events took from arrival to answer (kept beside the log, outside the hash): a bounded range. */
  latencyList(branch: string, from: number, to: number): Latency[]
  /** What failed after which event (kept beside the log, outside the hash: history/failures.ts), the first `limit`. */
  failures(branch: string, from?: number, to?: number, limit?: number): FailureList

  putCode(code: StoredCode): void
  offerSnapshot(seq: number, take: () => StoreSnapshot): void
  /**
   * A new branch with no events of its own: forked from `from` (its history up
   * to there, nothing copied, starting with a snapshot of that moment computed
   * where the log is), or a new root when `from` is null. `unfinished`: hidden,
   * and removed by the next writer if this process dies, until finishBranch
   * (writeBranch; history/unfinishedBranches.ts).
   */
  makeBranch(name: string, from: Moment | null, unfinished?: boolean): BranchInfo
  finishBranch(name: string): void
  /** Another connection to the log, appending to branch `name` (writeBranch's writer; this log's branch stays put). */
  openBranch(name: string): HistoryLog
  /** Imports an exported branch (loom export's JSON lines) under `name`, every hash checked, on a connection of its own. */
  importText(text: string, name?: string): Promise<BranchInfo>
  promote(name: string): void
  deleteBranch(name: string): void
  /** A person's rename (a label: see history/branchNames.ts), delete (an archive) and restore. */
  renameBranch(name: string, to: string): BranchInfo
  archiveBranch(name: string): BranchInfo
  restoreBranch(name: string): BranchInfo
  /** The app continues on `name` (promote): this log appends there from now on. */
  continueOn(name: string): void
  discardPending(): void
  close(): void
}
