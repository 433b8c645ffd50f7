// What the engine's listeners hear: events, attempts and failing tests of a
// batch, in log order and only once the batch is durable; the run status at
// once.
import type { Attempt, EventRecord, TestFailure } from './event.ts'
import type { EngineEvents } from './engineOptions.ts'

type Listener<T> = (value: T) => void

/** What one batch committed, attempted and found broken, held until it is durable. */
export interface Batch {
  events: EventRecord[]
  attempts: Attempt[]
  failures: TestFailure[]
}

const empty = (): Batch => ({ events: [], attempts: [], failures: [] })

export class Announcer {
  private readonly listeners: { [K in keyof EngineEvents]: Set<Listener<EngineEvents[K]>> } = {
    event: new Set(), tty: new Set(), attempt: new Set(), test: new Set(), status: new Set(),
  }
  /** The batch being made. */
  pending: Batch = empty()

  on<K extends keyof EngineEvents>(type: K, fn: Listener<EngineEvents[K]>): () => void {
    this.listeners[type].add(fn)
    return () => this.listeners[type].delete(fn)
  }

  /** Status changes are heard at once (they are not part of a batch). */
  status(status: EngineEvents['status']): void {
    for (const fn of this.listeners.status) fn(status)
  }

  /** Takes the batch made so far, to announce once it is durable; a new one starts. */
  take(): Batch {
    const batch = this.pending
    this.pending = empty()
    return batch
  }

  /** Tells listeners what a batch committed, in log order, after it is durable (default: the one being made). */
  announce(batch = this.take()): void {
    const { events, attempts, failures } = batch
    for (const a of attempts) for (const fn of this.listeners.attempt) fn(a)
    for (const e of events) {
      for (const fn of this.listeners.event) fn(e)
      if (e.outputs.tty) for (const fn of this.listeners.tty) fn(e.outputs.tty)
    }
    for (const f of failures) for (const fn of this.listeners.test) fn(f)
  }
}
