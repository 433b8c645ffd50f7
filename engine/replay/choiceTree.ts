// "What else could have happened?" for one transaction: run it under every
// sequence of answers to its choices (`sys.fork`, `bag.take`) and return the
// distinct outcomes, each with every choice sequence that leads to it.
import { EveryChoiceAgent } from '../runtime/agent.ts'
import type { MethodName } from '../runtime/compile.ts'
import type { Choice, Outputs, SourceLocation, Write } from '../runtime/event.ts'
import type { HttpRequest } from '../runtime/http.ts'
import { canonicalJson, type Json } from '../runtime/values.ts'
import type { Broken, Model, World } from './model.ts'
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
  const max = options.maxSequences ?? 10_000
  const agent = new EveryChoiceAgent()
  const groups = new Map<string, TransactionOutcome>()
  let sequences = 0
  let complete = false
  let done = false
  const exec = model.exec
  // Resumable: a sequence cut off by the time limit of the batch runs again (see `Executor.run`).
  const work = () => {
    while (!done && !exec.batchSpent) {
      const tx = model.run(world, method, agent, (options.request ?? null) as Json)
      const outputs = tx.outputs()
      const failure = tx.failure ? { reason: tx.failure.reason, aborted: tx.failure.aborted, location: tx.failure.location } : null
      let changes: StateChange[] = []
      let brokenTests: Broken[] = []
      if (!failure) {
        const next = model.after(world, tx, method)
        brokenTests = model.brokenTests(next)
        changes = changesBetween(model, world, next)
      }
      const key = canonicalJson({ writes: tx.writes, outputs, failure: failure?.reason ?? null, brokenTests } as unknown as Json)
      const group = groups.get(key)
      sequences++
      if (group) group.choices.push(tx.choices.slice())
      else groups.set(key, { choices: [tx.choices.slice()], committed: !failure, writes: tx.writes, changes, outputs, failure, brokenTests })
      if (!agent.next(tx.choices.length)) complete = done = true
      else if (sequences >= max) done = true
    }
  }
  while (!done) {
    if (!exec.run(work, { overran: () => false }).ok) throw new Error(`${method}() ran past its time limit while its choices were being explored`)
  }
  return { method, outcomes: [...groups.values()], sequences, complete }
}
