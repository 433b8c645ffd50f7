// The one protocol between the UI and the engine host. Every message is plain
// JSON, so the same messages travel over an in-memory pair (tests), a
// WebSocket (`loom serve`, the browser) and Electron IPC (the preload bridge).
// The UI never knows which transport it has.
//
// This file is shared by engine/ and renderer/: it imports no Node and no DOM.
import type { Attempt, EventRecord, SourceLocation, StateKind, TestFailure } from '../runtime/event.ts'
import type { Json } from '../runtime/json.ts'
import type { LoomError } from './loomError.ts'
import type { Profile, ProfileRow } from '../replay/profile.ts'
import type { EventTiming } from '../replay/history/timings.ts'
import type { FailureList, BranchFailure } from '../replay/history/failures.ts'
import type { Change } from '../replay/seek.ts'
import type { StatusView, NotebookView, ConfinementView, AppView } from './statusViews.ts'
import type { GuestEdit, ShareView } from './shareViews.ts'
import type { BranchView, RerunDivergence, StateValue, StateEdit, QueryView, RetroLogsView, TimelineBin, SkippedEvents } from './historyViews.ts'
import type { PreviewSpec, PreviewView, ExploreView, EditResult } from './previewViews.ts'

export type { Attempt, EventRecord, SourceLocation, StateKind, TestFailure, Json, Profile, ProfileRow, EventTiming, Change, FailureList, BranchFailure }

export const PROTOCOL_VERSION = 1

/** Where in history: a branch and the seq of an event on it (0: before the first event). */
export interface Moment {
  branch: string
  seq: number
}

export type { LoomError, LoomErrorCode, Where } from './loomError.ts'
// What requests answer and notices carry, by concern (statusViews, shareViews, historyViews, previewViews): importers name this module.
export type { RunState, StatusView, PendingRead, CellView, NotebookView, ConfinementView, AppView, UnsavedCode } from './statusViews.ts'
export type { GuestEdit, ShareView, SharedProblem, HostPresence } from './shareViews.ts'
export type { BranchView, RerunDivergence, StateValue, StateEdit, QueryView, RetroLogsView, TimelineBin, SkippedEvents } from './historyViews.ts'
export type { PreviewSpec, EffectAnswer, PreviewView, ExploreView, EditResult } from './previewViews.ts'

/** Each request: its parameters and what it answers. */
export interface Ops {
  /** First message on a connection: `token` is the page link's (the owner's or an invite's); nothing else is answered before it. */
  hello: { params: { token?: string; client?: string }; result: { protocol: number; notebook: NotebookView; status: StatusView; share?: ShareView; confined?: ConfinementView | null; app?: AppView } }
  notebook: { params: Record<string, never>; result: NotebookView }
  /** Writes the notebook file: the current text, or `text` when given (Save), or to `path` (Save As). */
  /** `overwrite`: write even though the file changed on disk since Loom read or wrote it (refused otherwise, code 'changedOnDisk'). */
  save: { params: { text?: string; path?: string; overwrite?: boolean }; result: { path: string; bytes: number } }
  /**
   * Replaces the whole notebook text and live-codes the running app, without writing the file
   * (only save writes it): how a shared session's document reaches the engine.
   */
  editNotebook: { params: { text: string } & GuestEdit; result: EditResult }
  /** Replaces a cell's source and live-codes the running app; a broken edit is refused with its problems and the old code keeps running. */
  editCell: { params: { cell: string; source: string } & GuestEdit; result: EditResult }
  /** Adds a cell after `after` (null: at the top). */
  addCell: { params: { after: string | null; kind: 'code' | 'prose'; source: string } & GuestEdit; result: EditResult & { cell: string } }
  deleteCell: { params: { cell: string } & GuestEdit; result: EditResult }
  /** Moves a cell to position `to` among the notebook's blocks. */
  moveCell: { params: { cell: string; to: number } & GuestEdit; result: EditResult }
  run: { params: Record<string, never>; result: StatusView }
  pause: { params: Record<string, never>; result: StatusView }
  /** Runs one transaction on the live branch: the event it committed, or null when the step waits. */
  step: { params: Record<string, never>; result: { event: EventRecord | null; status: StatusView } }
  status: { params: Record<string, never>; result: StatusView }
  /** A page of a branch's events from `from` (default 1), at most `limit` (default and maximum 1000). */
  log: { params: { branch?: string; from?: number; limit?: number }; result: { branch: string; head: number; events: EventRecord[] } }
  /** The state after event `at` of a branch (default: the head). */
  state: { params: { branch?: string; at?: number }; result: { branch: string; at: number; values: Record<string, StateValue> } }
  attempts: { params: { limit?: number }; result: Attempt[] }
  /**
   * What failed after which event of every branch shown (tests, methods that threw or ran out of time), as the log
   * recorded it beside the events (outside the hash: not verified; a replay recomputes it): the first `limit`
   * (default and at most 10,000) per branch. `notRecordedUntil`: a Loom that kept none wrote events 1..n.
   */
  failures: { params: { limit?: number }; result: FailureList[] }
  branches: { params: Record<string, never>; result: BranchView[] }
  /** Input for `sys.tty.read`. */
  ttyInput: { params: { text: string }; result: Record<string, never> }
  /** Evaluates an expression read-only against the state after event `at` (the REPL): `accounts.get('alice')`. */
  evaluate: { params: { expr: string; branch?: string; at?: number }; result: { value: Json } }

  // ---- the visual debugger (time travel, branches, the agent panel, exploration) ----

  /** Forks branch `name` from `from` (default: the live branch) at event `at`. */
  fork: { params: { name: string; from?: string; at: number }; result: BranchView }
  /** Makes a branch the live one: the running app continues from its head. */
  promote: { params: { name: string }; result: { status: StatusView; branches: BranchView[] } }
  /** Re-executes events `from`..`to` of a branch and checks each against its record; `progress` notices carry `job`. */
  verify: { params: { branch?: string; from?: number; to?: number }; result: { job: number; ok: boolean; events: number; failure: LoomError & { seq?: number } | null } }
  /** Re-runs a branch's transactions with the notebook's current code onto a new branch `onto`; where outcomes diverge. */
  rerun: { params: { branch?: string; onto: string }; result: { job: number; branch: BranchView; inputs: number; diverged: number; divergences: RerunDivergence[] } }
  /** When did X first happen: the events of a branch (from..to) after which `expr` (over the state and `event`, as `loom query`) held; the first `limit` (at most and default 1000) kept, all counted; `progress` notices carry `job`. */
  query: { params: { expr: string; branch?: string; from?: number; to?: number; limit?: number }; result: QueryView }
  /** Retroactive logging: what the notebook's current code (unsaved edits too) would have logged at every past event of a branch, writing nothing; `progress` notices carry `job`. */
  retroLogs: { params: { branch?: string; limit?: number }; result: RetroLogsView }
  /** Shows a branch as `to` from now on (a label: its events' hashes keep the stored name); answers its view. */
  renameBranch: { params: { name: string; to: string }; result: BranchView }
  /** Archives a branch: hidden, its events kept and still verified, restorable with `loom branches DB --restore`. Refused for the live branch and one others fork from. `events`: its own events. */
  deleteBranch: { params: { name: string }; result: { name: string; label?: string; events: number } }
  /** A branch as portable JSON lines (what `loom export` writes). */
  exportBranch: { params: { branch: string }; result: { text: string } }
  /** Adds an exported branch, verified, as `name` (default: its own name). */
  importBranch: { params: { text: string; name?: string }; result: BranchView }
  /** Changes state by hand on the live head: one `edit` event. Past moments are read-only (fork first). */
  /**
   * `expect` (an undo): refused unless each state named holds that value now. The answer has
   * the value of each state the edit changed, after it.
   */
  editState: { params: { edits: StateEdit[]; expect?: Record<string, Json> }; result: { event: EventRecord; after: Record<string, Json> } }
  /** How many events of each kind fall in each of `bins` equal ranges of a branch's seqs (default: all of them; at most 10,000 bins, and never more bins than events): the timeline's coarse view. */
  timeline: { params: { branch?: string; from?: number; to?: number; bins: number }; result: { branch: string; head: number; bins: TimelineBin[] } }
  /** Numeric values of states after events `from`..`to`, at most `points` (≤ 1000) samples, the last at `to`; null where a state is not a number then. For sparklines. */
  series: { params: { branch?: string; states: string[]; from?: number; to?: number; points: number }; result: { at: number[]; values: Record<string, (number | null)[]> } }
  /** Explores every state reachable from a moment (default: the live head) with the notebook's current code, at most `maxStates` (default 100,000); `progress` notices carry `job`. */
  /** `faults`: the faults effects may meet (as `loom explore --faults`; default every one, [] none). */
  explore: { params: { branch?: string; at?: number; depth?: number; maxStates?: number; faults?: ('timeout' | 'refused' | '5xx' | 'failed' | 'lost')[] }; result: ExploreView }
  /** Asks long request `job` (explore, verify, rerun, query, retroLogs) to stop: an exploration answers with what it found so far (stoppedBy 'stopped'), the others are refused. Stopping one that has ended does nothing. */
  stopJob: { params: { job: number }; result: Record<string, never> }
  /** Commits violation `violation` (its index in ExploreView.violations, from 0) of exploration `job` as branch `name`, to debug like real history. The host keeps its last 20 explorations. */
  saveCounterexample: { params: { job: number; violation: number; name: string }; result: BranchView }
  /** The agent panel: runs a transaction against the live head without committing it. */
  preview: { params: PreviewSpec; result: PreviewView }
  /** Commits a preview; if something it read changed meanwhile, answers with what changed and a fresh preview instead. */
  /** `note`: it reads the clock, and at the commit's time it did something else than the preview showed. */
  commitPreview: { params: { id: number }; result: { event: EventRecord; note?: string } | { changed: string[]; preview: PreviewView } }
  discardPreview: { params: { id: number }; result: Record<string, never> }
  /** Commits a preview as the first event of a new branch forked at the live head, leaving the live branch as it is. */
  forkPreview: { params: { id: number; name: string }; result: BranchView }

  // ---- questions over the whole history ----

  /** How long each method of each cell ran across a branch's history (kept beside the log, outside the hash); `timed` 0: no timings recorded. */
  profile: { params: { branch?: string }; result: Profile }
  /** How long events `from`..`to` of a branch ran (at most 1000 events); an event never timed is left out. */
  timings: { params: { branch?: string; from: number; to: number }; result: { branch: string; timings: EventTiming[] } }
  /**
   * What changed in state between two moments of any branches, per state and per key of a map (as `loom diff`):
   * the first `limit` lines (default 200, at most 1000) of `lines`, one line per changed state or map key.
   */
  diff: { params: { from: Moment; to: Moment; limit?: number }; result: { from: Moment; to: Moment; changes: Change[]; lines: number; shown: number } }

  // ---- the window's notebook ----

  /**
   * The owner opens another notebook in this window (`loom serve`'s host answers it, not the engine): the
   * current engine stops, its log closed, and every page reconnects to the other notebook's. `path`:
   * absolute, or relative to the current notebook's folder. `elsewhere`: the desktop app opened it in
   * a window of its own, and this page stays on its notebook.
   */
  openNotebook: { params: { path: string }; result: { path: string; elsewhere?: boolean } }
  /** The notebooks the owner opened last, newest first, and the one open now (the host's config folder, recent.json). */
  recentNotebooks: { params: Record<string, never>; result: { current: string; recent: { path: string; at: number }[] } }
  /**
   * What the saved notebook's effects: front matter lets it reach, a line each, when the owner has not
   * allowed it (its reads and actions wait meanwhile); null when there is nothing to allow (the host answers).
   */
  effectsToAllow: { params: Record<string, never>; result: { what: string[] | null } }
  /** The owner allows the saved notebook's grants, as `loom allow NB` does (the host answers): what they let it reach. */
  allowEffects: { params: Record<string, never>; result: { what: string[] } }
}

export type Op = keyof Ops
export type Params<K extends Op> = Ops[K]['params']
export type Result<K extends Op> = Ops[K]['result']

/** What the host tells every connected UI without being asked. */
export type Notice =
  | { type: 'status'; status: StatusView }
  /** `skipped`: events left out because this connection fell behind (see SkippedEvents); absent when none were. */
  | { type: 'events'; events: EventRecord[]; skipped?: SkippedEvents[] }
  | { type: 'tty'; text: string }
  | { type: 'attempt'; attempt: Attempt }
  | { type: 'test'; failure: TestFailure }
  | { type: 'notebook'; notebook: NotebookView }
  /** The engine process died and is being restarted; the log is intact. */
  | { type: 'engineCrashed'; reason: string }
  /** How far a long request (verify, explore) has got. */
  | { type: 'progress'; job: number; done: number; total: number | null; what: string; op?: 'verify' | 'explore' | 'rerun' | 'query' | 'retroLogs' }
  /** Branches changed (fork, promote, import, a saved counterexample). */
  | { type: 'branches'; branches: BranchView[] }

export type Message =
  | { kind: 'request'; id: number; op: Op; params: unknown }
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: LoomError }
  | { kind: 'notice'; notice: Notice }

/** A way to carry messages: both ends of the protocol see only this. */
export interface Transport {
  send(message: Message): void
  /** Calls `fn` for each message that arrives; returns a function that stops it. */
  onMessage(fn: (message: Message) => void): () => void
  onClose(fn: (reason: string) => void): void
  /** `reason`: why, for the peer (a WebSocket's close reason) where the carrier can say it. */
  close(reason?: string): void
  /** Bytes sent and not yet handed to the peer (an estimate where that is all the carrier tells); absent where it cannot tell. */
  backlog?(): number
}
