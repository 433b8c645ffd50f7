// /sys on the app's own port: the running system's history and state as
// plain JSON over HTTP — the log, the state at any event, branches,
// attempts, and a long poll for the next events (no SSE or WebSocket needed).
// Anyone who reaches the port may read it, so it never shows a recorded
// credential, and a page of another site is refused outright.
import type { Engine } from '../runtime/engine.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'
import type { EventRecord } from '../runtime/event.ts'
import { seek } from './seek.ts'
import type { SqliteLog } from './sqliteLog.ts'
import { redactCredentials } from '../protocol/redactCredentials.ts'

export interface Reflection {
  prefix: string
  /** Answers a request under the prefix, or null for one that is not (the app's). */
  handle(req: HttpRequest): Promise<HttpResponse> | null
}

const MAX_EVENTS = 1000
/** Every answer: JSON with the credentials of recorded requests and responses blanked (the log keeps them for replay). */
const json = (status: number, body: unknown): HttpResponse => ({ status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(redactCredentials(body)) })

/** The names of this machine's loopback, which the app's port listens on. */
const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i

/**
 * Why a request is refused, or null. Browsers send Origin with cross-site
 * requests: a page of another origin is refused; curl and the app's own pages
 * (no Origin on a same-origin GET, or their own) pass. A page that rebinds its
 * own name to 127.0.0.1 sends no Origin, but names itself in Host.
 */
function refusal(req: HttpRequest): HttpResponse | null {
  const host = req.headers.host ?? ''
  if (!LOOPBACK.test(host)) return json(421, { error: `${req.path} answers only to this machine's own names (127.0.0.1, localhost), not to ${host || 'a request without a Host'}` })
  const origin = req.headers.origin
  if (origin === undefined || origin === `http://${host}` || origin === `https://${host}`) return null
  return json(403, { error: `${req.path} answers the app's own pages and local tools (curl), not a page of ${origin}` })
}

/** What /sys needs of the app besides its log: the engine, or (a confined run) the launcher's view of it. */
export interface ReflectedApp {
  attempts(limit?: number): ReturnType<Engine['attempts']>
  on(type: 'event', fn: (e: { seq: number }) => void): () => void
}

export function reflection(engine: ReflectedApp, log: SqliteLog, prefix = '/sys', pollMs = 25_000): Reflection {
  if (!/^\/[\w.-]+$/.test(prefix)) throw new Error(`'${prefix}' is not a path prefix like /sys`)
  const owns = (path: string) => path === prefix || path.startsWith(prefix + '/')
  return {
    prefix,
    handle(req) {
      if (!owns(req.path)) return null
      const refused = refusal(req)
      if (refused) return Promise.resolve(refused)
      if (req.method !== 'GET') return Promise.resolve(json(405, { error: `${req.path} is read-only: use GET` }))
      return answer(req.path.slice(prefix.length) || '/', req.query).catch((err: Error) => json(400, { error: err.message }))
    },
  }

  function count(query: Record<string, string>, name: string, fallback: number): number {
    const v = query[name]
    if (v === undefined || v === '') return fallback
    if (!/^\d+$/.test(v)) throw new Error(`${name} takes a whole number, got '${v}'`)
    return Number(v)
  }

  async function answer(path: string, q: Record<string, string>): Promise<HttpResponse> {
    const branch = q.branch || log.branch
    const info = log.branchInfo(branch)
    if (!info) return json(404, { error: `there is no branch '${branch}'` })
    switch (path) {
      case '/log': {
        log.flush()
        const limit = Math.min(count(q, 'limit', 50), MAX_EVENTS)
        const from = count(q, 'from', Math.max(1, info.head - limit + 1))
        return json(200, log.eventsOf(branch, Math.max(1, from), limit))
      }
      case '/state': {
        log.flush()
        const at = count(q, 'at', log.branchInfo(branch)!.head)
        const state = seek(log, { branch, seq: at })
        return json(200, { branch, at, state: Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.value])) })
      }
      case '/branches':
        return json(200, log.branches().map((b) => ({ ...b, live: b.name === log.live })))
      case '/attempts':
        return json(200, engine.attempts(Math.min(count(q, 'limit', 100), MAX_EVENTS)))
      case '/events':
        return json(200, await nextEvents(count(q, 'after', 0), Math.min(count(q, 'timeout', pollMs), pollMs)))
    }
    return json(404, { error: `no ${prefix}${path}; there are ${['log', 'state', 'branches', 'attempts', 'events'].map((p) => `${prefix}/${p}`).join(', ')}` })
  }

  /** Events after `after` on the live branch; if there are none yet, waits for the next (or the timeout: []). */
  function nextEvents(after: number, timeoutMs: number): Promise<EventRecord[]> {
    log.flush()
    if (log.head > after) return Promise.resolve(log.eventsOf(log.branch, after + 1, MAX_EVENTS))
    return new Promise((resolve) => {
      const stop = engine.on('event', (e) => {
        if (e.seq <= after) return
        done()
        resolve(log.eventsOf(log.branch, after + 1, MAX_EVENTS))
      })
      const timer = setTimeout(() => {
        done()
        resolve([])
      }, timeoutMs)
      const done = () => {
        stop()
        clearTimeout(timer)
      }
    })
  }
}
