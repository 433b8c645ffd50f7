// What the engine host tells every connected UI: what the app did (events,
// tty output, attempts, test failures) gathered for a moment and sent as a
// few notices, and the status after it; nothing is gathered while no UI listens.
import type { Attempt, EventRecord, Message, Notice, StatusView, TestFailure } from '../protocol/messages.ts'

/** How often queued notices go out: often enough to feel live, seldom enough not to flood a UI. */
const NOTICE_MS = 20
const MAX_EVENTS_PER_NOTICE = 1000
const MAX_ATTEMPT_NOTICES = 50

/** One connected UI. */
export interface Client {
  send(message: Message): void
}

export class Notices {
  readonly clients = new Set<Client>()
  private outbox = Notices.empty()
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly status: () => StatusView) {}

  private static empty() {
    return { events: [] as EventRecord[], tty: '', attempts: [] as Attempt[], failures: [] as TestFailure[], status: false }
  }

  /** A new event moves the head, which the status shows too (an edit or agent commit while the app is stopped). */
  event(e: EventRecord): void {
    this.queue(() => ((this.outbox.status = true), this.outbox.events.push(e)))
  }

  tty(text: string): void {
    this.queue(() => (this.outbox.tty += text))
  }

  attempt(a: Attempt): void {
    this.queue(() => this.outbox.attempts.length < MAX_ATTEMPT_NOTICES && this.outbox.attempts.push(a))
  }

  test(f: TestFailure): void {
    this.queue(() => this.outbox.failures.push(f))
  }

  /** The status changed: every UI hears it with the next notices. */
  statusChanged(): void {
    this.queue(() => (this.outbox.status = true))
  }

  /** Sends `notice` to every UI now. */
  broadcast(notice: Notice): void {
    for (const client of [...this.clients]) client.send({ kind: 'notice', notice })
  }

  /** Sends what is gathered now (closing). */
  flushNow(): void {
    if (!this.timer) return
    clearTimeout(this.timer)
    this.flush()
  }

  private queue(add: () => unknown): void {
    if (!this.clients.size) {
      this.outbox = Notices.empty()
      return
    }
    add()
    this.timer ??= setTimeout(() => this.flush(), NOTICE_MS)
  }

  private flush(): void {
    this.timer = null
    const { events, tty, attempts, failures, status } = this.outbox
    this.outbox = Notices.empty()
    for (const attempt of attempts) this.broadcast({ type: 'attempt', attempt })
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_NOTICE) this.broadcast({ type: 'events', events: events.slice(i, i + MAX_EVENTS_PER_NOTICE) })
    if (tty) this.broadcast({ type: 'tty', text: tty })
    for (const failure of failures) this.broadcast({ type: 'test', failure })
    // Not deduplicated against the last notice: a client that paused and ran again within one
    // notice period saw 'paused' in its answer, and must hear the app park again.
    if (status) this.broadcast({ type: 'status', status: this.status() })
  }
}
