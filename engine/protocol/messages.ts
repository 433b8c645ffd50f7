// The one protocol between the UI and the engine host. Every message is plain
// JSON, so the same messages travel over an in-memory pair (tests), a
// WebSocket (`loom serve`, the browser) and Electron IPC (the preload bridge).
// The UI never knows which transport it has.
//
// This file is shared by engine/ and renderer/: it imports no Node and no DOM.
import type { Attempt, EventRecord, SourceLocation, StateKind, TestFailure } from '../runtime/event.ts'
import type { Json } from '../runtime/values.ts'

export type { Attempt, EventRecord, SourceLocation, StateKind, TestFailure, Json }

export const PROTOCOL_VERSION = 1

/** Where a problem is, in the user's terms: the file, and the cell and line inside it when known. */
export interface Where {
  file?: string
  cell?: string
  /** 1-based line inside the cell. */
  line?: number
  /** 1-based line of the notebook file. */
  fileLine?: number
}

/** A refused request or a problem to show: what went wrong, where, and (when known) what to do. */
export interface ProblemView {
  message: string
  where?: Where
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
  parseError: ProblemView | null
  /** The last compile problems of the running code (or of a refused edit), each at its cell and line. */
  problems: ProblemView[]
}

export interface BranchView {
  name: string
  head: number
  /** The branch and event it was forked from; null for a root. */
  parent: string | null
  forkedAt: number | null
  live: boolean
}

export interface StateValue {
  kind: StateKind
  value: Json
}

/** Each request: its parameters and what it answers. */
export interface Ops {
  /** First message on a connection. `token` is checked once sessions are shared. */
  hello: { params: { token?: string; client?: string }; result: { protocol: number; notebook: NotebookView; status: StatusView } }
  notebook: { params: Record<string, never>; result: NotebookView }
  /** Writes the notebook file: the current text, or `text` when given (Save), or to `path` (Save As). */
  save: { params: { text?: string; path?: string }; result: { path: string; bytes: number } }
  /** Replaces a cell's source and live-codes the running app; a broken edit is refused with its problems and the old code keeps running. */
  editCell: { params: { cell: string; source: string }; result: EditResult }
  /** Adds a cell after `after` (null: at the top). */
  addCell: { params: { after: string | null; kind: 'code' | 'prose'; source: string }; result: EditResult & { cell: string } }
  deleteCell: { params: { cell: string }; result: EditResult }
  /** Moves a cell to position `to` among the notebook's blocks. */
  moveCell: { params: { cell: string; to: number }; result: EditResult }
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
  branches: { params: Record<string, never>; result: BranchView[] }
  /** Input for `sys.tty.read`. */
  ttyInput: { params: { text: string }; result: Record<string, never> }
  /** Evaluates an expression read-only against the state after event `at` (the REPL): `accounts.get('alice')`. */
  evaluate: { params: { expr: string; branch?: string; at?: number }; result: { value: Json } }
}

export type EditResult =
  | { ok: true; codeHash: string; seq: number | null }
  | { ok: false; problems: ProblemView[]; waiting?: boolean }

export type Op = keyof Ops
export type Params<K extends Op> = Ops[K]['params']
export type Result<K extends Op> = Ops[K]['result']

/** What the host tells every connected UI without being asked. */
export type Notice =
  | { type: 'status'; status: StatusView }
  | { type: 'events'; events: EventRecord[] }
  | { type: 'tty'; text: string }
  | { type: 'attempt'; attempt: Attempt }
  | { type: 'test'; failure: TestFailure }
  | { type: 'notebook'; notebook: NotebookView }
  /** The engine process died and is being restarted; the log is intact. */
  | { type: 'engineCrashed'; reason: string }

export type Message =
  | { kind: 'request'; id: number; op: Op; params: unknown }
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: ProblemView }
  | { kind: 'notice'; notice: Notice }

/** A way to carry messages: both ends of the protocol see only this. */
export interface Transport {
  send(message: Message): void
  /** Calls `fn` for each message that arrives; returns a function that stops it. */
  onMessage(fn: (message: Message) => void): () => void
  onClose(fn: (reason: string) => void): void
  close(): void
}
