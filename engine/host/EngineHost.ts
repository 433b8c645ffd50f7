// The engine host: one notebook with its durable session, answering every
// protocol request from any number of connected UIs and telling all of them
// what happens (status, events, tty, attempts, test failures). It runs in
// the engine process (see engineProcess.ts) or, for tests, in the caller's.
import { withDurations } from './profileRequests.ts'
import { resolve } from 'node:path'
import { Engine } from '../runtime/engine.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'
import { serializeNotebook } from '../runtime/notebook.ts'
import { warmCompiler, type KeptCell } from '../runtime/compile.ts'
import { HostNotebook } from './HostNotebook.ts'
import { LogDamageError } from '../replay/logErrors.ts'
import { defaultDbPath } from '../replay/dbPath.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import type { HostLogs } from './hostLogs.ts'
import { seek } from '../replay/seek.ts'
import { PROTOCOL_VERSION } from '../protocol/messages.ts'
import type { BranchView, NotebookView, Op, Result, StatusView, Transport } from '../protocol/messages.ts'
import { Notices, type Client } from './Notices.ts'
import { errorOf, errorsOf, Refusal } from './problems.ts'
import { LoomFailure, loomError } from '../protocol/loomError.ts'
import { checkRequest } from '../protocol/validate.ts'
import { stateBindings, withCellAdded, withCellDeleted, withCellMoved, withCellSource } from './notebookCells.ts'
import { evaluateReadOnly } from './evaluate.ts'
import { confinement } from './confinement.ts'
import type { HostAccess } from './HostAccess.ts'
import { announce } from './branchRequests.ts'
import { DebuggerRequests } from './DebuggerRequests.ts'

export interface HostOptions {
  notebook: string
  /** The log (default: NAME.loom.db beside the notebook). */
  db?: string
  /** The branch to run (default: the live one). */
  branch?: string
  /** Set when the engine process was restarted after a crash: why. Shown in the status. */
  restarted?: string
  timeLimitMs?: number
  /** The notebook's cells compiled by whoever started the engine process (sendCompiledCells.ts): kept in the log, not compiled again. */
  compiled?: KeptCell[]
  /** Where the supervisor serves the app's own HTTP (appPort.ts), shown in the window. */
  appUrl?: string
}

const MAX_PAGE = 1000
const MAX_TTY_INPUT = 1 << 20
/** When the compiler starts if no cell needed it while the notebook opened. */
const WARM_COMPILER_AFTER_MS = 2000

export class EngineHost {
  /** The notebook's text, cells and problems; its edits live-code the app, and only its save writes the file. */
  private readonly notebook: HostNotebook
  private log: HistoryLog | null = null
  /** The live branch's history is damaged: the engine does not run on it (the message says how to continue). */
  private damaged: LogDamageError | null = null
  private engine: Engine | null = null
  private running: Promise<void> | null = null
  /** Edits, saves and steps run one at a time, in arrival order. */
  private turn: Promise<unknown> = Promise.resolve()
  private readonly notices = new Notices(() => this.status())
  private closed = false
  private lastJob = 0
  /** Long requests (verify, rerun, explore) under way: closing waits for them to stop. */
  private readonly jobs = new Set<Promise<unknown>>()
  /** What the request groups in their own modules may use of the host. */
  private readonly access: HostAccess
  private readonly debugger: DebuggerRequests

  /**
   * `logs`: where the log is (hostLogs.ts). `saveNotebook`: who writes the notebook, when not this
   * process (a confined engine process writes no file: its supervisor does, and only that notebook).
   */
  private constructor(private readonly options: HostOptions, private readonly logs: HostLogs, saveNotebook?: (text: string) => Promise<void>) {
    this.notebook = new HostNotebook(options.notebook, {
      engine: () => this.engine,
      startEngine: (text) => this.startEngine(text),
      changed: () => {
        this.broadcastNotebook()
        this.notices.statusChanged()
      },
      ...(saveNotebook ? { write: saveNotebook } : {}),
    })
    const host = this
    this.access = {
      get notebookPath() {
        return host.notebook.path
      },
      timeLimitMs: options.timeLimitMs,
      history: () => this.history(),
      moment: (branch, at) => this.moment(branch, at),
      text: () => this.notebook.text,
      openLog: (options) => this.logs.side(this.history(), options ?? {}),
      branchViews: () => this.branchViews(),
      broadcast: (notice) => this.notices.broadcast(notice),
      exclusive: (fn) => this.exclusive(fn),
      engine: () => this.runnable(),
      notebook: () => this.notebook.model,
      promote: (name) => this.promote(name),
      job: (work) => {
        this.jobs.add(work)
        const done = () => void this.jobs.delete(work)
        work.then(done, done)
        return work
      },
      nextJob: () => ++this.lastJob,
      get closing() {
        return host.closed
      },
    }
    this.debugger = new DebuggerRequests(this.access)
  }

  /**
   * Opens a notebook and its log. A notebook that does not parse or compile
   * still opens — its problems are in the notebook view, and the file is
   * never written until the user saves a text that parses. A log that is
   * not a Loom log (or a missing file) is an error.
   */
  static async open(options: HostOptions, logs?: HostLogs, saveNotebook?: (text: string) => Promise<void>): Promise<EngineHost> {
    const host = new EngineHost(options, logs ?? (await import('./localLogs.ts')).localLogs(resolve(options.db ?? defaultDbPath(options.notebook)), options.branch), saveNotebook)
    await host.load()
    // Cells kept in the log opened without the compiler; it starts for the first edit once the
    // window has had the machine to itself to load.
    setTimeout(warmCompiler, WARM_COMPILER_AFTER_MS).unref()
    return host
  }

  private async load(): Promise<void> {
    await this.notebook.read()
    if (this.notebook.model) {
      try {
        await this.startEngine(this.notebook.text)
      } catch (err) {
        // A damaged branch: the history stays readable (and can be forked), the engine does not extend it.
        if (!(err instanceof LoomFailure || err instanceof LogDamageError)) throw err
        if (err instanceof LogDamageError) this.damaged = err
        this.notebook.problems = errorsOf(err, this.notebook.path)
      }
    } else {
      // History stays readable while the notebook is broken (when there is one).
      this.log = this.logs.open(false)
    }
  }

  private async startEngine(text: string): Promise<void> {
    this.log ??= this.logs.open(true)!
    const log = this.log
    for (const [key, cell] of this.options.compiled ?? []) if (!log.keptCells?.get(key)) log.keptCells?.put(key, cell)
    const engine = await Engine.fromSource(text, {
      path: this.notebook.path, log, branch: log.branch, resume: this.logs.resume(log), checkTests: true,
      ...(this.options.timeLimitMs ? { timeLimitMs: this.options.timeLimitMs } : {}),
    })
    // A new event moves the head, which the status shows too (an edit or agent commit while the app is stopped).
    engine.on('event', (e) => this.notices.event(e))
    engine.on('tty', (t) => this.notices.tty(t))
    engine.on('attempt', (a) => this.notices.attempt(a))
    engine.on('test', (f) => this.notices.test(f))
    engine.on('status', () => this.notices.statusChanged())
    this.engine = engine
  }

  // ---- connections ------------------------------------------------------

  /** Serves one UI over `transport` until it closes; returns a function that disconnects it. */
  connect(transport: Transport): () => void {
    const client: Client = {
      send: (m) => {
        try {
          transport.send(m)
        } catch {
          this.notices.clients.delete(client) // its transport is gone; the others carry on
        }
      },
    }
    this.notices.clients.add(client)
    const stop = transport.onMessage((m) => void this.receive(client, m))
    const disconnect = () => {
      stop()
      this.notices.clients.delete(client)
    }
    transport.onClose(disconnect)
    // After a restart, tell the UI at once where things stand.
    if (this.options.restarted) {
      client.send({ kind: 'notice', notice: { type: 'status', status: this.status() } })
      client.send({ kind: 'notice', notice: { type: 'notebook', notebook: this.view() } })
    }
    return disconnect
  }

  /** A request to the app's own port (relayed by the supervisor): the app answers, or 503 while it cannot. */
  request(req: HttpRequest, deadlineMs?: number): Promise<HttpResponse> {
    const why = this.closed ? 'the app is shutting down' : this.engine ? null : 'the app is not running: its notebook or its history has a problem (see the Loom window)'
    if (why) return Promise.resolve({ status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${why}\n` })
    return this.engine!.request(req, deadlineMs)
  }

  /** Answers one message. Never throws: whatever goes wrong becomes an error response. */
  private async receive(client: Client, message: unknown): Promise<void> {
    const checked = checkRequest(message)
    if (!checked.ok) return client.send({ kind: 'response', id: checked.id, ok: false, error: checked.problem })
    const { id, op, params } = checked.request
    try {
      const result = await this.answer(op, params)
      client.send({ kind: 'response', id, ok: true, result })
    } catch (err) {
      client.send({ kind: 'response', id, ok: false, error: errorOf(err, this.notebook.path) })
    }
  }

  private answer(op: Op, p: Record<string, unknown>): Promise<unknown> | unknown {
    if (this.closed) throw new Refusal('the engine is shutting down', undefined, 'stopped')
    switch (op) {
      case 'hello': {
        const confined = confinement()
        return { protocol: PROTOCOL_VERSION, notebook: this.view(), status: this.status(), ...(confined ? { confined } : {}), ...(this.options.appUrl ? { app: { url: this.options.appUrl } } : {}) } satisfies Result<'hello'>
      }
      case 'notebook':
        return this.view()
      case 'status':
        return this.status()
      case 'save':
        return this.exclusive(() => this.notebook.save(p.text as string | undefined, p.path as string | undefined))
      case 'editNotebook':
        return this.exclusive(() => this.notebook.edit(() => p.text as string))
      case 'editCell':
        return this.exclusive(() => this.notebook.edit(() => withCellSource(this.notebook.editable(), p.cell as string, p.source as string)))
      case 'addCell':
        return this.exclusive(async () => {
          let cell = ''
          const r = await this.notebook.edit(() => {
            const added = withCellAdded(this.notebook.editable(), p.after as string | null, p.kind as 'code' | 'prose', p.source as string)
            cell = added.cell
            return added.text
          })
          return { ...r, cell }
        })
      case 'deleteCell':
        return this.exclusive(() => this.notebook.edit(() => withCellDeleted(this.notebook.editable(), p.cell as string)))
      case 'moveCell':
        return this.exclusive(() => this.notebook.edit(() => withCellMoved(this.notebook.editable(), p.cell as string, p.to as number).text))
      case 'run':
        return this.exclusive(() => this.run())
      case 'pause':
        return this.pause()
      case 'step':
        return this.exclusive(() => this.step())
      case 'log':
        return this.page(p.branch as string | undefined, p.from as number | undefined, p.limit as number | undefined)
      case 'state': {
        const { branch, at } = this.moment(p.branch as string | undefined, p.at as number | undefined)
        return { branch, at, values: seek(this.history(), { branch, seq: at }) } satisfies Result<'state'>
      }
      case 'attempts': {
        const limit = Math.min((p.limit as number | undefined) ?? 100, MAX_PAGE)
        return this.engine ? this.engine.attempts(limit) : (this.log?.attempts(limit) ?? [])
      }
      case 'branches':
        return this.branchViews()
      case 'ttyInput': {
        const text = p.text as string
        if (text.length > MAX_TTY_INPUT) throw new Refusal(`tty input of ${text.length} characters is too much at once; send at most ${MAX_TTY_INPUT}`, undefined, 'badInput')
        this.runnable().input(text)
        return {}
      }
      case 'evaluate': {
        const { branch, at } = this.moment(p.branch as string | undefined, p.at as number | undefined)
        const history = this.history()
        const state = seek(history, { branch, seq: at })
        // sys in the REPL reads the moment: its event's time, and the app's configuration.
        const moment = { time: at > 0 ? (history.event(branch, at)?.time ?? null) : null, env: this.engine?.options.env ?? {}, args: this.engine?.options.args ?? [] }
        return { value: evaluateReadOnly(p.expr as string, state, this.notebook.model ? stateBindings(this.notebook.model) : new Map(), moment) } satisfies Result<'evaluate'>
      }
      default:
        return this.debugger.answer(op, p)
    }
  }

  /**
   * Makes `name` the live branch and continues the app from its head, the
   * way a session opens a branch: its state and last code event, then the
   * running code (a code event first if the branch ran other code). If the
   * app cannot continue there, nothing changes.
   */
  private async promote(name: string): Promise<Result<'promote'>> {
    const log = this.history()
    if (!log.branchInfo(name)) throw new Refusal(`there is no branch '${name}'; the branches are ${log.branches().map((b) => b.name).join(', ')}`, { branch: name }, 'history')
    if (name !== log.branch || name !== log.live) {
      const before = { branch: log.branch, live: log.live }
      const old = this.engine
      const wasRunning = this.running !== null
      old?.pause()
      await this.running
      log.promote(name)
      log.continueOn(name)
      if (old) {
        try {
          await this.startEngine(serializeNotebook(old.notebook))
        } catch (err) {
          log.continueOn(before.branch)
          log.promote(before.live)
          this.engine = old
          if (wasRunning) this.run()
          const problem = errorOf(err, this.notebook.path)
          throw new Refusal(`the app cannot continue on branch '${name}', so it stays on '${before.branch}': ${problem.message}`, problem.where, problem.code)
        }
        if (wasRunning) this.run()
      }
      this.notices.statusChanged()
    }
    announce(this.access, name)
    return { status: this.status(), branches: this.branchViews() }
  }

  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.turn.then(fn, fn)
    this.turn = next.catch(() => {})
    return next
  }

  // ---- views ------------------------------------------------------------

  view(): NotebookView {
    return this.notebook.view()
  }

  status(): StatusView {
    const restarted = this.options.restarted ? { restarted: this.options.restarted } : {}
    const e = this.engine
    if (e) return { state: e.status, branch: this.log!.branch, head: e.head, codeHash: e.codeHash, waiting: e.waiting, ...restarted }
    return { state: 'ready', branch: this.log?.branch ?? this.options.branch ?? 'main', head: this.log?.head ?? 0, codeHash: '', waiting: this.notebook.whyNotRunning(), ...restarted }
  }

  // ---- history ----------------------------------------------------------

  private branchViews(): BranchView[] {
    const log = this.history()
    const live = log.live
    // An archived branch (deleted by a person) is kept in the log but not shown; the live one always is.
    return log.branches().filter((b) => !b.archived || b.name === live).map((b) => ({ name: b.name, head: b.head, parent: b.parent, forkedAt: b.parent === null ? null : b.forkSeq, live: b.name === live, ...(b.label ? { label: b.label } : {}) }))
  }

  private history(): HistoryLog {
    if (!this.log) throw new Refusal('there is no history yet: the notebook has not run (fix it so it parses, and it will)', undefined, 'history')
    this.log.flush()
    return this.log
  }

  private moment(branch: string | undefined, at: number | undefined): { branch: string; at: number } {
    const log = this.history()
    const name = branch ?? log.branch
    const info = log.branchInfo(name)
    if (!info) throw new Refusal(`there is no branch '${name}'; the branches are ${log.branches().map((b) => b.name).join(', ')}`, { branch: name }, 'history')
    if (at !== undefined && at > info.head) throw new Refusal(`branch '${name}' has events 1..${info.head}; there is no event ${at}`, { branch: name, event: at }, 'history')
    return { branch: info.name, at: at ?? info.head }
  }

  private page(branch: string | undefined, from: number | undefined, limit: number | undefined): Result<'log'> {
    const { branch: name, at: head } = this.moment(branch, undefined)
    const first = Math.max(1, from ?? 1)
    const count = Math.min(limit ?? MAX_PAGE, MAX_PAGE)
    return { branch: name, head, events: first > head || count === 0 ? [] : withDurations(this.log!, name, this.log!.eventsOf(name, first, Math.min(count, head - first + 1))) }
  }

  // ---- running ----------------------------------------------------------

  private runnable(): Engine {
    if (this.engine) return this.engine
    if (this.damaged) throw new Refusal(this.damaged.message, this.damaged.where, 'history')
    throw this.notebook.notRunnable()
  }

  private run(): StatusView {
    const engine = this.runnable()
    if (!this.running) {
      this.running = engine.run().then(
        () => {},
        (err: Error) => {
          // The loop stopped on an error (the log could not write): say so, keep serving the history.
          this.notebook.problems = [loomError('stopped', `the app stopped: ${err.message}`)]
          this.broadcastNotebook()
        },
      ).finally(() => {
        this.running = null
        this.notices.statusChanged()
      })
    }
    return this.status()
  }

  private async pause(): Promise<StatusView> {
    this.engine?.pause()
    await this.running
    return this.status()
  }

  private step(): Result<'step'> {
    const engine = this.runnable()
    if (this.running) throw new Refusal('the app is running; pause it before stepping')
    const event = engine.step()
    return { event, status: this.status() }
  }

  private broadcastNotebook(): void {
    this.notices.broadcast({ type: 'notebook', notebook: this.view() })
  }

  /** Stops the app after its batch in progress, makes everything durable and closes the log. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.engine?.pause()
    await this.running
    await this.turn
    await Promise.allSettled([...this.jobs])
    this.notices.flushNow()
    this.log?.close()
    this.notices.clients.clear()
  }
}
