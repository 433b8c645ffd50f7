// "What else could have happened?" for one transaction: run it under every
// sequence of answers to its choices (`sys.fork`, `bag.take`) and return the
// distinct outcomes, each with every choice sequence that leads to it.
import { everyOutcome } from '../runtime/everyOutcome.ts'
import type { MethodName } from '../runtime/compile.ts'
import type { Choice, Outputs, SourceLocation, Write } from '../runtime/event.ts'
import type { HttpRequest } from '../runtime/http.ts'
import type { Json } from '../runtime/values.ts'
import type { Broken, Model } from './model.ts'
import type { World } from './worlds.ts'
import { changesBetween, type StateChange } from './trace.ts'

export interface TransactionOutcome {
  /** Every choice sequence that ends in this outcome (at least one). */
  choices: Choice[][]
  committed: boolean
  writes: Write[]
  changes: StateChange[]
  outputs: Outputs
  /** Why it does not commit: an abort (a wait) or an error, and where. */
  failure: { reason: string; aborted: boolean; location: SourceLocation | null } | null
  /** The tests that fail in the state it leaves (empty when it does not commit). */
  brokenTests: Broken[]
}

export interface ChoiceTreeOptions {
  /** The transaction: `step` (default), `start`, or `http` with `request`. */
  method?: MethodName
  request?: HttpRequest
  /** Choice sequences to try at most (default 10,000); `complete` says whether that was all. */
  maxSequences?: number
}

export interface ChoiceTree {
  method: MethodName
  outcomes: TransactionOutcome[]
  /** Choice sequences run. */
  sequences: number
  complete: boolean
}

/** Every distinct outcome of one transaction in `world` (default: the model's start). */
export function choiceTree(model: Model, options: ChoiceTreeOptions = {}, world: World = model.root): ChoiceTree {
  const method = options.method ?? model.methodAt(world) ?? 'step'
  if (!model.version.methods[method]) throw new Error(`the app has no ${method}()`)
  if (method === 'http' && !options.request) throw new Error('an http transaction needs a request')
  const input = (options.request ?? null) as Json
  const every = everyOutcome(model.exec, (agent) => model.run(world, method, agent, input), options.maxSequences ?? 10_000)
  const outcomes = every.groups.map(({ tx, choices }): TransactionOutcome => {
    const failure = tx.failure ? { reason: tx.failure.reason, aborted: tx.failure.aborted, location: tx.failure.location } : null
    let changes: StateChange[] = []
    let brokenTests: Broken[] = []
    if (!failure) {
      const next = model.after(world, tx, method)
      brokenTests = runChecked(model, () => model.brokenTests(next))
      changes = changesBetween(model, world, next)
    }
    return { choices, committed: !failure, writes: tx.writes, changes, outputs: tx.outputs(), failure, brokenTests }
  })
  return { method, outcomes, sequences: every.sequences, complete: every.complete }
}

/** Runs work that calls into the sandbox under the model's time limit. */
function runChecked<T>(model: Model, work: () => T): T {
  const ran = model.exec.run(work, { overran: () => false })
  if (!ran.ok) throw new Error('the tests ran past their time limit while the outcomes were being checked')
  return ran.value
}
