// The engine host: one notebook with its durable session, answering every
// protocol request from any number of connected UIs and telling all of them
// what happens (status, events, tty, attempts, test failures). It runs in
// the engine process (see engineProcess.ts) or, for tests, in the caller's.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { Engine } from '../runtime/engine.ts'
import { decodeNotebook, parseNotebook, serializeNotebook, NotebookError, type Notebook } from '../runtime/notebook.ts'
import { warmCompiler, type KeptCell } from '../runtime/compile.ts'
import { liveCode } from '../runtime/liveCode.ts'
import { LogDamageError } from '../replay/logErrors.ts'
import { defaultDbPath } from '../replay/dbPath.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import type { HostLogs } from './hostLogs.ts'
import { writeAtomically } from './saveNotebook.ts'
import { seek } from '../replay/seek.ts'
import { PROTOCOL_VERSION } from '../protocol/messages.ts'
import type { Attempt, BranchView, EditResult, EventRecord, Message, NotebookView, Op, Result, StatusView, TestFailure, Transport } from '../protocol/messages.ts'
import { errorOf, errorsOf, Refusal } from './problems.ts'
import { LoomFailure, loomError, type LoomError } from '../protocol/loomError.ts'
import { checkRequest } from '../protocol/validate.ts'
import { cellViews, stateBindings, withCellAdded, withCellDeleted, withCellMoved, withCellSource } from './notebookCells.ts'
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
}

/** How often queued notices go out: often enough to feel live, seldom enough not to flood a UI. */
const NOTICE_MS = 20
const MAX_EVENTS_PER_NOTICE = 1000
const MAX_ATTEMPT_NOTICES = 50
const MAX_PAGE = 1000
const MAX_TTY_INPUT = 1 << 20
/** When the compiler starts if no cell needed it while the notebook opened. */
const WARM_COMPILER_AFTER_MS = 2000

interface Client {
  send(message: Message): void
}

export class EngineHost {
  private path: string
  /** The notebook as the UI has it: what Save writes. It may hold a broken edit the engine refused. */
  private text = ''
  private model: Notebook | null = null
  private parseError: LoomError | null = null
  private problems: LoomError[] = []
  private log: HistoryLog | null = null
  /** The live branch's history is damaged: the engine does not run on it (the message says how to continue). */
  private damaged: LogDamageError | null = null
  private engine: Engine | null = null
  private running: Promise<void> | null = null
  private readonly clients = new Set<Client>()
  /** Edits, saves and steps run one at a time, in arrival order. */
  private turn: Promise<unknown> = Promise.resolve()
  private outbox = { events: [] as EventRecord[], tty: '', attempts: [] as Attempt[], failures: [] as TestFailure[], status: false }
  private timer: NodeJS.Timeout | null = null
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
  private constructor(private readonly options: HostOptions, private readonly logs: HostLogs, private readonly saveNotebook?: (text: string) => Promise<void>) {
    this.path = resolve(options.notebook)
    const host = this
    this.access = {
      get notebookPath() {
        return host.path
      },
      timeLimitMs: options.timeLimitMs,
      history: () => this.history(),
      moment: (branch, at) => this.moment(branch, at),
      text: () => this.text,
      openLog: (options) => this.logs.side(this.history(), options ?? {}),
      branchViews: () => this.branchViews(),
      broadcast: (notice) => this.broadcast(notice),
      exclusive: (fn) => this.exclusive(fn),
      engine: () => this.runnable(),
      notebook: () => this.model,
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
    const bytes = await readFile(this.path)
    // Shown as well as it decodes; never written back while it is not UTF-8.
    const text = bytes.toString('utf8')
    this.text = text
    try {
      this.model = parseNotebook(decodeNotebook(bytes, this.path), this.path)
    } catch (err) {
      if (!(err instanceof NotebookError)) throw err
      this.parseError = err.error
    }
    if (this.model) {
      try {
        await this.startEngine(text)
      } catch (err) {
        // A damaged branch: the history stays readable (and can be forked), the engine does not extend it.
        if (!(err instanceof LoomFailure || err instanceof LogDamageError)) throw err
        if (err instanceof LogDamageError) this.damaged = err
        this.problems = errorsOf(err, this.path)
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
      path: this.path, log, branch: log.branch, resume: this.logs.resume(log), checkTests: true,
      ...(this.options.timeLimitMs ? { timeLimitMs: this.options.timeLimitMs } : {}),
    })
    // A new event moves the head, which the status shows too (an edit or agent commit while the app is stopped).
    engine.on('event', (e) => this.queue(() => ((this.outbox.status = true), this.outbox.events.push(e))))
    engine.on('tty', (t) => this.queue(() => (this.outbox.tty += t)))
    engine.on('attempt', (a) => this.queue(() => this.outbox.attempts.length < MAX_ATTEMPT_NOTICES && this.outbox.attempts.push(a)))
    engine.on('test', (f) => this.queue(() => this.outbox.failures.push(f)))
    engine.on('status', () => this.queue(() => (this.outbox.status = true)))
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
          this.clients.delete(client) // its transport is gone; the others carry on
        }
      },
    }
    this.clients.add(client)
    const stop = transport.onMessage((m) => void this.receive(client, m))
    const disconnect = () => {
      stop()
      this.clients.delete(client)
    }
    transport.onClose(disconnect)
    // After a restart, tell the UI at once where things stand.
    if (this.options.restarted) {
      client.send({ kind: 'notice', notice: { type: 'status', status: this.status() } })
      client.send({ kind: 'notice', notice: { type: 'notebook', notebook: this.view() } })
    }
    return disconnect
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
      client.send({ kind: 'response', id, ok: false, error: errorOf(err, this.path) })
    }
  }

  private answer(op: Op, p: Record<string, unknown>): Promise<unknown> | unknown {
    if (this.closed) throw new Refusal('the engine is shutting down', undefined, 'stopped')
    switch (op) {
      case 'hello': {
        const confined = confinement()
        return { protocol: PROTOCOL_VERSION, notebook: this.view(), status: this.status(), ...(confined ? { confined } : {}) } satisfies Result<'hello'>
      }
      case 'notebook':
        return this.view()
      case 'status':
        return this.status()
      case 'save':
        return this.exclusive(() => this.save(p.text as string | undefined, p.path as string | undefined))
      case 'editNotebook':
        return this.exclusive(() => this.edit(() => p.text as string))
      case 'editCell':
        return this.exclusive(() => this.edit(() => withCellSource(this.editable(), p.cell as string, p.source as string)))
      case 'addCell':
        return this.exclusive(async () => {
          let cell = ''
          const r = await this.edit(() => {
            const added = withCellAdded(this.editable(), p.after as string | null, p.kind as 'code' | 'prose', p.source as string)
            cell = added.cell
            return added.text
          })
          return { ...r, cell }
        })
      case 'deleteCell':
        return this.exclusive(() => this.edit(() => withCellDeleted(this.editable(), p.cell as string)))
      case 'moveCell':
        return this.exclusive(() => this.edit(() => withCellMoved(this.editable(), p.cell as string, p.to as number).text))
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
        return { value: evaluateReadOnly(p.expr as string, state, this.model ? stateBindings(this.model) : new Map(), moment) } satisfies Result<'evaluate'>
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
      log.useBranch(name)
      if (old) {
        try {
          await this.startEngine(serializeNotebook(old.notebook))
        } catch (err) {
          log.useBranch(before.branch)
          log.promote(before.live)
          this.engine = old
          if (wasRunning) this.run()
          const problem = errorOf(err, this.path)
          throw new Refusal(`the app cannot continue on branch '${name}', so it stays on '${before.branch}': ${problem.message}`, problem.where, problem.code)
        }
        if (wasRunning) this.run()
      }
      this.queue(() => (this.outbox.status = true))
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
    return { path: this.path, text: this.text, cells: this.model ? cellViews(this.model) : [], parseError: this.parseError, problems: this.problems }
  }

  status(): StatusView {
    const restarted = this.options.restarted ? { restarted: this.options.restarted } : {}
    const e = this.engine
    if (e) return { state: e.status, branch: this.log!.branch, head: e.head, codeHash: e.codeHash, waiting: e.waiting, ...restarted }
    const why = this.parseError
      ? `the notebook does not parse${this.parseError.where?.fileLine ? ` (line ${this.parseError.where.fileLine})` : ''}: ${this.parseError.message}`
      : `the notebook does not compile: ${this.problems[0]?.message ?? 'see its problems'}`
    return { state: 'ready', branch: this.log?.branch ?? this.options.branch ?? 'main', head: this.log?.head ?? 0, codeHash: '', waiting: why, ...restarted }
  }

  // ---- history ----------------------------------------------------------

  private branchViews(): BranchView[] {
    const log = this.history()
    const live = log.live
    return log.branches().map((b) => ({ name: b.name, head: b.head, parent: b.parent, forkedAt: b.parent === null ? null : b.forkSeq, live: b.name === live }))
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
    return { branch: name, at: at ?? info.head }
  }

  private page(branch: string | undefined, from: number | undefined, limit: number | undefined): Result<'log'> {
    const { branch: name, at: head } = this.moment(branch, undefined)
    const first = Math.max(1, from ?? 1)
    const count = Math.min(limit ?? MAX_PAGE, MAX_PAGE)
    return { branch: name, head, events: first > head || count === 0 ? [] : this.log!.eventsOf(name, first, Math.min(count, head - first + 1)) }
  }

  // ---- running ----------------------------------------------------------

  private runnable(): Engine {
    if (this.engine) return this.engine
    if (this.damaged) throw new Refusal(this.damaged.message, this.damaged.where, 'history')
    if (this.parseError) throw new Refusal(`the notebook does not parse: ${this.parseError.message}`, this.parseError.where)
    const first = this.problems[0]
    throw new Refusal(`the notebook does not compile: ${first?.message ?? 'see its problems'}; fix it and the app starts`, first?.where)
  }

  private run(): StatusView {
    const engine = this.runnable()
    if (!this.running) {
      this.running = engine.run().then(
        () => {},
        (err: Error) => {
          // The loop stopped on an error (the log could not write): say so, keep serving the history.
          this.problems = [loomError('stopped', `the app stopped: ${err.message}`)]
          this.broadcastNotebook()
        },
      ).finally(() => {
        this.running = null
        this.queue(() => (this.outbox.status = true))
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

  // ---- editing ----------------------------------------------------------

  private editable(): Notebook {
    if (!this.model) throw new Refusal(`the notebook does not parse, so its cells cannot be edited here: ${this.parseError?.message ?? ''}; fix it in a text editor and open it again`, this.parseError?.where)
    return this.model
  }

  /** Applies an edit made on the notebook's text; a text that does not parse changes nothing. */
  private async edit(make: () => string): Promise<EditResult> {
    let text: string
    let model: Notebook
    try {
      text = make()
      model = parseNotebook(text, this.path)
    } catch (err) {
      if (err instanceof NotebookError) return { ok: false, problems: err.errors }
      throw err
    }
    return this.adopt(text, model)
  }

  /**
   * Makes `text` the notebook and live-codes the running app with it. The
   * text is kept even when its code is refused (it is what the user typed);
   * the app keeps running the last code that worked.
   */
  private async adopt(text: string, model: Notebook): Promise<EditResult> {
    this.text = text
    this.model = model
    this.parseError = null
    const result = await this.liveCode(text)
    this.problems = result.ok ? [] : result.problems
    this.broadcastNotebook()
    this.queue(() => (this.outbox.status = true))
    return result
  }

  /** Live-codes the running app with `text` (liveCode.ts); with no app yet (its code was broken), starts it. */
  private async liveCode(text: string): Promise<EditResult> {
    if (this.engine) return liveCode(this.engine, text)
    try {
      await this.startEngine(text)
    } catch (err) {
      if (err instanceof LoomFailure) return { ok: false, problems: err.errors }
      throw err
    }
    return { ok: true, codeHash: this.engine!.codeHash, seq: this.engine!.head }
  }

  /** Writes the notebook: atomically, so a crash mid-save leaves the old file or the new one, never half. */
  private async save(text: string | undefined, path: string | undefined): Promise<Result<'save'>> {
    if (text === undefined && this.parseError) {
      throw new Refusal(`the notebook does not parse, so Loom will not overwrite it: ${this.parseError.message}; fix it in a text editor`, this.parseError.where)
    }
    if (text !== undefined && text !== this.text) {
      let model: Notebook
      try {
        model = parseNotebook(text, this.path)
      } catch (err) {
        if (err instanceof NotebookError) throw new Refusal(`not saved: ${err.error.message}`, err.error.where, 'parse')
        throw err
      }
      await this.adopt(text, model)
    }
    const target = path === undefined ? this.path : resolve(path)
    if (this.saveNotebook) {
      // Confined (DESIGN §9): the supervisor writes this notebook, and no other file.
      if (target !== this.path) throw new Refusal(`not saved to ${target}: this engine may write only its own notebook (it runs confined); save it here, then copy the file`)
      await this.saveNotebook(this.text)
    } else await writeAtomically(target, this.text)
    if (target !== this.path) {
      this.path = target
      this.broadcastNotebook()
    }
    return { path: target, bytes: Buffer.byteLength(this.text) }
  }

  // ---- notices ----------------------------------------------------------

  private queue(add: () => unknown): void {
    if (!this.clients.size) {
      this.outbox = { events: [], tty: '', attempts: [], failures: [], status: false }
      return
    }
    add()
    this.timer ??= setTimeout(() => this.flush(), NOTICE_MS)
  }

  private flush(): void {
    this.timer = null
    const { events, tty, attempts, failures, status } = this.outbox
    this.outbox = { events: [], tty: '', attempts: [], failures: [], status: false }
    for (const attempt of attempts) this.broadcast({ type: 'attempt', attempt })
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_NOTICE) this.broadcast({ type: 'events', events: events.slice(i, i + MAX_EVENTS_PER_NOTICE) })
    if (tty) this.broadcast({ type: 'tty', text: tty })
    for (const failure of failures) this.broadcast({ type: 'test', failure })
    // Not deduplicated against the last notice: a client that paused and ran again within one
    // notice period saw 'paused' in its answer, and must hear the app park again.
    if (status) this.broadcast({ type: 'status', status: this.status() })
  }

  private broadcast(notice: Extract<Message, { kind: 'notice' }>['notice']): void {
    for (const client of [...this.clients]) client.send({ kind: 'notice', notice })
  }

  private broadcastNotebook(): void {
    this.broadcast({ type: 'notebook', notebook: this.view() })
  }

  /** Stops the app after its batch in progress, makes everything durable and closes the log. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.engine?.pause()
    await this.running
    await this.turn
    await Promise.allSettled([...this.jobs])
    if (this.timer) {
      clearTimeout(this.timer)
      this.flush()
    }
    this.log?.close()
    this.clients.clear()
  }
}
