// Re-enactment: a recorded transaction run again with the engine's current
// code — the same method (or edit), time, tty input and, where they still
// fit, choices — and committed if it commits. What replay with new code and
// the window's "re-run from here" are made of.
import { callOf, cannotRun, type AppVersion, type Executor } from './executor.ts'
import { PreferRecordedAgent, mix } from './agent.ts'
import type { Announcer } from './announcer.ts'
import type { Pipeline } from './transaction/pipeline.ts'
import type { Transaction } from './transaction.ts'
import type { EventRecord } from './event.ts'

/** A re-enacted transaction's outcome: its new event, or why it did not commit. */
export type Reenacted = { event: EventRecord | null; failure: string | null }

/** What re-enactment needs of the engine. */
export interface ReenactHost {
  exec: Executor
  pipeline: Pipeline
  announcer: Announcer
  /** The code re-enacting runs (read at each transaction, as the engine's may change). */
  version: () => AppVersion
  seedNumber: number
}

/** The agent a recorded event is re-enacted with: its choices where they still fit, fair ones where not. */
function agentFor(host: ReenactHost, e: EventRecord): PreferRecordedAgent {
  return new PreferRecordedAgent(e.choices, mix(host.seedNumber, e.seq))
}

/** Re-enacts one recorded transaction: commits it (durable, announced) if it commits. */
export function reenact(host: ReenactHost, e: EventRecord): Reenacted {
  const call = callOf(e)
  const cannot = cannotRun(host.version(), call)
  if (cannot) return { event: null, failure: cannot }
  const tx = host.pipeline.runNow(call, host.exec.txTime(e.time), agentFor(host, e))
  if (!tx) return { event: null, failure: `ran past the time limit of ${host.exec.config.timeLimitMs} ms` }
  if (tx.failure) {
    host.pipeline.recordAttempt(tx)
    host.announcer.announce()
    return { event: null, failure: tx.failure.reason }
  }
  return { event: host.pipeline.commitNow(tx), failure: null }
}

/**
 * Re-enacts recorded transactions in order, as `reenact` does each, but many
 * to a call into the sandbox (a re-run of a long branch pays the sandbox's
 * entry once per batch, not twice per event); they are made durable and
 * announced once at the end. `done` hears each one's outcome, in order;
 * `ahead` is told each one just before it runs (a re-run reads the values it starts from).
 */
export function reenactAll(host: ReenactHost, events: readonly EventRecord[], done: (e: EventRecord, r: Reenacted) => void, ahead?: (e: EventRecord) => void): void {
  const { exec, pipeline } = host
  let at = 0
  // A commit the time limit cut off is finished by the executor: its event is the head when the work resumes.
  let committing: EventRecord | null = null
  const settle = () => {
    if (committing) done(committing, { event: exec.log.events(exec.head, 1)[0] ?? null, failure: null })
    committing = null
  }
  const aborted = (tx: Transaction) => {
    pipeline.recordAttempt(tx)
    done(events[at++]!, { event: null, failure: tx.failure!.reason })
  }
  const work = () => {
    settle()
    while (at < events.length) {
      const e = events[at]!
      ahead?.(e)
      const call = callOf(e)
      const cannot = cannotRun(host.version(), call)
      if (cannot) done(events[at++]!, { event: null, failure: cannot })
      else {
        const tx = exec.runCall(host.version(), call, exec.txTime(e.time), agentFor(host, e))
        if (tx.failure) aborted(tx)
        else {
          committing = events[at++]!
          const event = pipeline.commit(tx)
          committing = null
          done(e, { event, failure: null })
        }
      }
      if (exec.batchSpent) return
    }
  }
  while (at < events.length) {
    // A transaction that ran past its limit on its own aborts, as under reenact, and the batch goes on.
    const out = pipeline.inBatch(work, (tx) => (tx ? (aborted(tx), true) : false))
    settle()
    // Cut off outside any transaction (a promise callback a cell left behind): the rest one at a time.
    if (!out.ok) for (; at < events.length; at++) done(events[at]!, reenact(host, events[at]!))
  }
  pipeline.flush()
  host.announcer.announce()
}
