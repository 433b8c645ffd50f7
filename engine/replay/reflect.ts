// /sys on the app's own port: the running system's history and state as
// plain JSON over HTTP — the log, the state at any event, branches,
// attempts, and a long poll for the next events (no SSE or WebSocket needed).
import type { Engine } from '../runtime/engine.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'
import type { EventRecord } from '../runtime/event.ts'
import { seek } from './seek.ts'
import type { SqliteLog } from './sqliteLog.ts'

export interface Reflection {
  prefix: string
  /** Answers a request under the prefix, or null for one that is not (the app's). */
  handle(req: HttpRequest): Promise<HttpResponse> | null
}

const MAX_EVENTS = 1000
const json = (status: number, body: unknown): HttpResponse => ({ status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) })

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
