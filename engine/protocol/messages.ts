// The one protocol between the UI and the engine host. Every message is plain
// JSON, so the same messages travel over an in-memory pair (tests), a
// WebSocket (`loom serve`, the browser) and Electron IPC (the preload bridge).
// The UI never knows which transport it has.
//
// This file is shared by engine/ and renderer/: it imports no Node and no DOM.
import type { Attempt, EventRecord, SourceLocation, StateKind, TestFailure } from '../runtime/event.ts'
import type { Json } from '../runtime/json.ts'
import type { LoomError, Where } from './loomError.ts'
import type { Profile, ProfileRow } from '../replay/profile.ts'
import type { EventTiming } from '../replay/history/timings.ts'
import type { FailureList, BranchFailure } from '../replay/history/failures.ts'
import type { Change } from '../replay/seek.ts'

export type { Attempt, EventRecord, SourceLocation, StateKind, TestFailure, Json, Profile, ProfileRow, EventTiming, Change, FailureList, BranchFailure }

export const PROTOCOL_VERSION = 1

/** Where in history: a branch and the seq of an event on it (0: before the first event). */
export interface Moment {
  branch: string
  seq: number
}

export type { LoomError, LoomErrorCode, Where } from './loomError.ts'

/**
 * Set by the share guard on every edit a guest sends (whatever the guest
 * said): the front matter — the notebook's settings and the effects it
 * grants — is the owner's, so such an edit may not change it.
 */
export interface GuestEdit {
  asGuest?: boolean
}

export type RunState = 'ready' | 'running' | 'paused' | 'parked' | 'idle' | 'halted'

export interface StatusView {
  state: RunState
  /** The live branch and its last event. */
  branch: string
  head: number
  codeHash: string
  /** Why the app waits (parked): a sentence, or null. */
  waiting: string | null
  /** The engine process restarted after a crash: its reason, until the next restart. */
  restarted?: string
  /** Requests to the app's port that wait, uncommitted, because a person paused the app (absent: none). */
  held?: number
  /** Safe reads being performed now, the oldest first, while the transactions that asked for them wait (absent: none). */
  reading?: PendingRead[]
}

/** A safe read under way: what it asks, in the words of effectLine.ts, and since when (ms since the epoch). */
export interface PendingRead {
  what: string
  since: number
}

export interface CellView {
  id: string
  kind: 'code' | 'prose'
  source: string
  /** The states a code cell declares, by name, so the UI can show their live values beside it. */
  declares?: string[]
}

export interface NotebookView {
  path: string
  /** The file's exact text (what Save writes back, byte for byte, when nothing changed). */
  text: string
  /** Cells and prose in file order; empty when the file does not parse. */
  cells: CellView[]
  /** Set when the file does not parse: the message and its line. The file is never overwritten then. */
  parseError: LoomError | null
  /** The last compile problems of the running code (or of a refused edit), each at its cell and line. */
  problems: LoomError[]
}

/** A shared session as the page that joined it sees it: in `hello`'s answer when the page said hello with an invite token. */
export interface ShareView {
  /** What this page's link allows: `view` reads, `edit` also edits cells, `run` also steps, forks and commits; `owner` is the person who shares. */
  role: 'view' | 'edit' | 'run' | 'owner'
  /** The y-websocket server: null for the page's own server (`/sync` on the page's origin), else its ws:// or wss:// URL. */
  sync: string | null
  /** The room that holds the notebook on that server. */
  room: string
  /** The port of the session's listener for guests: a page served elsewhere (the owner's 127.0.0.1 page) that cannot reach `/sync` on its own origin goes there. */
  port: number
  /** What each role may do, in words, so the page can say why something is off. */
  can: Record<'view' | 'edit' | 'run' | 'owner', string>
}

/** A compile problem of a shared notebook, as every guest sees it. */
export interface SharedProblem extends LoomError {
  /** Who last changed that line of that cell (null: nobody since the file was loaded). */
  author: string | null
}

/** The host's presence in a shared session (awareness field `loomHost`): what the engine made of the shared text last. */
export interface HostPresence {
  /** The notebook's compile problems after the engine last took the shared text; empty when it runs. */
  problems: SharedProblem[]
  /** When the engine last took the document's text (ms since the epoch), null before. The file is written only by Save. */
  appliedAt: number | null
}

export interface BranchView {
  name: string
  head: number
  /** The branch and event it was forked from; null for a root. */
  parent: string | null
  forkedAt: number | null
  live: boolean
  /** What people call it when it was renamed; `name` (in every event's hash) stays what requests use. */
  label?: string
}

/**
 * A recorded transaction a re-run with new code did differently: `seq` on the branch re-run, `now` its event on the
 * new branch (null: it no longer commits, and `what` says where it would have come); `what` in words.
 */
export interface RerunDivergence {
  seq: number
  now: number | null
  what: string
}

export interface StateValue {
  kind: StateKind
  value: Json
}

/**
 * What the engine process may do besides running cells, as Node's
 * permission model enforces it (DESIGN §9). Absent or null in hello: the
 * engine runs unconfined (in the UI's own process, or a runtime that did not
 * apply the flags).
 */
export interface ConfinementView {
  childProcess: boolean
  worker: boolean
  /** Native addons (better-sqlite3): code the permission model does not check. */
  addons: boolean
  /** False when writes are limited to `fsWrite`. */
  fsWriteAnywhere: boolean
  /** What it may write: the session's files (a trailing * is a prefix). */
  fsWrite: string[]
}

/** The app's own HTTP port (with /sys), when the notebook has one: served by the supervisor, relayed to the app. */
export interface AppView {
  url: string
}

/** Each request: its parameters and what it answers. */
export interface Ops {
  /** First message on a connection: `token` is the page link's (the owner's or an invite's); nothing else is answered before it. */
  hello: { params: { token?: string; client?: string }; result: { protocol: number; notebook: NotebookView; status: StatusView; share?: ShareView; confined?: ConfinementView | null; app?: AppView } }
  notebook: { params: Record<string, never>; result: NotebookView }
  /** Writes the notebook file: the current text, or `text` when given (Save), or to `path` (Save As). */
  save: { params: { text?: string; path?: string }; result: { path: string; bytes: number } }
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

/**
 * One hand-made change to one state (an `edit` event). Values are JSON on the
 * wire; the engine's own API takes any value (`StateEdit<unknown>`) and refuses
 * what is not plain data.
 */
export type StateEdit<V = Json> =
  /** Without a key: the whole state (a var's value, a map's entries, a queue's or bag's items, a counter's count). */
  | { state: string; key?: string; set: V }
  | { state: string; key: string; delete: true }
  | { state: string; push: V }
  | { state: string; put: V }
  | { state: string; add: number }
  /** The item at that place of a queue (0 is the front) or of a bag as listed. */
  | { state: string; remove: number }

/** A predicate's answer over a branch (`query`). */
export interface QueryView {
  job: number
  branch: string
  from: number
  to: number
  /** Events after which the expression was evaluated. */
  evaluated: number
  /** Every match; `matches` holds the first ones. */
  count: number
  matches: { seq: number; kind: string; method: string | null; value?: Json }[]
  /** The first events at which the expression threw (line and column in the expression), and how many did. */
  errors: { seq: number; message: string; line?: number; column?: number }[]
  errorCount: number
  /** A changed byte where the query read: nothing after it was asked. */
  damage: string | null
}

/** What the current code would have logged at past events (`retroLogs`). */
export interface RetroLogsView {
  job: number
  branch: string
  /** Recorded transactions re-enacted, log lines printed in all. */
  inputs: number
  lines: number
  /** Events that printed or came out differently; `events` holds the first ones. */
  found: number
  events: { seq: number; kind: string; method: string | null; lines: { channel: string; message: Json }[]; tty?: string; diverged?: string }[]
  diverged: number
  firstDivergence: number | null
}

export interface TimelineBin {
  /** The first and last seq the bin covers. */
  from: number
  to: number
  /** Events by kind ('step', 'http', 'gui', 'edit', 'code', 'start', 'halt', 'effect'). */
  kinds: Record<string, number>
  /** Events with tty output or sys.log lines; null when the range asked for is too long to count them quickly (over 20,000 events): zoom in. */
  outputs: number | null
  /** A one-event bin of an http or effect event: its request and answer, `POST /todos → 201`, `GET http://…/stock → 200 · 4 ms` (eventBin.ts). */
  label?: string
  /** A one-event bin of an effect event: the start of the hash of the request it recorded a response for (EFFECT_KEY characters). */
  effect?: string
  /** A one-event bin of a transaction that read recorded responses: their request hashes' starts (the effects it used). */
  uses?: string[]
  /** A one-event bin of an edit that refreshed recorded responses (effectRefresh.ts: the next read asks the world again): their request hashes' starts. */
  refreshes?: string[]
}

/** What to preview: the next step, a given HTTP request, or the app's gui(agent). */
export interface PreviewSpec {
  method: 'step' | 'http' | 'gui'
  request?: { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string }
  /** Answers to sys.fork (and bag.take) in order; missing ones are 0. */
  choices?: number[]
  /** Answers to agent.ask / agent.choose, by key. */
  answers?: Record<string, Json>
  /** Effects the transaction waits for, answered by the person (a fault, or a response); committing records each as the effect's outcome. */
  effects?: EffectAnswer[]
}

/** A person's answer to a pending effect (by its request's hash): a fault as the runner would record it, or a response given whole. */
export interface EffectAnswer {
  hash: string
  fault?: 'timeout' | 'refused' | '5xx' | 'failed'
  response?: { status: number; headers?: Record<string, string>; body: string } | { text: string } | { error: string }
}

export interface PreviewView {
  id: number
  method: PreviewSpec['method']
  /** Each choice the transaction made: among how many, and the answer used. */
  choices: { n: number; value: number }[]
  /** The questions gui(agent) asked, with the answer used. */
  questions: { key: string; kind: 'ask' | 'choose'; options?: Json[]; answer: Json }[]
  /** What gui(agent) showed with agent.show. */
  shown: Json[]
  committed: boolean
  reads: { state: string; key?: string }[]
  writes: EventRecord['writes']
  changes: { state: string; before: Json; after: Json }[]
  outputs: EventRecord['outputs']
  failure: LoomError | null
  brokenTests: { test: string; message: string }[]
  /** Every outcome of this transaction over all its choices (the outcome tree), equal ones grouped. */
  outcomes: { choices: number[][]; committed: boolean; summary: string }[]
  /** The effect it waits for (no response is recorded): the person may answer it by hand (PreviewSpec.effects). */
  pendingEffect?: { hash: string; what: string; kind: string }
  /** The answers given by hand that it ran with, in words. */
  answered?: { hash: string; what: string; answer: string }[]
}

export interface ExploreView {
  job: number
  states: number
  transitions: number
  depth: number
  exhausted: boolean
  stoppedBy: 'depth' | 'states' | 'outcomes' | 'stopped' | 'memory' | 'walks' | null
  deadlocks: number
  /** Each move: the method ('clock' and 'tty' for moves that are no transaction), its choices, and the move in words. */
  /** `loop`: for a liveness violation, where in `trace` the cycle it repeats for ever begins (its length: nothing moves at its end). */
  violations: { kind: 'test' | 'deadlock' | 'error' | 'liveness'; test: string; message: string; where?: Where; trace: { method: string; choices: number[]; label: string }[]; loop?: number }[]
  /** Inputs the app takes that exploration did not give it, in words: with any, "no violation" is no proof. */
  unexplored: string[]
}

export type EditResult =
  | { ok: true; codeHash: string; seq: number | null }
  | { ok: false; problems: LoomError[]; waiting?: boolean }

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

/**
 * Events of one branch that a connection did not get live: it read more
 * slowly than the app committed, so only the last few events of each burst
 * were sent. They are in the log (`log`, `timeline`).
 */
export interface SkippedEvents {
  branch: string
  count: number
  /** The first and last seq left out. */
  from: number
  to: number
}

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
