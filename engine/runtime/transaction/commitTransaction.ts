// The one way a transaction becomes an event, whatever ran it: its writes
// applied to the store and the event appended to the log, as one idempotent
// step, so a commit the time limit cuts off half-way is simply finished.
import type { Store } from '../store.ts'
import type { Transaction } from '../transaction.ts'
import type { EventLog } from '../log.ts'
import type { EventKind, EventRecord, Write } from '../event.ts'
import type { Json } from '../values.ts'
import type { TxContext } from './txContext.ts'

/** What a commit needs of the executor that owns it. */
export interface Committer {
  readonly ctx: TxContext
  readonly store: Store
  readonly log: EventLog
  readonly config: { branch: string }
}

/** Commits a successful transaction as the next event (`extraWrites` first: a code event's declarations). */
export function commitTransaction(c: Committer, tx: Transaction, codeHash: string, extraWrites?: Write[]): EventRecord {
  const event: EventRecord = {
    branch: c.config.branch,
    seq: c.log.head + 1,
    kind: tx.kind as EventKind,
    method: tx.method,
    input: tx.kind === 'gui' ? guiInput(tx) : tx.ttyRead ? { ...(tx.input as object | null), tty: tx.ttyRead } : tx.input,
    choices: tx.choices,
    time: tx.time,
    codeHash,
    reads: tx.reads,
    writes: extraWrites ? [...extraWrites, ...tx.writes] : tx.writes,
    outputs: tx.outputs(),
    parentHash: '',
    hash: '',
    duration: tx.duration,
    cell: tx.cell,
  }
  // The live app's tty input the transaction read is consumed with it.
  commitEvent(c, event, tx.liveTty ? c.ctx.ttyIn.slice(tx.ttyRead.length) : c.ctx.ttyIn)
  return event
}

/** Commits an event the engine makes itself, with no transaction (a halt marker). */
export function commitMarker(c: Committer, kind: EventKind, codeHash: string, time: number): EventRecord {
  const event: EventRecord = {
    branch: c.config.branch, seq: c.log.head + 1, kind, method: null, input: null, choices: [], time, codeHash,
    reads: [], writes: [], outputs: {}, parentHash: '', hash: '',
  }
  commitEvent(c, event)
  return event
}

/**
 * Applies an event and appends it to the log (also one re-executed by replay,
 * whose writes are already the sandbox's values). Every part is idempotent, so
 * if the time limit cuts this off half-way, `finishCommit` completes it.
 */
export function commitEvent(c: Committer, event: EventRecord, ttyAfter = c.ctx.ttyIn): void {
  c.ctx.ttyAfter = ttyAfter
  c.ctx.committing = event
  finishCommit(c)
}

/** Finishes the commit in progress, if any (after the time limit cut it off): the event it was. */
export function finishCommit(c: Committer): EventRecord | null {
  const ctx = c.ctx
  const event = ctx.committing
  if (!event) return null
  c.store.apply(event.writes, event.seq)
  c.log.append(event)
  ctx.lastTime = event.time
  ctx.ttyIn = ctx.ttyAfter
  ctx.committing = null
  return event
}

/** A gui event's input: every answer the transaction used, by key, so replay asks nothing. */
function guiInput(tx: Transaction): Json {
  const answers: Record<string, Json> = {}
  for (const q of tx.questions) answers[q.key] = q.answer
  return { answers }
}
