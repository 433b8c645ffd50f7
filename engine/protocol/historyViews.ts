// History as the protocol carries it: branches, state values and hand edits,
// the timeline's bins, queries over a branch and re-runs. Part of messages.ts.
import type { StateKind } from '../runtime/event.ts'
import type { Json } from '../runtime/json.ts'

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
