// The app's HTTP requests: each an `http` transaction, run in arrival order in
// batches that share one group commit, answered once durable. A request that
// aborts waits for what it read to change and runs again, until its deadline.
// While a person has paused the app, requests are held, not run: served in
// arrival order when it runs again (or one by one as its steps), or answered
// 503 at their deadline with nothing committed.
import { basename } from 'node:path'
import type { Agent } from './agent.ts'
import { methodCall } from './executor.ts'
import type { BatchHost } from './transaction/pipeline.ts'
import { formatLocation } from './compile.ts'
import type { HttpRequest, HttpResponse } from './http.ts'
import type { EventRecord, Read } from './event.ts'
import type { Json } from './values.ts'

interface WaitingRequest {
  req: HttpRequest
  resolve: (r: HttpResponse) => void
  reads: Read[]
  /** Its deadline; cleared once it is answered, or once it committed (its answer then waits for durability, never a 503 that says nothing was committed). */
  timer: NodeJS.Timeout | null
  /** Why its last run waited (it aborted); '' while it has not run. */
  reason: string
  /** When it arrived (performance.now()): its latency runs from here to its answer. */
  arrived: number
}

/** Batches of requests that may be waiting for durability at once. */
const MAX_REQUEST_BATCHES = 2
/**
 * Most requests held while paused, and most characters of their bodies: past
 * either, a new one is answered 503 at once (a paused app's port would
 * otherwise keep whatever its clients send until their deadlines).
 */
export const MAX_HELD = 1000
export const MAX_HELD_CHARS = 64 * 1024 * 1024

export function plainResponse(status: number, text: string): HttpResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text + '\n' }
}

/** A held request that will not be served: the client may try again once the app runs. */
function pausedResponse(why: string): HttpResponse {
  const r = plainResponse(503, `the app is paused in Loom (${why}); nothing was committed for this request — try again once it runs`)
  r.headers['retry-after'] = '5'
  return r
}

/** What requests need of the engine that serves them. */
export interface RequestHost extends BatchHost {
  halted(): boolean
  /** The agent a request's sys.fork choices are answered by. */
  agent(): Agent
  /** Tests due after a commit (debug runs): checked in the batch before the next request. */
  testsDue(): boolean
  /** How many requests are held changed (the status says it). */
  heldChanged(): void
}

export class HttpRequests {
  private readonly waiting = new Set<WaitingRequest>()
  /** Requests that arrived since the last serving: they run together, in arrival order, and share one group commit. */
  private readonly queued: WaitingRequest[] = []
  /** Batches of requests being made durable; past a few, new arrivals gather into the next batch meanwhile. */
  private inFlight = 0
  /** Requests that came while the app was paused by a person, in arrival order; null: not holding. */
  private held: WaitingRequest[] | null = null

  constructor(private readonly host: RequestHost) {}

  /** How many requests wait for the paused app to run. */
  get heldCount(): number {
    return this.held?.length ?? 0
  }

  /** A person paused the app: requests from now on wait, uncommitted, until release (or their deadline). */
  hold(): void {
    this.held ??= []
  }

  /** The app runs again: the held requests are served, in arrival order, before any that come next. */
  release(): void {
    const held = this.held
    this.held = null
    if (!held?.length) return
    for (const w of held) this.enqueue(w)
    this.host.heldChanged()
  }

  /**
   * A step while requests are held: the first one is served as that step's transaction (one batch of one;
   * answered once durable). False when none is held.
   */
  serveOneHeld(): boolean {
    const w = this.held?.shift()
    if (!w) return false
    this.host.heldChanged()
    this.queued.unshift(w)
    this.serveQueued(1)
    return true
  }

  /** The app will not run again here (Loom stops, the app moved to another branch): held requests are answered 503, nothing committed. */
  refuseHeld(why: string): void {
    const held = this.held ?? []
    this.held = null
    for (const w of held) this.answer(w, pausedResponse(why))
    if (held.length) this.host.heldChanged()
  }

  /**
   * Serves one HTTP request as an `http` transaction. Resolves with the
   * response once its event is durable. An aborted request waits for what
   * it read to change and runs again, until `deadlineMs` (then 503); an
   * exception is 500 at once. Never rejects for what the app does.
   */
  request(req: HttpRequest, deadlineMs: number, gone?: AbortSignal): Promise<HttpResponse> {
    return new Promise((resolve) => {
      const waiting: WaitingRequest = { req, resolve, reads: [], timer: null, reason: '', arrived: performance.now() }
      waiting.timer = setTimeout(() => {
        // Answered 503, nothing committed: it must not run after all (a queued one would, once the log caught up).
        waiting.timer = null
        this.waiting.delete(waiting)
        const queued = this.queued.indexOf(waiting)
        if (queued >= 0) this.queued.splice(queued, 1)
        const at = this.held?.indexOf(waiting) ?? -1
        if (at >= 0) {
          this.held!.splice(at, 1)
          this.host.heldChanged()
          return resolve(pausedResponse(`it waited ${deadlineMs} ms`))
        }
        resolve(plainResponse(503, `the request waited ${deadlineMs} ms without committing: ${waiting.reason || this.notRun()}`))
      }, deadlineMs)
      // The client went away: a request that has not run yet (held, or not yet served) never will.
      this.enqueue(waiting)
      if (gone?.aborted) this.drop(waiting)
      else gone?.addEventListener('abort', () => this.drop(waiting), { once: true })
    })
  }

  /** Why a request that reached its deadline never ran. */
  private notRun(): string {
    if (this.inFlight >= MAX_REQUEST_BATCHES) {
      return `it never ran: the requests before it were still being written to the log (${this.inFlight} batches waiting for the disk)`
    }
    return 'it never ran: the engine was busy with other transactions until its deadline'
  }

  /** After a commit: requests waiting on something it changed run again (after this batch, in arrival order). */
  wakeChanged(): void {
    const store = this.host.exec.store
    for (const w of this.waiting) {
      if (!store.unchanged(w.reads)) {
        this.waiting.delete(w)
        if (w.timer) this.enqueue(w)
      }
    }
  }

  /** New code may answer differently: every waiting request runs again with it. */
  retryAll(): void {
    for (const w of this.waiting) this.enqueue(w)
    this.waiting.clear()
  }

  /** Forgets a request whose client went away, unless it is being served (it commits and is answered to no one). */
  private drop(w: WaitingRequest): void {
    const held = this.held?.indexOf(w) ?? -1
    const queued = this.queued.indexOf(w)
    if (held >= 0) this.held!.splice(held, 1)
    else if (queued >= 0) this.queued.splice(queued, 1)
    else if (!this.waiting.delete(w)) return
    this.answer(w, plainResponse(499, 'the client closed the connection before its request ran; nothing was committed for it'))
    if (held >= 0) this.host.heldChanged()
  }

  private enqueue(w: WaitingRequest): void {
    // Paused by a person: held, new or woken, until the app runs.
    if (this.held) {
      if (this.held.length >= MAX_HELD || this.held.reduce((n, h) => n + h.req.body.length, w.req.body.length) > MAX_HELD_CHARS) {
        return this.answer(w, pausedResponse(`${this.held.length} requests already wait, as many as it holds`))
      }
      this.held.push(w)
      this.host.heldChanged()
      return
    }
    this.queued.push(w)
    // Group commit for requests: under load they gather while the last batch is written; alone, one runs at once.
    if (this.queued.length === 1 && this.inFlight < MAX_REQUEST_BATCHES) setImmediate(() => this.serveQueued())
  }

  /**
   * Runs every queued request as its own transaction, in batches, each
   * request under its own time limit; answers them once durable.
   */
  private serveQueued(limit = Infinity): void {
    const host = this.host
    const exec = host.exec
    const queue = this.queued.splice(0, limit)
    const version = host.version()
    const answers: [WaitingRequest, HttpResponse, EventRecord?][] = []
    // The request running now: the one an overrun is answered for (never found by index).
    let serving: WaitingRequest | null = null
    let next = 0
    // Requests count towards the snapshot every K events too, mid-batch as steps do: an HTTP-only app's seeks stay short.
    const snapshot = host.snapshotter()
    const serve = (w: WaitingRequest) => {
      if (host.halted() || !version.methods.http) {
        serving = null
        return this.answer(w, host.halted() ? plainResponse(503, 'the app has halted') : plainResponse(404, 'this app has no http() method'))
      }
      const tx = exec.runCall(version, methodCall('http', w.req as unknown as Json), host.now(), host.agent())
      serving = null
      if (!tx.failure) {
        // Queued first: a commit the time limit cuts off is finished, and its request answered, all the same.
        const answer: [WaitingRequest, HttpResponse, EventRecord?] = [w, tx.http as unknown as HttpResponse]
        answers.push(answer)
        answer[2] = host.commit(tx)
        // Committed: answered once durable (or 503 if the log cannot make it so), whatever its deadline.
        if (w.timer) clearTimeout(w.timer)
        snapshot()
        return
      }
      host.recordAttempt(tx)
      if (!tx.failure.aborted) {
        // Any client of the app reads this: the notebook by its file name, not where it sits on this machine.
        const where = tx.failure.location ? ` (${formatLocation(basename(version.app.path), tx.failure.location)})` : ''
        // Answered once its attempt is in the log, as a commit is: a client that reads /sys/attempts next finds it.
        answers.push([w, plainResponse(500, `${tx.failure.reason}${where}`)])
      } else {
        // A wait: run again when something it read changes.
        w.reads = tx.reads
        w.reason = tx.failure.reason
        this.waiting.add(w)
      }
    }
    const work = () => {
      for (;;) {
        host.checkDueTests()
        if (exec.batchSpent) return
        if (!serving) {
          if (next >= queue.length) return
          serving = queue[next++]!
          if (!serving.timer) { // its deadline passed meanwhile
            serving = null
            continue
          }
        }
        serve(serving)
      }
    }
    while (serving || next < queue.length || host.testsDue()) {
      host.inBatch(work, (tx) => {
        if (tx?.kind === 'http' && serving) {
          host.recordAttempt(tx)
          answers.push([serving, plainResponse(500, `http() ran past its time limit of ${exec.config.timeLimitMs} ms`)])
          serving = null
        }
        return true
      })
    }
    host.offerSnapshot()
    const batch = host.announcer.take()
    const durable = exec.log.flushAsync ? exec.log.flushAsync() : (exec.log.flush(), Promise.resolve())
    this.inFlight++
    durable.then(
      () => {
        // Durable: each answer goes now, so its latency is known. The event carries it to the window; the log keeps it with its next group commit.
        const now = performance.now()
        for (const [w, , e] of answers) {
          if (!e) continue
          e.latency = Math.round((now - w.arrived) * 1000) / 1000
          exec.log.side?.addLatency(e.seq, e.latency)
        }
        host.announcer.announce(batch)
        for (const [w, r] of answers) this.answer(w, r)
        // Traffic stopped: the latencies are written now rather than with whatever commits next.
        if (!this.queued.length && this.inFlight === 1) void exec.log.flushAsync?.().catch(() => {})
      },
      (err: Error) => {
        for (const [w] of answers) this.answer(w, plainResponse(503, `the log could not make the request durable: ${err.message}`))
      },
    ).finally(() => {
      this.inFlight--
      if (this.queued.length && this.inFlight < MAX_REQUEST_BATCHES) this.serveQueued()
    })
  }

  private answer(w: WaitingRequest, response: HttpResponse): void {
    if (w.timer) clearTimeout(w.timer)
    w.timer = null
    w.resolve(response)
  }
}
