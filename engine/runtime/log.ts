// Where committed events go. The engine appends each event as it commits and
// calls `flush` once per batch (group commit); the log seals events into the
// hash chain. MemoryLog keeps everything in memory; the durable SQLite log
// implements the same interface.
import { createHash } from 'node:crypto'
import { canonicalJson } from './values.ts'
import type { Attempt, EventRecord } from './event.ts'

export interface EventLog {
  /** Seq of the last appended event (0 when empty). */
  readonly head: number
  /** Appends the next event; appending an event whose seq is not above `head` does nothing. */
  append(event: EventRecord): void
  /** Seals and keeps everything appended so far; events are acknowledged after this. */
  flush(): void
  /** Events with seq in [from, from + limit). */
  events(from?: number, limit?: number): EventRecord[]
  addAttempt(attempt: Attempt): void
  /** The most recent attempts, oldest first. */
  attempts(limit?: number): Attempt[]
}

export const GENESIS_HASH = '0'.repeat(64)

/** The hash of an event: sha256 of its parent's hash and the canonical encoding of everything else. */
export function eventHash(event: EventRecord, parentHash: string): string {
  const { parentHash: _p, hash: _h, ...body } = event
  return createHash('sha256').update(parentHash).update(canonicalJson(body)).digest('hex')
}

export class MemoryLog implements EventLog {
  private readonly list: EventRecord[] = []
  private sealed = 0
  private readonly recent: Attempt[] = []
  constructor(private readonly maxAttempts = 1000) {}

  get head(): number {
    return this.list.length
  }

  append(event: EventRecord): void {
    if (event.seq <= this.list.length) return
    if (event.seq !== this.list.length + 1) throw new Error(`log: expected event ${this.list.length + 1}, got ${event.seq}`)
    this.list.push(event)
  }

  flush(): void {
    let parent = this.sealed ? this.list[this.sealed - 1]!.hash : GENESIS_HASH
    for (; this.sealed < this.list.length; this.sealed++) {
      const e = this.list[this.sealed]!
      e.parentHash = parent
      e.hash = parent = eventHash(e, parent)
    }
  }

  events(from = 1, limit = Infinity): EventRecord[] {
    this.flush()
    return this.list.slice(Math.max(0, from - 1), Math.min(this.list.length, from - 1 + limit))
  }

  addAttempt(attempt: Attempt): void {
    this.recent.push(attempt)
    if (this.recent.length > this.maxAttempts * 2) this.recent.splice(0, this.recent.length - this.maxAttempts)
  }

  attempts(limit = this.maxAttempts): Attempt[] {
    return this.recent.slice(-Math.min(limit, this.maxAttempts))
  }
}
