// One time-limited call into the sandbox for a batch of transactions: the
// only place cell code is entered for running (see `Executor.run`). When the
// limit cuts the call off, this decides who is blamed, clears the running
// transaction and finishes a commit left half-way.
import type { Sandbox, Outcome } from '../sandbox.ts'
import type { Transaction } from '../transaction.ts'
import type { EventRecord } from '../event.ts'
import { BATCH_MS } from './txContext.ts'
import { finishCommit, type Committer } from './commitTransaction.ts'
import { placeOf } from '../compile.ts'
import type { SourceLocation } from '../event.ts'
import { cpuClock } from './cpuClock.ts'

/** Cut-off calls in a row that may be resumed before whatever runs is blamed anyway (host code that never ends). */
const MAX_RESUMES = 3
/**
 * Cut-off calls in a row in which the process itself computed for well under
 * the limit (the machine was busy with others, or stopped): each is run again
 * with twice the time, so that a runaway on a machine that busy still gets
 * to spend its limit and is blamed; past this many, it is blamed anyway.
 */
const MAX_STALLS = 6

/** What a caller of `Executor.run` does when the time limit cuts its work off. */
export interface TimeLimitHooks {
  /**
   * `tx` ran past its limit on its own (null: the work ran past it outside
   * any transaction — loading code, or a promise callback a cell left behind).
   * Record it and make `work` go past it, and return true to resume the
   * work; return false (or nothing) to stop there.
   */
  overran(tx: Transaction | null): boolean | void
  /** A commit the time limit cut off half-way has been finished: take it in as if `commit` had returned. */
  committed?(event: EventRecord): void
  /**
   * The call was cut off with no one to blame (the machine was too busy or
   * stopped, or the calls before ran the limit out) and `work` resumes.
   * Whatever host code ran at that moment stopped wherever it was: work whose
   * own bookkeeping cannot be stopped half-way undoes the piece it was doing
   * (exploration's search.ts), or says its result is in doubt.
   */
  resumed?(): void
}

/**
 * Runs `work` — transactions one after another — in the sandbox, each
 * transaction under its own time limit (`limitMs`), never the batch as a
 * whole. `work` must resume where it stopped when called again: its progress
 * lives outside it, a transaction that has not ended is simply run again,
 * and it should return once `ctx.batchSpent` is true.
 *
 * The sandbox's timeout covers the whole call, so when it fires the
 * transaction running then is blamed only if it alone ran for the limit
 * (since the last one ended) and the process computed for at least half of
 * it. Otherwise it was cut off by those before it, or by a machine that
 * stalled: it never committed, and the work resumes in a fresh call where it
 * runs first, with its whole limit (after a stall, twice the time). A commit cut off half-way is finished
 * (commits are idempotent) and handed to `hooks.committed`.
 */
export function runBatch<T>(runner: Committer & { readonly sandbox: Sandbox }, work: () => T, hooks: TimeLimitHooks, limitMs: number): Outcome<T> {
  const ctx = runner.ctx
  let resumes = 0
  let stalls = 0
  let timeoutMs = limitMs + 2 * BATCH_MS
  const cpu = cpuClock()
  for (;;) {
    ctx.callStart = ctx.lastEnd = performance.now()
    // Read at most a hundredth of the limit before the call: it then counts that much more against what ran.
    const cpuStart = cpu.recent(limitMs / 100)
    const out = runner.sandbox.run(work, timeoutMs)
    if (out.ok) return out
    const event = finishCommit(runner)
    if (event) {
      hooks.committed?.(event)
      resumes++
      continue
    }
    const tx = ctx.cur
    ctx.cur = null
    // The limit is wall time, but what runs away spends CPU: a call in which this thread computed for
    // well under the limit (even allowing for its clock's ticks) was stalled, by a loaded or stopped machine
    // or by the other threads of an exploration, and what ran then is blameless.
    if (cpu.now() - cpuStart + cpu.resolutionMs < limitMs / 2 && stalls < MAX_STALLS) {
      stalls++
      timeoutMs *= 2
      hooks.resumed?.()
      continue
    }
    if (performance.now() - ctx.lastEnd >= limitMs || resumes >= MAX_RESUMES) {
      if (tx) tx.failure = { reason: `ran past its time limit of ${limitMs} ms`, aborted: false, runaway: true, location: runningAt(runner) ?? tx.failure?.location ?? null }
      if (!hooks.overran(tx)) return { ok: false }
      resumes = 0
    } else {
      resumes++
      hooks.resumed?.()
    }
  }
}

/** Where the transaction the limit cut off was: the loop line it noted last (see compile.ts runawayMarkers). */
function runningAt(runner: Committer & { readonly sandbox: Sandbox }): SourceLocation | null {
  const line = runner.sandbox.runningLine()
  return line > 0 && runner.ctx.app ? placeOf(runner.ctx.app, line) : null
}
