// What the executor carries from one transaction to the next. Written only by
// the transaction door (runTransaction, commitTransaction, runBatch) and by the
// executor that owns it; everything else reads it through the executor.
import type { EventRecord } from '../event.ts'
import type { Transaction } from '../transaction.ts'
import type { CompiledApp } from '../compile.ts'

/**
 * Time a batch of transactions may use before it stops starting new ones.
 * One call into the sandbox per batch is what makes short transactions
 * cheap; the call's own timeout is the time limit plus twice this, so every
 * transaction that starts in it gets at least its whole limit.
 */
export const BATCH_MS = 10

export class TxContext {
  /** The transaction running now; left set if the time limit cuts it off (the batch runner clears it). */
  cur: Transaction | null = null
  /** The code the running (or last) transaction runs: what a runaway's line is found in. */
  app: CompiledApp | null = null
  /** An event being committed and the tty input left after it; left set if the time limit cuts the commit off, so it can be finished. */
  committing: EventRecord | null = null
  ttyAfter = ''
  /** The last event's time: no transaction starts earlier. */
  lastTime = 0
  /** Tty input not yet consumed by a committed transaction. */
  ttyIn = ''
  /** When the current call into the sandbox began, and when its last transaction ended or the running one began (performance.now()). */
  callStart = 0
  lastEnd = 0
  private asks = 0

  /**
   * True once the current batch has used its share of time: start no more
   * transactions in it. Work that runs no transaction (exploration's
   * remembered outcomes) is timed too, by a clock read every 16 asks.
   */
  get batchSpent(): boolean {
    return this.lastEnd - this.callStart > BATCH_MS || ((++this.asks & 15) === 0 && performance.now() - this.callStart > BATCH_MS)
  }
}
