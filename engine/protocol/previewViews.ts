// Trying before committing, as the protocol carries it: a preview and the answers
// a person gives it, an exploration's findings, a live edit's result. Part of messages.ts.
import type { ExploreGraph } from './exploreGraph.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { Json } from '../runtime/json.ts'
import type { LoomError, Where } from './loomError.ts'

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
  /** `path`: with a graph, the ids of the states the trace goes through (the start first, one more than its moves). */
  violations: { kind: 'test' | 'deadlock' | 'error' | 'liveness'; test: string; message: string; where?: Where; trace: { method: string; choices: number[]; label: string }[]; loop?: number; path?: number[] }[]
  /** Inputs the app takes that exploration did not give it, in words: with any, "no violation" is no proof. */
  unexplored: string[]
  /** The state graph when it has at most GRAPH_STATES states (exploreGraph.ts; checked with readExploreGraph before drawing); null: too many to draw. */
  graph?: ExploreGraph | null
}

export type EditResult =
  | { ok: true; codeHash: string; seq: number | null }
  | { ok: false; problems: LoomError[]; waiting?: boolean }
