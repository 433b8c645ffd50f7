// What the host's request groups (branches, replay, exploration) may use of
// the host: its log, its moments, its turn-taking and its notices — not its
// engine's insides, which only EngineHost changes.
import type { HistoryLog } from '../replay/historyLog.ts'
import type { Engine } from '../runtime/engine.ts'
import type { Notebook } from '../runtime/notebook.ts'
import type { BranchView, Notice, Result } from '../protocol/messages.ts'
import type { Evaluator } from './evaluator.ts'

export interface HostAccess {
  /** The notebook file (messages, and the default seed of its code). */
  readonly notebookPath: string
  readonly timeLimitMs: number | undefined
  /** The log with every committed event readable; refuses when there is no history. */
  history(): HistoryLog
  /** A branch and an event of it, checked (default: the running branch and its head). */
  moment(branch: string | undefined, at: number | undefined): { branch: string; at: number }
  /** The notebook's text as the UI has it: its current code. */
  text(): string
  /**
   * Another connection to the log, for work that makes a branch while the app
   * runs on (imports, reruns, traces). Close it after. `fsync: false` for a
   * branch that can be made again (a rerun commits one event at a time).
   */
  openLog(options?: { fsync?: boolean }): HistoryLog
  branchViews(): BranchView[]
  broadcast(notice: Notice): void
  /** Runs `fn` alone, after the edits, saves and steps asked for before it. */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T>
  /** The running app's engine; refuses, saying why, when the notebook does not parse or compile. */
  engine(): Engine
  /** The notebook as last parsed (null when it does not parse). */
  notebook(): Notebook | null
  /** Makes a branch the live one and continues the app there (the one request that replaces the engine). */
  promote(name: string): Promise<Result<'promote'>>
  /** Keeps a long request in view until it ends, so closing the host waits for it to stop. */
  job<T>(work: Promise<T>): Promise<T>
  /** A new number for a long request (verify, explore), which its progress notices carry, and the signal `stopJob` aborts. */
  nextJob(): { job: number; signal: AbortSignal }
  /** Asks long request `job` to stop (an exploration reports what it found so far; the others end refused). */
  stopJob(job: number): void
  /** Where the REPL's and the queries' expressions run: a process with a heap limit of its own. */
  evaluator(): Evaluator
  /** True once the host is closing: long requests stop. */
  readonly closing: boolean
}
