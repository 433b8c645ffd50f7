// Branch writes, the one way: a branch is made and its events committed onto
// it through a connection of its own, so the log the caller holds (the app's)
// never changes branch; if anything fails half-way, the branch goes with
// every event written to it, and if the process is killed half-way (kill -9),
// the branch stays hidden and the next writer removes it
// (history/unfinishedBranches.ts). Fork a preview, save a trace, replay with
// new code and import all write branches this way, here or over a log link.
import type { HistoryLog } from './historyLog.ts'
import type { Moment } from './seek.ts'

/**
 * Makes branch `name` — forked at `from` (with a snapshot of that moment), or
 * a new root when `from` is null — and runs `fn` with a log that appends to
 * it. Resolves with what `fn` returned once everything `fn` appended is
 * durable; if `fn` throws, nothing of the branch is left.
 */
export async function writeBranch<L extends HistoryLog, T>(log: L, name: string, from: Moment | null, fn: (branch: ReturnType<L['openBranch']>) => T | Promise<T>): Promise<T> {
  // Unfinished until all of it is durable: hidden, and removed by the next writer if this process is killed half-way.
  log.makeBranch(name, from, true)
  let writer: HistoryLog | null = null
  try {
    writer = log.openBranch(name)
    const value = await fn(writer as ReturnType<L['openBranch']>)
    await (writer.flushAsync?.() ?? writer.flush())
    writer.close()
    log.finishBranch(name)
    return value
  } catch (err) {
    // Events not yet sent are dropped; the branch goes with those that were written.
    if (writer) {
      writer.discardPending()
      try {
        writer.close()
      } catch {
        // Its last commit failed: the branch goes anyway.
      }
    }
    log.deleteBranch(name)
    throw err
  }
}
