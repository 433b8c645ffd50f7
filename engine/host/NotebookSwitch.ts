// The window's notebook, switchable: the endpoint `loom serve` puts behind
// its guard. Every request goes to the current notebook's engine, except the
// two the host answers itself — `recentNotebooks`, and `openNotebook`, which
// stops the current engine (everything acknowledged is in its log, which it
// closes) and starts the other notebook's session in its place. A path that
// is not a notebook is refused before anything stops; a notebook whose engine
// cannot start is reported and the previous notebook is started again. Then
// every page is disconnected: it reconnects to whichever notebook runs now.
import { statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { LoomErrorCode, Message, Transport } from '../protocol/messages.ts'
import { checkRequest, refusalOf } from '../protocol/validate.ts'
import { loomError } from '../protocol/loomError.ts'
import type { EngineEndpoint } from './engineSocket.ts'
import type { SupervisorEvents } from './EngineSupervisor.ts'
import { superviseNotebook, type SessionOptions, type Supervised } from './superviseNotebook.ts'
import { readRecent, rememberNotebook } from './recentNotebooks.ts'
import { ALLOWANCE_OPS, answerAllowance } from './allowedGrants.ts'

/** The requests the host answers itself; every other goes to the engine. */
const HOST_OPS = new Set(['openNotebook', 'recentNotebooks', ...ALLOWANCE_OPS] as const)
type HostOp = typeof HOST_OPS extends Set<infer T> ? T : never
const isHostOp = (op: unknown): op is HostOp => HOST_OPS.has(op as HostOp)

/** A notebook file larger than this is not opened from the window (loom serve NB still can). */
const MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
const MAX_PATH = 4096
/** How long the page that switched has to reload before the host closes its connection anyway. */
const RELOAD_GRACE_MS = 2000

export interface SwitchOptions {
  /** Why switching is not possible in this session (a shared one), or undefined. */
  refuse?: string
  /** Told after each switch (loom serve prints it). */
  switched?: (notebook: string) => void
}

export class NotebookSwitch implements EngineEndpoint {
  private switching = false
  private readonly pages = new Set<Transport>()

  constructor(private session: Supervised, private options: SessionOptions, private readonly events: SupervisorEvents | undefined, private readonly switchOptions: SwitchOptions = {}) {
    rememberNotebook(options.notebook)
  }

  get current(): Supervised {
    return this.session
  }

  get notebook(): string {
    return this.options.notebook
  }

  connect(outer: Transport): () => void {
    this.pages.add(outer)
    const receivers = new Set<(m: Message) => void>()
    // What the engine sees of this page: everything but the host's own requests.
    const inner: Transport = {
      send: (m) => outer.send(m),
      onMessage: (fn) => {
        receivers.add(fn)
        return () => receivers.delete(fn)
      },
      onClose: (fn) => outer.onClose(fn),
      // The engine being switched away from closes its connections: the pages are closed once the switch is answered.
      close: () => this.switching || outer.close(),
    }
    const stop = outer.onMessage((message) => {
      const asked = (message as { op?: unknown } | null)?.op
      if (isHostOp(asked)) {
        const checked = checkRequest(message)
        if (!checked.ok) return reply(outer, refusalOf(checked))
        const { id, op, params } = checked.request
        void this.answer(op as HostOp, params).then(
          (result) => reply(outer, { kind: 'response', id, ok: true, result }),
          (err: Error & { code?: LoomErrorCode }) => reply(outer, { kind: 'response', id, ok: false, error: loomError(err.code ?? 'refused', err.message) }),
        ).then(() => this.afterSwitch(outer))
        return
      }
      for (const fn of receivers) fn(message as Message)
    })
    const disconnect = this.session.supervisor.connect(inner)
    outer.onClose(() => this.pages.delete(outer))
    return () => {
      stop()
      disconnect()
      this.pages.delete(outer)
    }
  }

  private async answer(op: HostOp, params: Record<string, unknown>): Promise<unknown> {
    if (op === 'recentNotebooks') return { current: this.options.notebook, recent: readRecent() }
    // Here, not in the engine process: a broken-out engine cannot allow itself anything.
    if (op === 'effectsToAllow' || op === 'allowEffects') return answerAllowance(op, this.options.notebook)
    return { path: await this.open(params.path as string) }
  }

  /** Set by a switch that happened: the pages are disconnected once it has been answered. */
  private disconnectPages = false

  /**
   * After a switch, every page is disconnected (each reconnects to the notebook open now). The page that
   * asked reloads when it has the answer: it goes first, by itself, and the others are closed then.
   */
  private afterSwitch(asker: Transport): void {
    if (!this.disconnectPages) return
    this.disconnectPages = false
    const pages = [...this.pages]
    this.pages.clear()
    const closeAll = () => {
      clearTimeout(timer)
      for (const page of pages) {
        try {
          page.close()
        } catch {
          // gone already
        }
      }
    }
    const timer = setTimeout(closeAll, RELOAD_GRACE_MS)
    timer.unref?.()
    asker.onClose(closeAll)
  }

  /** Opens `path` in place of the current notebook; answers its full path. */
  async open(path: string): Promise<string> {
    if (this.switchOptions.refuse) throw refusal(this.switchOptions.refuse)
    if (this.switching) throw refusal('another notebook is being opened; wait for it')
    const notebook = notebookAt(path, this.options.notebook)
    if (notebook === this.options.notebook) return notebook
    this.switching = true
    try {
      const before = this.options
      const next: SessionOptions = { notebook, ...(before.timeLimitMs !== undefined ? { timeLimitMs: before.timeLimitMs } : {}), ...(before.spawn ? { spawn: before.spawn } : {}) }
      // The old engine first: the other notebook may want the same app port.
      await this.session.stop()
      this.disconnectPages = true
      try {
        this.session = await startSession(next, this.events)
        this.options = next
      } catch (err) {
        this.session = await startSession(before, this.events)
        throw refusal(`cannot open ${notebook}: ${(err as Error).message}; ${shortName(before.notebook)} is open again`)
      }
      rememberNotebook(notebook)
      this.switchOptions.switched?.(notebook)
      return notebook
    } finally {
      this.switching = false
    }
  }

  stop(): Promise<void> {
    return this.session.stop()
  }
}

async function startSession(options: SessionOptions, events: SupervisorEvents | undefined): Promise<Supervised> {
  const session = await superviseNotebook(options, events)
  try {
    await session.supervisor.start()
    return session
  } catch (err) {
    await session.stop()
    throw err
  }
}

/**
 * The notebook a path names: absolute, or relative to the current notebook's
 * folder; a markdown file (.md) that is there and not huge. Anything else is
 * refused saying why, before the current notebook is touched.
 */
export function notebookAt(path: string, current: string): string {
  if (typeof path !== 'string' || path.trim() === '') throw refusal('give the path of a notebook (a .loom.md file) to open')
  if (path.length > MAX_PATH) throw refusal(`that path is ${path.length.toLocaleString('en-US')} characters long; no file's path is longer than ${MAX_PATH}`)
  if (path.includes('\0')) throw refusal('that path holds a NUL character; no file is named so')
  const full = isAbsolute(path) ? resolve(path) : resolve(current, '..', path)
  const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path
  if (!/\.md$/i.test(full)) throw refusal(`${shown} is not a notebook: Loom opens markdown notebooks (NAME.loom.md)`, 'badInput')
  let stat
  try {
    stat = statSync(full)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw refusal(code === 'ENOENT' ? `there is no ${full}` : `cannot read ${full}: ${(err as Error).message}`, 'badInput')
  }
  if (!stat.isFile()) throw refusal(`${full} is not a file`, 'badInput')
  if (stat.size > MAX_NOTEBOOK_BYTES) throw refusal(`${full} is ${Math.round(stat.size / 1024 / 1024)} MB; a notebook that large is not opened from the window (loom serve it)`, 'badInput')
  return full
}

function shortName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path
}

function refusal(message: string, code: LoomErrorCode = 'refused'): Error {
  return Object.assign(new Error(message), { code })
}

function reply(transport: Transport, message: Message): void {
  try {
    transport.send(message)
  } catch {
    // that page has gone
  }
}
