// A search's levels run in batches of about 10 ms inside the sandbox, each
// transaction under its own time limit (search.ts does one piece of work per
// advance, and a piece cut off anywhere is undone and done again: a batch cut
// off loses nothing and counts nothing twice).
import type { Transaction } from '../runtime/transaction.ts'
import type { Model } from './model.ts'
import type { Search } from './search.ts'

/**
 * Runs a search until its level's work is done, in batches of about 10 ms,
 * each transaction under its own time limit; or, once `stopped` says so
 * (asked between batches), no further.
 */
export function runLevel(search: Search, model: Model, stopped?: () => boolean): void {
  for (const _ of levelBatches(search, model)) if (stopped?.()) return
}

/** The same, handing control back after each batch: a host does other work between them. */
export function* levelBatches(search: Search, model: Model): Generator<void, void> {
  const exec = model.exec
  const work = () => {
    while (search.advance()) if (exec.batchSpent) return
  }
  const hooks = { overran: (tx: Transaction | null) => search.overran(tx), resumed: () => search.resume() }
  while (!search.idle) {
    exec.run(work, hooks)
    yield
  }
}
