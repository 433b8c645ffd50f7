// The runner's side of effects. A transaction that waits for a safe read
// hands its request here; an action is handed here once the event that made
// it is durable (or, after a restart, because `sys.effects` still holds it as pending).
// The performer (outside the process that runs cell code, or injected)
// performs it; the answer or outcome is committed as an `effect` event through
// the one transaction door, which wakes whatever waits on it.
import type { EffectInput, EffectRequest, EffectResponse } from './request.ts'
import { askedOf, outcomeOf, type Action, type OutcomeInput } from './action.ts'
import type { PendingRead } from '../../protocol/messages.ts'
import { effectAsked } from '../../protocol/effectLine.ts'

/**
 * An effect performed: its response, and how long it waited before it could be performed (for you to allow the
 * notebook's grants: engine/host/allowedGrants.ts). The effect's time is measured from when it is performed, so a
 * read that only waited for `loom allow` does not look slow.
 */
export interface Performed {
  response: EffectResponse
  waitedMs?: number
}

/** Performs an effect once; may reject (a thrown error is recorded as an `{ error }` response). */
export type Performer = (request: EffectRequest) => Promise<Performed>

/** A failure to perform, as the response the effect event records. */
const failed = (err: unknown): Performed => ({ response: { error: err instanceof Error ? err.message : String(err) } })

export class EffectRunner {
  /** Requests being performed, by hash, with what they ask in words and since when: a request asked for again meanwhile is not performed twice. */
  private readonly inFlight = new Map<string, PendingRead>()
  /** Actions being performed (or waiting to retry), by id: one performance per id at a time in this process. */
  private readonly acting = new Map<string, NodeJS.Timeout | null>()
  private closed = false

  constructor(
    private readonly perform: Performer,
    /** Commits the effect event (false: the engine is closed, or it could not commit). */
    private readonly record: (input: EffectInput) => void,
    /** Commits an action's outcome event (the door refuses a second outcome for the same id). */
    private readonly finish: (input: OutcomeInput) => void,
    /** A read began or ended: the status (which lists the reads under way) changed. */
    private readonly changed: () => void = () => {},
    /** Nothing is under way any more (a run until idle may end). */
    private readonly settled: () => void = () => {},
  ) {}

  get busy(): boolean {
    return this.inFlight.size > 0 || this.acting.size > 0
  }

  /** The reads under way, the oldest first: the window shows them as pending. */
  get reading(): PendingRead[] {
    return [...this.inFlight.values()]
  }

  want(w: { request: EffectRequest; hash: string }): void {
    if (this.closed || this.inFlight.has(w.hash)) return
    this.inFlight.set(w.hash, { what: effectAsked(w.request), since: Date.now() })
    this.changed()
    const began = performance.now()
    void this.perform(w.request)
      .catch(failed)
      .then(({ response, waitedMs = 0 }) => {
        this.inFlight.delete(w.hash)
        if (this.closed) return
        try {
          this.record({ request: w.request, hash: w.hash, response, ms: Math.max(0, Math.round(performance.now() - began - waitedMs)) })
        } catch {
          // The engine's log closed while the read was under way: nothing waits for it any more, and the next run asks again.
        }
        // After its effect event: the pending block gives way to it.
        this.changed()
        this.idle()
      })
  }

  /**
   * Performs a committed action until it succeeds or its attempts are spent, waiting
   * `backoff`, then twice that, and so on, between tries; then records its outcome.
   * A failure worth another try: no answer at all (refused, timed out) or a 5xx or 429.
   */
  act(id: string, action: Action): void {
    if (this.closed || this.acting.has(id)) return
    this.acting.set(id, null)
    const began = performance.now()
    // Every try's wait to be allowed: not the action's time.
    let waited = 0
    const request = withKey(action.request, id)
    const attempt = async (tries: number): Promise<void> => {
      const { response, waitedMs = 0 } = await this.perform(request).catch(failed)
      waited += waitedMs
      if (this.closed) return
      const outcome = outcomeOf(id, response, tries)
      if (!outcome.ok && tries < action.attempts && retryable(response)) {
        // Doubling, but never more than a minute between tries (20 tries of a 60 s backoff would be years).
        const wait = Math.min(action.backoff * 2 ** (tries - 1), 60_000)
        this.acting.set(id, setTimeout(() => void attempt(tries + 1), wait))
        return
      }
      this.acting.delete(id)
      try {
        this.finish({ id, asked: askedOf(action.request), outcome, ms: Math.max(0, Math.round(performance.now() - began - waited)) })
      } catch {
        // The log closed meanwhile: the action stays pending in `sys.effects`, and the next run performs it again.
      }
      this.idle()
    }
    void attempt(1)
  }

  private idle(): void {
    if (!this.busy) this.settled()
  }

  close(): void {
    this.closed = true
    for (const timer of this.acting.values()) if (timer) clearTimeout(timer)
    this.acting.clear()
  }
}

/** An HTTP action carries its id as the Idempotency-Key, unless the cell set one itself. */
function withKey(r: EffectRequest, id: string): EffectRequest {
  if (r.kind !== 'http.send' || Object.hasOwn(r.headers, 'idempotency-key')) return r
  return { ...r, headers: { ...r.headers, 'idempotency-key': id } }
}

function retryable(r: EffectResponse): boolean {
  if ('error' in r) return true
  return 'status' in r && (r.status >= 500 || r.status === 429)
}
