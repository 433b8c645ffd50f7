// `loom serve`: the UI for a browser on 127.0.0.1. One HTTP server answers
// the renderer's files and, at /engine, the WebSocket that carries the
// protocol; the notebook runs in an engine process this one supervises.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HostOptions } from './EngineHost.ts'
import type { EngineSupervisor, SupervisorEvents } from './EngineSupervisor.ts'
import type { SpawnEngine } from './engineLink.ts'
import { attachEngineSocket, ENGINE_PATH } from './engineSocket.ts'
import { securityHeaders } from './securityHeaders.ts'
import { serveRendererFile } from './rendererFiles.ts'
import { bundleStale } from '../../scripts/bundleStale.js'
import type { ShareOptions, Sharing } from '../share/startShare.ts'
import { SYNC_PATH } from '../share/syncPath.ts'
import { guardEndpoint } from '../share/guardEndpoint.ts'
import { Admission } from '../share/Admission.ts'
import { newTokens } from '../share/roles.ts'
import { superviseNotebook } from './superviseNotebook.ts'
import { NotebookSwitch } from './NotebookSwitch.ts'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
/** Where `npm run build` writes the renderer bundle. */
export const DEFAULT_RENDERER_DIR = join(REPO, 'dist', 'renderer')

/** Where `loom serve` listens when no port is asked for, or the next free one of STABLE_PORT_TRIES. */
export const STABLE_PORT = 4737
const STABLE_PORT_TRIES = 10

export interface ServeOptions extends HostOptions {
  /** The UI's port; 0: any free port. Default: STABLE_PORT (or one of the next few) where free, else any. */
  port?: number
  /** The app's own HTTP port (0: any free one); default: the notebook's `http:` setting, and none without one. */
  appPort?: number
  /** The renderer bundle (default: LOOM_RENDERER_DIR, else dist/renderer/, built on first use). */
  rendererDir?: string
  spawn?: SpawnEngine
  /** Lines for the person running it (what was built, crashes and restarts). */
  say?: (line: string) => void
  events?: SupervisorEvents
  /** `--share`: guests get a listener of their own (see engine/share/startShare.ts), each role its own token. */
  share?: ShareOptions
  /**
   * false: answer as soon as the page can be served, while the engine process
   * still starts (`ready` says when it has; requests wait for it meanwhile).
   * The page then loads while the engine opens the log. Default true.
   */
  waitForEngine?: boolean
}

export interface Serving {
  /** The owner's page: `http://127.0.0.1:PORT/?token=…` (the engine lets no connection in without the token). */
  url: string
  /** The owner's token, new for each serve. */
  token: string
  port: number
  /** The engine of the notebook open now (the owner may open another from the window). */
  readonly supervisor: EngineSupervisor
  /** Where the app's own HTTP answers (with /sys), when it has a port. */
  app?: { url: string }
  /** Resolves once the engine process has opened the notebook; rejects (EngineStartError) if it cannot. */
  ready: Promise<void>
  /** With `share`: the invite links, the shared document and the sync server. */
  share?: Sharing
  close(): Promise<void>
}

export async function serve(options: ServeOptions): Promise<Serving> {
  const say = options.say ?? (() => {})
  const notebook = resolve(options.notebook)
  if (!existsSync(notebook)) throw Object.assign(new Error(`cannot read ${options.notebook}: no such file`), { code: 'ENOENT', path: options.notebook })
  const rendererDir = resolve(options.rendererDir ?? process.env.LOOM_RENDERER_DIR ?? DEFAULT_RENDERER_DIR)
  const sessionOptions = { notebook, db: options.db, branch: options.branch, timeLimitMs: options.timeLimitMs, env: options.env, appPort: options.appPort, spawn: options.spawn }
  const session = await superviseNotebook(sessionOptions, options.events)
  const { supervisor, app } = session
  // The owner may open another notebook from the window (not while sharing: the shared document is this notebook's).
  const notebooks = new NotebookSwitch(session, sessionOptions, options.events, {
    ...(options.share ? { refuse: 'a shared session keeps its notebook: to open another, stop sharing (run loom serve without --share)' } : {}),
    switched: (path) => say(`opened ${path} (the notebook before it stopped; its log is closed)`),
  })
  const ready = supervisor.start()
  // Whoever does not wait for it still learns of a failed start through `ready`; it must not go unhandled meanwhile.
  ready.catch(() => {})
  try {
    await Promise.all([options.waitForEngine === false && !options.share ? null : ready, rendererDir === DEFAULT_RENDERER_DIR ? ensureBuilt(rendererDir, say) : null])
  } catch (err) {
    await session.stop()
    throw err
  }

  let port = 0
  let share: Sharing | undefined
  // Like Jupyter's: any process on this machine can reach 127.0.0.1, so the owner's page proves itself with a token too.
  const { owner } = newTokens()
  const origins = () => [`http://127.0.0.1:${port}`, `http://localhost:${port}`]
  const server = createServer((req, res) => void answer(req, res))
  // Strangers (no token shown yet) are timed and counted on this listener as on the guests' one.
  const door = new Admission()
  door.watch(server)
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const headers = securityHeaders(port, share?.connectSources ?? [])
    // A name other than our own (DNS rebinding: evil.example resolving to 127.0.0.1) gets nothing.
    const host = req.headers.host ?? ''
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      res.writeHead(421, { ...headers, 'content-type': 'text/plain; charset=utf-8' })
      return void res.end(`this server answers only to http://127.0.0.1:${port}/\n`)
    }
    if ((req.url ?? '').split('?')[0] === ENGINE_PATH) {
      res.writeHead(426, { ...headers, 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' })
      return void res.end(`${ENGINE_PATH} is the engine's WebSocket; connect with ws://127.0.0.1:${port}${ENGINE_PATH}\n`)
    }
    try {
      await serveRendererFile(req, res, rendererDir, headers)
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { ...headers, 'content-type': 'text/plain; charset=utf-8' })
      res.end(`could not read the file: ${(err as Error).message}\n`)
    }
  }
  server.on('clientError', (_err, socket) => socket.destroy())
  try {
    // No port asked for: the same one each time where it is free, so the browser keeps what it cached and
    // compiled, and what this page remembers (pane sizes), from one start to the next; then any free one.
    const ports = options.port === undefined ? [...Array.from({ length: STABLE_PORT_TRIES }, (_, i) => STABLE_PORT + i), 0] : [options.port]
    for (const [i, candidate] of ports.entries()) {
      try {
        await listen(server, candidate)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i === ports.length - 1) throw err
      }
    }
  } catch (err) {
    await session.stop()
    throw Object.assign(err as Error, { port: options.port })
  }
  port = (server.address() as { port: number }).port
  try {
    // Yjs and the sync server load only when sharing.
    share = options.share ? await (await import('../share/startShare.ts')).startShare(notebooks, notebook, rendererDir, { say, ...options.share }, owner) : undefined
  } catch (err) {
    server.close()
    await session.stop()
    throw err
  }
  // The owner's page says hello with the owner's token through the same guard as guests; shared, it finds
  // the shared document on its own listener (guests reach it on theirs).
  const socket = attachEngineSocket(server, share ? share.guard : guardEndpoint(notebooks, { owner }), origins, share ? [SYNC_PATH + '/'] : [], door)
  const stopSync = share?.server?.listen(server, door)
  return {
    url: `http://127.0.0.1:${port}/?token=${owner}`,
    token: owner,
    port,
    get supervisor() {
      return notebooks.current.supervisor
    },
    ready,
    ...(app ? { app: { url: app.url } } : {}),
    ...(share ? { share } : {}),
    async close() {
      stopSync?.()
      await share?.close()
      socket.close()
      const closed = new Promise<void>((ok) => server.close(() => ok()))
      server.closeAllConnections()
      await Promise.all([closed, notebooks.stop()])
    },
  }
}

function listen(server: ReturnType<typeof createServer>, port: number): Promise<void> {
  return new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail)
      ok()
    })
  })
}

/** Builds the renderer bundle if it is missing or older than its sources; if that fails the page says what to run. */
async function ensureBuilt(dir: string, say: (line: string) => void): Promise<void> {
  const stale = bundleStale(dir, REPO, ['index.html'])
  if (stale === null) return
  say(`building the UI (dist/renderer/)${stale === 'missing' ? ' for the first time' : ': its sources changed'}…`)
  try {
    // A path esbuild can follow: the bundled CLI (dist/engine/cli.js) carries the build script as a chunk.
    const { buildRenderer } = await import('../../scripts/build-renderer.ts')
    await buildRenderer(dir)
  } catch (err) {
    say(`the UI could not be built: ${(err as Error).message}; run npm run build to see why`)
  }
}
