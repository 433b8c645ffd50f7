// "What else could have happened?": one transaction run under every sequence
// of answers to its choices (`sys.fork`, `bag.take`), the runs that do the
// same thing grouped. The agent panel's preview and `loom explore --tree`
// both ask this.
import { EveryChoiceAgent, type Agent } from './agent.ts'
import type { Executor } from './executor.ts'
import type { Transaction } from './transaction.ts'
import type { Choice } from './event.ts'
import { canonicalJson } from './values.ts'

export interface OutcomeGroup {
  /** The first run that ended this way. */
  tx: Transaction
  /** Every choice sequence that ends this way (at least one). */
  choices: Choice[][]
}

export interface EveryOutcome {
  groups: OutcomeGroup[]
  /** Choice sequences run. */
  sequences: number
  /** Whether that was every sequence there is (false when `max` cut it short). */
  complete: boolean
}

/**
 * Runs `run` once per choice sequence, at most `max` times, each sequence
 * under its own time limit: a sequence that runs past it is an outcome too.
 * Outcomes are equal when they fail alike, write alike and output alike.
 */
export function everyOutcome(exec: Executor, run: (agent: Agent) => Transaction, max: number, limitMs?: number): EveryOutcome {
  const agent = new EveryChoiceAgent()
  const groups = new Map<string, OutcomeGroup>()
  let sequences = 0
  let complete = false
  let done = false
  const add = (tx: Transaction) => {
    const key = canonicalJson({ failure: tx.failure?.reason ?? null, writes: tx.writes, outputs: tx.outputs() })
    const group = groups.get(key)
    const choices = tx.choices.slice()
    if (group) group.choices.push(choices)
    else groups.set(key, { tx, choices: [choices] })
    sequences++
    if (!agent.next(tx.choices.length)) complete = done = true
    else if (sequences >= max) done = true
  }
  // Resumable: a batch cut off by its time limit runs on from the sequence it was at (see `Executor.run`).
  const work = () => {
    while (!done && !exec.batchSpent) add(run(agent))
  }
  while (!done) exec.run(work, { overran: (tx) => (tx ? (add(tx), true) : ((done = true), false)) }, limitMs)
  return { groups: [...groups.values()], sequences, complete }
}
