// The engine host: one notebook with its durable session, answering every
// protocol request from any number of connected UIs and telling all of them
// what happens (status, events, tty, attempts, test failures). It runs in
// the engine process (see engineProcess.ts) or, for tests, in the caller's.
import type { EffectRequest } from '../runtime/effects/request.ts'
import { resolve } from 'node:path'
import { Engine } from '../runtime/engine.ts'
import { AppRun } from './AppRun.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'
import { serializeNotebook } from '../runtime/notebook.ts'
import { warmCompiler, type KeptCell } from '../runtime/transformCell.ts'
import { HostNotebook } from './HostNotebook.ts'
import { LogDamageError } from '../replay/logErrors.ts'
import { defaultDbPath } from '../replay/dbPath.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import type { HostLogs } from './hostLogs.ts'
import { PROTOCOL_VERSION } from '../protocol/messages.ts'
import type { Notice, NotebookView, Result, StatusView, Transport } from '../protocol/messages.ts'
import { Notices } from './Notices.ts'
import { errorOf, errorsOf, Refusal } from './problems.ts'
import { LoomFailure, loomError } from '../protocol/loomError.ts'
import { confinement } from './confinement.ts'
import type { HostAccess } from './HostAccess.ts'
import { announce } from './branchRequests.ts'
import type { RequestTable } from './requestTable.ts'
import { connectClient, type ClientHost } from './connectClient.ts'
import { notebookRequests } from './notebookRequests.ts'
import { historyRequests, momentOf, branchViewsOf } from './historyRequests.ts'
import { debuggerRequests } from './debuggerRequests.ts'
import { questionRequests } from './questionRequests.ts'
import type { Evaluator } from './evaluator.ts'
import { spawnedEvaluator } from './evaluatorSpawn.ts'
import { unsavedCode } from './unsavedCode.ts'
import type { EventRecord } from '../runtime/event.ts'

export interface HostOptions {
  notebook: string
  /** The log (default: NAME.loom.db beside the notebook). */
  db?: string
  /** The branch to run (default: the live one). */
  branch?: string
  /** Set when the engine process was restarted after a crash: why. Shown in the status. */
  restarted?: string
  /** Set with `restarted`: the notebook as the UIs had it (edits not yet saved), which the app runs instead of the file. */
  text?: string
  timeLimitMs?: number
  /** What sys.env shows (`loom serve --env K=V`); none by default. */
  env?: Record<string, string>
  /** The notebook's cells compiled by whoever started the engine process (sendCompiledCells.ts): kept in the log, not compiled again. */
  compiled?: KeptCell[]
  /** Where the supervisor serves the app's own HTTP (appPort.ts), shown in the window. */
  appUrl?: string
  /**
   * Set by a supervisor that relays an evaluator process to the engine process's fd 5
   * (evaluatorSpawn.ts): its heap limit in MB. Unset, the host starts its own.
   */
  evaluatorMb?: number
}

const MAX_TTY_INPUT = 1 << 20
/** When the compiler starts if no cell needed it while the notebook opened. */
const WARM_COMPILER_AFTER_MS = 2000
/** Long requests that stopJob can still reach (the latest ones; older ones have ended). */
const KEPT_STOPS = 100

export class EngineHost {
  /** The notebook's text, cells and problems; its edits live-code the app, and only its save writes the file. */
  private readonly notebook: HostNotebook
  private log: HistoryLog | null = null
  /** The branch's last code event when the app started here: what it ran before this open. */
  private openedCode: EventRecord | undefined
  private readonly app = new AppRun({
    notRunnable: () => this.notebook.notRunnable(),
    stopped: (err) => {
      // Say so, and keep serving the history.
      this.notebook.problems = [loomError('stopped', `the app stopped: ${err.message}`)]
      this.broadcastNotebook()
    },
    statusChanged: () => this.notices.statusChanged(),
  })
  /** Edits, saves and steps run one at a time, in arrival order. */
  private turn: Promise<unknown> = Promise.resolve()
  private readonly notices = new Notices(() => this.status())
  private closed = false
  private lastJob = 0
  /** What stops each recent long request (stopJob). */
  private readonly stops = new Map<number, AbortController>()
  /** Long requests (verify, rerun, explore) under way: closing waits for them to stop. */
  private readonly jobs = new Set<Promise<unknown>>()
  /** What the request groups in their own modules may use of the host. */
  private readonly access: HostAccess
  /** Every request with what answers it: the groups' (notebookRequests, historyRequests, debuggerRequests) and running the app. */
  private readonly requests: RequestTable
  private readonly clientHost: ClientHost

  /**
   * `logs`: where the log is (hostLogs.ts). `saveNotebook`: who writes the notebook, when not this
   * process (a confined engine process writes no file: its supervisor does, and only that notebook).
   */
  /** Where the REPL's and the queries' expressions run: given, or started when first asked (and closed with the host). */
  private evaluator: Evaluator | null
  private ownEvaluator: (Evaluator & { end(): void }) | null = null

  private constructor(private readonly options: HostOptions, private readonly logs: HostLogs, saveNotebook?: (text: string) => Promise<void>, evaluator?: Evaluator) {
    this.evaluator = evaluator ?? null
    this.notebook = new HostNotebook(options.notebook, {
      engine: () => this.app.engine,
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
      branchViews: () => branchViewsOf(this.history()),
      broadcast: (notice) => this.notices.broadcast(notice),
      exclusive: (fn) => this.exclusive(fn),
      engine: () => this.app.runnable(),
      notebook: () => this.notebook.model,
      promote: (name) => this.promote(name),
      job: (work) => {
        this.jobs.add(work)
        const done = () => void this.jobs.delete(work)
        work.then(done, done)
        return work
      },
      nextJob: () => {
        const job = ++this.lastJob
        const stop = new AbortController()
        this.stops.set(job, stop)
        // Stopping a job that has ended does nothing: only the latest few are kept to be stopped.
        for (const old of this.stops.keys()) if (this.stops.size > KEPT_STOPS) this.stops.delete(old)
        return { job, signal: stop.signal }
      },
      stopJob: (job) => {
        if (!Number.isSafeInteger(job) || job < 1 || job > this.lastJob) throw new Refusal(`there is no job ${job}: jobs so far are 1..${this.lastJob}`)
        this.stops.get(job)?.abort('stopped')
      },
      evaluator: () => (this.evaluator ??= this.ownEvaluator = spawnedEvaluator()),
      get closing() {
        return host.closed
      },
    }
    this.requests = {
      hello: () => {
        const confined = confinement()
        return { protocol: PROTOCOL_VERSION, notebook: this.view(), status: this.status(), ...(confined ? { confined } : {}), ...(this.options.appUrl ? { app: { url: this.options.appUrl } } : {}) } satisfies Result<'hello'>
      },
      status: () => this.status(),
      run: () => this.exclusive(() => (this.app.run(), this.status())),
      pause: async () => (await this.app.pause(true), this.status()),
      step: () => this.exclusive(() => ({ event: this.app.step(), status: this.status() })),
      ttyInput: (p) => {
        if (p.text.length > MAX_TTY_INPUT) throw new Refusal(`tty input of ${p.text.length} characters is too much at once; send at most ${MAX_TTY_INPUT}`, undefined, 'badInput')
        this.app.runnable().input(p.text)
        return {}
      },
      ...notebookRequests(this.access, this.notebook),
      ...historyRequests(this.access, () => this.app.engine, () => this.log),
      ...debuggerRequests(this.access),
      ...questionRequests(this.access),
      // The window's notebook is the server's to switch (loom serve, Electron), never the engine's.
      openNotebook: () => {
        throw new Refusal('this window cannot open another notebook: only loom serve and the desktop app switch notebooks')
      },
      recentNotebooks: () => {
        throw new Refusal('this window keeps no recent notebooks: only loom serve and the desktop app do')
      },
      // What the cells may reach is allowed where the notebook's file is read for its grants: never by the engine.
      effectsToAllow: () => ({ what: null }),
      allowEffects: () => {
        throw new Refusal('this engine performs no effects it could allow: loom serve and the desktop app ask for them')
      },
    }
    this.clientHost = {
      notices: this.notices,
      requests: this.requests,
      checkOpen: () => {
        if (this.closed) throw new Refusal('the engine is shutting down', undefined, 'stopped')
      },
      notebookPath: () => this.notebook.path,
    }
  }

  /**
   * Opens a notebook and its log. A notebook that does not parse or compile
   * still opens — its problems are in the notebook view, and the file is
   * never written until the user saves a text that parses. A log that is
   * not a Loom log (or a missing file) is an error.
   */
  static async open(options: HostOptions, logs?: HostLogs, saveNotebook?: (text: string) => Promise<void>, evaluator?: Evaluator): Promise<EngineHost> {
    const host = new EngineHost(options, logs ?? (await import('./localLogs.ts')).localLogs(resolve(options.db ?? defaultDbPath(options.notebook)), options.branch), saveNotebook, evaluator)
    await host.load()
    // Cells kept in the log opened without the compiler; it starts for the first edit once the
    // window has had the machine to itself to load.
    setTimeout(warmCompiler, WARM_COMPILER_AFTER_MS).unref()
    return host
  }

  private async load(): Promise<void> {
    await this.notebook.read(this.options.text)
    if (this.notebook.model) {
      try {
        await this.startEngine(this.notebook.text)
        // Opened afresh (not restarted with the window's text): code it ran that the file lacks is offered back.
        if (!this.options.text) this.notebook.unsaved = await unsavedCode(this.log!, this.openedCode, this.app.engine!.codeHash, this.notebook.model).catch(() => null)
      } catch (err) {
        // A damaged branch: the history stays readable (and can be forked), the engine does not extend it.
        if (!(err instanceof LoomFailure || err instanceof LogDamageError)) throw err
        if (err instanceof LogDamageError) this.app.damaged = err
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
    const resume = this.logs.resume(log)
    this.openedCode = resume?.code
    const engine = await Engine.fromSource(text, {
      path: this.notebook.path, log, branch: log.branch, resume, checkTests: true,
      ...(log.effect ? { performEffect: (r: EffectRequest) => log.effect!(r) } : {}),
      ...(this.options.timeLimitMs ? { timeLimitMs: this.options.timeLimitMs } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
    })
    // A new event moves the head, which the status shows too (an edit or agent commit while the app is stopped).
    engine.on('event', (e) => this.notices.event(e))
    engine.on('tty', (t) => this.notices.tty(t))
    engine.on('attempt', (a) => this.notices.attempt(a))
    engine.on('test', (f) => this.notices.test(f))
    engine.on('status', () => this.notices.statusChanged())
    this.app.engine = engine
  }

  // ---- connections ------------------------------------------------------

  /** Serves one UI over `transport` until it closes; returns a function that disconnects it. */
  connect(transport: Transport): () => void {
    // After a restart, tell the UI at once where things stand.
    const greeting: Notice[] = this.options.restarted ? [{ type: 'status', status: this.status() }, { type: 'notebook', notebook: this.view() }] : []
    return connectClient(this.clientHost, transport, greeting)
  }

  /** A request to the app's own port (relayed by the supervisor): the app answers, or 503 while it cannot. */
  request(req: HttpRequest, deadlineMs?: number, gone?: AbortSignal): Promise<HttpResponse> {
    const why = this.closed ? 'the app is shutting down' : this.app.engine ? null : 'the app is not running: its notebook or its history has a problem (see the Loom window)'
    if (why) return Promise.resolve({ status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${why}\n` })
    return this.app.engine!.request(req, deadlineMs, gone)
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
      const old = this.app.engine
      const wasRunning = this.app.running
      await this.app.pause()
      // The app goes on from another branch's head: what it held was meant for this one.
      old?.refuseHeldRequests(`the app moved to branch '${name}'`)
      log.promote(name)
      log.continueOn(name)
      if (old) {
        try {
          await this.startEngine(serializeNotebook(old.notebook))
        } catch (err) {
          log.continueOn(before.branch)
          log.promote(before.live)
          this.app.engine = old
          if (wasRunning) this.app.run()
          const problem = errorOf(err, this.notebook.path)
          throw new Refusal(`the app cannot continue on branch '${name}', so it stays on '${before.branch}': ${problem.message}`, problem.where, problem.code)
        }
        if (wasRunning) this.app.run()
      }
      this.notices.statusChanged()
    }
    announce(this.access, name)
    return { status: this.status(), branches: branchViewsOf(log) }
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
    const e = this.app.engine
    if (e) return { state: e.status, branch: this.log!.branch, head: e.head, codeHash: e.codeHash, waiting: e.waiting, ...(e.heldRequests ? { held: e.heldRequests } : {}), ...(e.reading.length ? { reading: e.reading } : {}), ...restarted }
    return { state: 'ready', branch: this.log?.branch ?? this.options.branch ?? 'main', head: this.log?.head ?? 0, codeHash: '', waiting: this.notebook.whyNotRunning(), ...restarted }
  }

  // ---- history ----------------------------------------------------------

  private history(): HistoryLog {
    if (!this.log) throw new Refusal('there is no history yet: the notebook has not run (fix it so it parses, and it will)', undefined, 'history')
    this.log.flush()
    return this.log
  }

  private moment(branch: string | undefined, at: number | undefined): { branch: string; at: number } {
    return momentOf(this.history(), branch, at)
  }

  private broadcastNotebook(): void {
    this.notices.broadcast({ type: 'notebook', notebook: this.view() })
  }

  /** Stops the app after its batch in progress, makes everything durable and closes the log. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.app.pause()
    this.app.engine?.refuseHeldRequests('Loom is stopping')
    await this.turn
    await Promise.allSettled([...this.jobs])
    this.notices.flushNow()
    this.log?.close()
    this.ownEvaluator?.end()
    this.notices.clients.clear()
  }
}
