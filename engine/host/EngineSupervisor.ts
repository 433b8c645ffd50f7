// Keeps an engine process alive for its UIs. Relays each connection's
// messages to the process and back; if the process dies, every UI is told
// (`engineCrashed`), requests it had not answered are answered with an
// error, and a new process is started on the same log — the committed
// events are on disk — with the notebook as the UIs last had it (edits not
// yet saved are in no file), after which the same connections carry on.
import type { Message, Notice, Transport } from '../protocol/messages.ts'
import type { HostOptions } from './EngineHost.ts'
import { MAX_NOTEBOOK, readFromEngine, type EngineProcess, type FromEngine, type SpawnEngine, type ToEngine } from './engineLink.ts'
import { checkRequest, refusalOf } from '../protocol/validate.ts'

export interface SupervisorEvents {
  /** A new engine process is running (after a start or a restart). */
  started?(pid: number | undefined, restartedBecause: string | null): void
  crashed?(reason: string): void
  /** The process kept crashing; no more restarts. */
  gaveUp?(reason: string): void
  /** The engine process sent something that is not a message of the link (a broken sandbox?): ignored. */
  garbled?(what: string): void
}

/** More crashes than this within CRASH_WINDOW_MS: stop restarting (something in the notebook or log kills it every time). */
const MAX_CRASHES = 5
const CRASH_WINDOW_MS = 60_000
const STOP_GRACE_MS = 5_000

/** The engine process could not open the notebook or its log (the message says why): bad input, exit 2. */
export class EngineStartError extends Error {}

interface Connection {
  transport: Transport
  /** Requests sent to the engine and not yet answered. */
  pending: Set<number>
}

export class EngineSupervisor {
  private process: EngineProcess | null = null
  private ready = false
  private stopping = false
  private gaveUp: string | null = null
  private readonly conns = new Map<number, Connection>()
  private nextConn = 1
  /** Messages for the engine while it starts. */
  private backlog: ToEngine[] = []
  private crashes: number[] = []
  private firstStart: { resolve: () => void; reject: (err: Error) => void } | null = null
  /** The notebook's text as the engine last told its UIs (unsaved edits included); null until it changed. */
  private notebookText: string | null = null

  constructor(private readonly spawn: SpawnEngine, private readonly options: HostOptions, private readonly events: SupervisorEvents = {}) {}

  get pid(): number | undefined {
    return this.process?.pid
  }

  /** Starts the engine process; resolves once it has opened the notebook, rejects with why it could not. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstStart = { resolve, reject }
      this.launch(null)
    })
  }

  private launch(restartedBecause: string | null): void {
    this.ready = false
    const child = this.spawn(this.options)
    this.process = child
    child.onMessage((raw) => {
      const m = readFromEngine(raw)
      if (m) this.fromEngine(child, m, restartedBecause)
      else this.events.garbled?.(`the engine process sent a message that is not of the link's shape; it was ignored`)
    })
    child.onExit((reason) => this.exited(child, reason))
    // A restart runs what the people had typed, not the file: their edits not yet saved are not thrown away.
    const text = restartedBecause && this.notebookText !== null ? { text: this.notebookText } : {}
    child.send({ start: { ...this.options, ...(restartedBecause ? { restarted: restartedBecause } : {}), ...text } })
  }

  private fromEngine(child: EngineProcess, m: FromEngine, restartedBecause: string | null): void {
    if (child !== this.process) return
    if ('ready' in m) {
      this.ready = true
      for (const conn of this.conns.keys()) child.send({ conn, open: true })
      for (const b of this.backlog.splice(0)) child.send(b)
      this.firstStart?.resolve()
      this.firstStart = null
      this.events.started?.(child.pid, restartedBecause)
    } else if ('fatal' in m) {
      const first = this.firstStart
      this.firstStart = null
      if (first) {
        this.stopping = true
        first.reject(new EngineStartError(m.fatal))
      } else this.giveUp(`the engine could not open the notebook again: ${m.fatal}`)
    } else {
      const c = this.conns.get(m.conn)
      if (!c) return
      if (m.message.kind === 'response') c.pending.delete(m.message.id)
      else if (m.message.kind === 'notice') this.remember(m.message.notice)
      send(c.transport, m.message)
    }
  }

  /** Keeps the notebook's text from a notice that carries it (checked: the engine process may have been broken into). */
  private remember(notice: Notice): void {
    if (notice.type !== 'notebook') return
    const text: unknown = (notice.notebook as { text?: unknown } | undefined)?.text
    if (typeof text === 'string' && text.length <= MAX_NOTEBOOK) this.notebookText = text
  }

  private exited(child: EngineProcess, how: string): void {
    if (child !== this.process) return
    this.process = null
    this.ready = false
    if (this.stopping || this.gaveUp) return
    const reason = `the engine process stopped (${how})`
    if (this.firstStart) {
      // It never got as far as opening the notebook: a restart would fail the same way.
      this.stopping = true
      this.firstStart.reject(new EngineStartError(`${reason} while opening the notebook`))
      this.firstStart = null
      return
    }
    this.events.crashed?.(reason)
    const now = Date.now()
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS)
    this.crashes.push(now)
    if (this.crashes.length > MAX_CRASHES) {
      this.giveUp(`${reason}, ${this.crashes.length} times within a minute; Loom stopped restarting it (see the messages where loom serve runs)`)
      return
    }
    this.tellEveryone(reason, `${reason} before it answered; it is being restarted on the same log — try again`)
    this.launch(reason)
  }

  private tellEveryone(reason: string, unanswered: string): void {
    for (const c of this.conns.values()) {
      for (const id of c.pending) send(c.transport, { kind: 'response', id, ok: false, error: { code: 'stopped', message: unanswered } })
      c.pending.clear()
      send(c.transport, { kind: 'notice', notice: { type: 'engineCrashed', reason } satisfies Notice })
    }
  }

  private giveUp(reason: string): void {
    this.gaveUp = reason
    this.backlog = []
    this.events.gaveUp?.(reason)
    this.tellEveryone(reason, reason)
  }

  /** Relays one UI's connection to the engine until it closes; returns a function that disconnects it. */
  connect(transport: Transport): () => void {
    const conn = this.nextConn++
    const c: Connection = { transport, pending: new Set() }
    this.conns.set(conn, c)
    this.toEngine({ conn, open: true }, true)
    // Every transport comes through here (the WebSocket, Electron IPC, the share guard): nothing unchecked reaches the engine process.
    const stop = transport.onMessage((message) => {
      const checked = checkRequest(message)
      if (!checked.ok) return send(transport, refusalOf(checked))
      const { id } = checked.request
      if (this.gaveUp) return send(transport, { kind: 'response', id, ok: false, error: { code: 'stopped', message: this.gaveUp } })
      c.pending.add(id)
      this.toEngine({ conn, message: { kind: 'request', ...checked.request } })
    })
    let open = true
    const disconnect = () => {
      if (!open) return
      open = false
      stop()
      this.conns.delete(conn)
      this.toEngine({ conn, close: true })
    }
    transport.onClose(disconnect)
    return disconnect
  }

  /** Sends now, or keeps it for when the engine is ready (opens are resent then for every connection anyway). */
  private toEngine(m: ToEngine, isOpen = false): void {
    if (this.ready && this.process) this.process.send(m)
    else if (!isOpen) this.backlog.push(m)
  }

  /** Stops the engine process: it pauses the app, makes everything durable and closes the log. */
  async stop(): Promise<void> {
    this.stopping = true
    const child = this.process
    if (!child) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill(), STOP_GRACE_MS)
      child.onExit(() => {
        clearTimeout(timer)
        resolve()
      })
      child.send({ stop: true })
    })
    for (const c of this.conns.values()) c.transport.close()
    this.conns.clear()
  }
}

function send(transport: Transport, message: Message): void {
  try {
    transport.send(message)
  } catch {
    // That UI has gone; its close handler tidies up.
  }
}
