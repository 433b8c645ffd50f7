// The launcher's side of an app served by a confined engine process: http
// requests and replay batches relayed to it over the log link (as pushes),
// its answers taken back by number, and its committed events announced.
import type { Attempt } from '../runtime/event.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'
import type { Push } from './logProtocol.ts'
import type { SqliteLog } from './sqliteLog.ts'
import { isObject } from './commitCheck.ts'

/** The launcher's side of a served app: requests relayed to the confined engine, and when its events are durable. */
export interface LinkedApp {
  /** `hungUp`: the client hung up; the engine process drops the request if it has not run it yet. */
  request(req: HttpRequest, deadlineMs?: number, hungUp?: AbortSignal): Promise<HttpResponse>
  attempts(limit?: number): Attempt[]
  on(type: 'event', fn: (e: { seq: number }) => void): () => void
}

const STOPPED: HttpResponse = { status: 503, headers: { 'content-type': 'text/plain' }, body: 'the app stopped\n' }

export class AppRelay {
  /** Relayed requests waiting for the app's answer, by rid. */
  private readonly requests = new Map<number, (r: HttpResponse) => void>()
  /** Replay batches sent to the engine process, waiting for its verdict, by rid. */
  private readonly checks = new Map<number, (failure: unknown) => void>()
  private readonly committed = new Set<(e: { seq: number }) => void>()
  private nextRid = 1
  readonly app: LinkedApp

  /** `gone`: the link is closed or broken (nothing relayed is answered); `sessionLog`: the session's log, once open. */
  constructor(private readonly push: (p: Push) => void, private readonly gone: () => boolean, sessionLog: () => SqliteLog | undefined) {
    this.app = {
      request: (req, deadlineMs, hungUp) => {
        if (this.gone()) return Promise.resolve({ ...STOPPED })
        const rid = this.nextRid++
        return new Promise((resolve) => {
          this.requests.set(rid, resolve)
          this.push({ push: 'http', rid, request: req, deadlineMs })
          hungUp?.addEventListener('abort', () => this.requests.has(rid) && this.push({ push: 'cancel', rid }), { once: true })
        })
      },
      // The session's log, also when it was opened at the engine process's ask (serve).
      attempts: (limit) => sessionLog()?.attempts(limit) ?? [],
      on: (_type, fn) => {
        this.committed.add(fn)
        return () => this.committed.delete(fn)
      },
    }
  }

  /** A replay batch re-executed by the engine process: its first divergence, or null. */
  check(events: unknown[], bodies: string[]): Promise<unknown> {
    return new Promise((resolve) => {
      if (this.gone()) return resolve({ gone: true })
      const rid = this.nextRid++
      this.checks.set(rid, resolve)
      this.push({ push: 'check', rid, texts: bodies.join('\n'), hashes: (events as { hash?: string }[]).map((e) => e.hash ?? '') })
    })
  }

  /** The engine process's verdict on batch `rid`. */
  checked(rid: number, failure: unknown): void {
    const done = this.checks.get(rid)
    this.checks.delete(rid)
    done?.(failure)
  }

  /** The app's answer to request `rid`, checked: a malformed one is a 502. */
  answered(rid: number, response: unknown): void {
    const answer = this.requests.get(rid)
    this.requests.delete(rid)
    const r = response as HttpResponse | undefined
    const ok = isObject(r) && Number.isInteger(r.status) && r.status >= 100 && r.status <= 599 && isObject(r.headers) && Object.values(r.headers).every((v) => typeof v === 'string') && typeof r.body === 'string'
    answer?.(ok ? r : { status: 502, headers: { 'content-type': 'text/plain' }, body: 'the app gave a malformed answer\n' })
  }

  /** The session's branch is durable up to `seq`. */
  durable(seq: number): void {
    for (const fn of this.committed) fn({ seq })
  }

  /** The link closed: every request and batch still waiting is answered so. */
  stopped(): void {
    for (const done of this.checks.values()) done({ gone: true })
    this.checks.clear()
    for (const answer of this.requests.values()) answer({ ...STOPPED })
    this.requests.clear()
  }
}
