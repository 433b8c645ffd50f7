// The runner's side of safe reads: a transaction that waits for one hands
// its request here; the performer (outside the process that runs cell code,
// or injected) answers it, and the answer is committed as an `effect` event
// through the one transaction door, which wakes whatever waits on it.
import type { EffectInput, EffectRequest, EffectResponse } from './request.ts'
import type { PendingRead } from '../../protocol/messages.ts'
import { effectAsked } from '../../protocol/effectLine.ts'

/** Performs a safe read; never rejects (a failure is an `{ error }` response). */
export type Performer = (request: EffectRequest) => Promise<EffectResponse>

export class EffectRunner {
  /** Requests being performed, by hash, with what they ask in words and since when: a request asked for again meanwhile is not performed twice. */
  private readonly inFlight = new Map<string, PendingRead>()
  private closed = false

  constructor(
    private readonly perform: Performer,
    /** Commits the effect event (false: the engine is closed, or it could not commit). */
    private readonly record: (input: EffectInput) => void,
    /** A read began or ended: the status (which lists the reads under way) changed. */
    private readonly changed: () => void = () => {},
  ) {}

  get busy(): boolean {
    return this.inFlight.size > 0
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
      .catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }))
      .then((response) => {
        this.inFlight.delete(w.hash)
        if (this.closed) return
        try {
          this.record({ request: w.request, hash: w.hash, response, ms: Math.round(performance.now() - began) })
        } catch {
          // The engine's log closed while the read was under way: nothing waits for it any more, and the next run asks again.
        }
        // After its effect event: the pending block gives way to it.
        this.changed()
      })
  }

  close(): void {
    this.closed = true
  }
}
