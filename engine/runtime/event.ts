// The records a run produces: events (committed transactions) and attempts
// (aborted ones). These shapes are what the log stores and replay re-checks.
import type { Json } from './json.ts'

export type EventKind = 'start' | 'step' | 'http' | 'gui' | 'edit' | 'code' | 'halt' | 'effect'

/** A place in the notebook: which cell, which line inside it, which line of the file. */
export interface SourceLocation {
  cell: string
  line: number
  fileLine: number
}

/** One answer an agent gave: a `sys.fork(n)` (also `bag.take`) choice. */
export interface Choice {
  n: number
  value: number
}

/** A state (and key, for maps) a transaction read, at the version it saw. */
export interface Read {
  state: string
  key?: string
  version: number
}

/** One change a transaction made to one state; applying the writes of an event in order reproduces it. */
export type Write =
  | { state: string; op: 'set'; value: Json }                       // var
  | { state: string; op: 'set'; key: string; value: Json }          // map
  | { state: string; op: 'delete'; key: string }                    // map
  | { state: string; op: 'queue'; take: number; push: Json[] }      // queue: take from the front, then push at the back
  | { state: string; op: 'bag'; take: number[]; put: Json[] }       // bag: remove these indices (in order), then put
  | { state: string; op: 'add'; value: number }                     // counter
  | { state: string; op: 'declare'; kind: StateKind; value: Json }  // a new state and its initial value (code events)

export type StateKind = 'var' | 'map' | 'set' | 'queue' | 'bag' | 'counter'

export interface LogLine {
  channel: string
  message: Json
}

export interface Outputs {
  tty?: string
  logs?: LogLine[]
  http?: Json
  halt?: true
}

export interface EventRecord {
  branch: string
  seq: number
  kind: EventKind
  method: string | null
  input: Json
  choices: Choice[]
  time: number
  codeHash: string
  reads: Read[]
  writes: Write[]
  outputs: Outputs
  /** Set by the log when the event is sealed into the hash chain. */
  parentHash: string
  hash: string
  /**
   * Not part of the event (outside its encoding and hash): how long its method
   * ran, in ms, and the cell that exports that method. The log keeps them
   * beside the event (replay/history/timings.ts); absent when not measured.
   */
  duration?: number
  cell?: string | null
  /** Not part of the event either: an http event's time from the request's arrival to its answer, in ms (replay/history/latencies.ts). */
  latency?: number
}

export interface Attempt {
  branch: string
  /** The head the attempt ran against: it would have been event `after + 1`. */
  after: number
  kind: EventKind
  method: string | null
  time: number
  choices: Choice[]
  reads: Read[]
  reason: string
  /** True when the transaction called sys.abort (a wait), false for an exception or a time-out. */
  aborted: boolean
  location: SourceLocation | null
  /** How long it ran before it failed, in ms (absent in attempts recorded before it was measured). */
  duration?: number
}

export interface TestFailure {
  test: string
  /** The event after which the test failed. */
  seq: number
  message: string
  location: SourceLocation | null
  /** The state values the test read, by state name. */
  saw: Record<string, Json>
  /**
   * Tests checked once per group commit (`loom run`): the last event after
   * which every test held. The test broke after one of the events since.
   */
  heldAfter?: number
  /** Checked once per group commit: `seq` is where it was found broken, not necessarily the first event it broke at. */
  checkedPerCommit?: true
}
