// What the engine reads and changes of its log beyond the events it appends
// (EventLog): any branch's history, its snapshots, code and damage, and the
// branches themselves. SqliteLog implements it where SQLite is (the CLI, the
// supervisor of `loom serve`); LinkedLog implements it in the confined engine
// process as requests over its log link, answered by the log host
// (logHost.ts) through a whitelist of these methods. Types only: importing
// this loads no SQLite.
import type { EventLog } from '../runtime/log.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { BranchInfo, RawEvent, StoredCode } from './sqliteLog.ts'
import type { Damage, LogDamageError } from './logErrors.ts'

export interface HistoryLog extends EventLog {
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
  raw(branch: string, from?: number, to?: number): Iterable<RawEvent>
  event(branch: string, seq: number): EventRecord | null
  hashAt(branch: string, seq: number): string
  lastOfKind(branch: string, kind: string, seq: number): number | null
  ownerOf(branch: string, seq: number): string
  segments(branch: string, from: number, to: number): [string, number, number][]
  snapshotAt(branch: string, seq: number): { seq: number; state: StoreSnapshot } | null
  snapshotBefore(branch: string, seq: number): number
  markCounts(branch: string, from: number, to: number, count: number): Record<string, number>[]
  snapshots(branch: string): Iterable<{ seq: number; ok: boolean }>
  codeBlobs(): Iterable<{ codeHash: string; actual: string }>
  damageOf(branch: string): Damage[]
  refusal(): LogDamageError | null
  getCode(codeHash: string): StoredCode | null

  putCode(code: StoredCode): void
  offerSnapshot(seq: number, take: () => StoreSnapshot): void
  /** A new branch sharing `parent`'s history up to `seq`, nothing copied (rerun's: it starts empty and re-runs). */
  fork(name: string, parent: string, seq: number): BranchInfo
  /** The same, starting with a snapshot of that moment, computed where the log is (branches.ts forkBranch). */
  forkAt(name: string, parent: string, seq: number): BranchInfo
  /** Imports an exported branch (loom export's JSON lines) under `name`, every hash checked, on a connection of its own. */
  importText(text: string, name?: string): Promise<BranchInfo>
  createRoot(name: string): BranchInfo
  promote(name: string): void
  deleteBranch(name: string): void
  /** A person's rename (a label: see branchNames.ts), delete (an archive) and restore. */
  renameBranch(name: string, to: string): BranchInfo
  archiveBranch(name: string): BranchInfo
  restoreBranch(name: string): BranchInfo
  useBranch(name: string): void
  discardPending(): void
  close(): void
}
