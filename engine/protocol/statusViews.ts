// What the window shows of the running app: its status, its notebook and cells,
// and what the engine process may do. Part of the protocol (messages.ts).
import type { LoomError } from './loomError.ts'

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
  /** Code the app ran before this open that the file does not have (edits not saved before Loom stopped): offered back. */
  unsaved?: UnsavedCode
}

/** Code the app last ran, from edits never saved to the file: which code event, and the notebook with its cells. */
export interface UnsavedCode {
  event: number
  codeHash: string
  /** The file's text with each cell as that code had it. */
  text: string
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
