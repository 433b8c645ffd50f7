// The app's own HTTP port under `loom serve` and in the desktop app, as
// `loom run` serves it: the supervisor listens (the engine process has no
// network) and relays each request to the engine process over its log link
// (logHost.ts LinkedApp), with /sys beside it. One port for the session: an
// engine process that crashes and is restarted is attached again, and a
// request that comes meanwhile waits for it (up to the request's deadline).
import { serveHttp, type RunningServer } from '../runtime/server.ts'
import { reflection, type Reflection } from '../replay/reflect.ts'
import type { HttpResponse } from '../runtime/http.ts'
import type { LinkedApp } from '../replay/appRelay.ts'
import type { SqliteLog } from '../replay/sqliteLog.ts'
import { readFile } from 'node:fs/promises'
import { decodeNotebook, parseNotebook } from '../runtime/notebook.ts'

export interface AppPort {
  /** Where the app answers: http://127.0.0.1:PORT */
  url: string
  port: number
  /** Relays requests to this engine process's app (until the returned function detaches it). */
  attach(app: LinkedApp, log: SqliteLog): () => void
  close(): Promise<void>
}

const SYS_PREFIX = '/sys'
/** As serveHttp's: how long a request may wait to commit, here including the wait for the app to start. */
const DEADLINE_MS = 10_000

const unavailable = (why: string): HttpResponse => ({ status: 503, headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }, body: `${why}\n` })

/** Listens on `port` (0: any free one) on 127.0.0.1; throws what listen threw (a port in use: EADDRINUSE). */
export async function openAppPort(port: number): Promise<AppPort> {
  let current: { app: LinkedApp; sys: Reflection } | null = null
  /** Requests that came while no engine process was attached: they go to the next one. */
  const waiting = new Set<(attached: boolean) => void>()
  const whenAttached = (deadlineMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => go(false), deadlineMs)
      const go = (attached: boolean) => (clearTimeout(timer), waiting.delete(go), resolve(attached))
      waiting.add(go)
    })
  const server: RunningServer = await serveHttp(
    {
      request: async (req, deadlineMs = DEADLINE_MS, gone) => {
        const started = Date.now()
        if (!current) await whenAttached(deadlineMs)
        if (!current) return unavailable(`the app is not running (it did not start within ${deadlineMs} ms, or Loom is stopping); try again in a moment`)
        return current.app.request(req, Math.max(1, deadlineMs - (Date.now() - started)), gone)
      },
    },
    {
      port,
      reserved: {
        handle: (req) => {
          if (current) return current.sys.handle(req)
          const ours = req.path === SYS_PREFIX || req.path.startsWith(SYS_PREFIX + '/')
          return ours ? Promise.resolve(unavailable(`${SYS_PREFIX} answers once the app has opened its log; try again in a moment`)) : null
        },
      },
    },
  )
  return {
    url: server.url,
    port: server.port,
    attach(app, log) {
      const attached = { app, sys: reflection(app, log, SYS_PREFIX) }
      current = attached
      for (const go of [...waiting]) go(true)
      return () => {
        if (current === attached) current = null
      }
    },
    close: () => {
      current = null
      for (const go of [...waiting]) go(false)
      return server.close()
    },
  }
}

/** The notebook's `http:` setting, or undefined (none, or a notebook that does not parse: its window says why). */
export async function appPortOf(notebook: string): Promise<number | undefined> {
  try {
    return parseNotebook(decodeNotebook(await readFile(notebook), notebook), notebook).settings.http
  } catch {
    return undefined
  }
}
