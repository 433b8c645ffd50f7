// The engine host's requests as one table: each op of the protocol with the
// function that answers it. Each group of requests (the notebook's, the
// history's, the debugger's, running the app) gives its own ops in a module
// of its own; EngineHost joins them into one table, and the type checker
// refuses a table that leaves an op of messages.ts unanswered.
import type { Op, Params } from '../protocol/messages.ts'

/** What answers op K: its checked parameters in, its result (or a promise of it) out. */
export type Handler<K extends Op> = (params: Params<K>) => unknown

/** Answers for some ops: what a group of requests gives. */
export type Handlers<K extends Op> = { [P in K]: Handler<P> }

/** Every op with its answer. */
export type RequestTable = Handlers<Op>

/** Answers `op` from `table` (its parameters were checked against the protocol: checkRequest). */
export function answerFrom(table: RequestTable, op: Op, params: Record<string, unknown>): unknown {
  return (table[op] as Handler<Op>)(params as Params<Op>)
}
