// The engine API: open a notebook, run it as a loop of transactions, pause,
// step, feed input, replace code, and hear about every event. The CLI and the
// desktop app are thin layers over this.
import { readFile } from 'node:fs/promises'
import { decodeNotebook, parseNotebook, type Notebook } from './notebook.ts'
import { compileNotebook, CompileError, formatLocation, type CompiledApp, type MethodName } from './compile.ts'
import { Executor, LoadError, notebookSeed, methodCall, callOf, cannotRun, type AppVersion, type Call, type TimeLimitHooks } from './executor.ts'
import { FairAgent, PreferRecordedAgent, mix, type Agent } from './agent.ts'
import { canonicalJson, plainCopy } from './values.ts'
import type { HttpRequest, HttpResponse } from './http.ts'
import { MemoryLog, type EventLog } from './log.ts'
import type { Transaction } from './transaction.ts'
import type { Attempt, EventRecord, Read, SourceLocation, StateKind, TestFailure, Write } from './event.ts'
import type { Json } from './values.ts'
import type { StoreSnapshot } from './store.ts'
import type { Edit } from './executor.ts'
import { Previews, type Preview, type PreviewSpec } from './previews.ts'
import { RunControl, type EngineStatus } from './control/runControl.ts'

export interface EngineOptions {
  /** Where the notebook came from, for messages and the default seed. */
  path?: string
  /** A transaction running longer than this is aborted (default 1000 ms). */
  timeLimitMs?: number
  /** Check every test after every commit (debug runs, `loom test`). */
  checkTests?: boolean
  /** 'real' (default), or 'virtual': time starts at `startTime` and jumps to the next awaited time when idle. */
  clock?: 'real' | 'virtual'
  startTime?: number
  env?: Record<string, string>
  args?: string[]
  log?: EventLog
  branch?: string
  /** How many alternative choice sequences a step tries before it waits (default 64). */
  maxAlternatives?: number
  /** Continue a history: the state after the log's last event and what the engine needs to know of it. */
  resume?: Resume
}

/** Where a resumed history stands (built from a durable log by engine/replay). */
export interface Resume {
  state: StoreSnapshot
  last: EventRecord
  /** The last `code` event: which code ran, and with which configuration. */
  code: EventRecord
  started: boolean
}

export type { EngineStatus }

export interface RunOptions {
  /** Stop after this many committed steps. */
  steps?: number
  /** Stop when nothing can happen without input from outside (a step waiting on state or tty). */
  untilIdle?: boolean
}

export interface RunSummary {
  events: number
  attempts: number
  steps: number
  status: EngineStatus
}

export interface EngineEvents {
  event: EventRecord
  tty: string
  attempt: Attempt
  test: TestFailure
  status: EngineStatus
}

type Listener<T> = (value: T) => void

/**
 * The step (or start) being tried: the ways its choices can go tried so far,
 * and what they read. It outlives a batch the time limit cut off, so the
 * attempt cut off runs again with the same choices.
 */
interface Round {
  method: MethodName
  agent: FairAgent
  tries: number
  reads: Read[]
  wakeAt: number
  input: boolean
  reason: string
}

/** Why the step (or start) is waiting. */
interface Parked {
  reads: Read[]
  wakeAt: number
  input: boolean
  reason: string
}

/** A switch() that aborted: the new code waits for what it read to change. */
class SwitchWaits extends LoadError {
  constructor(message: string, readonly reads: Read[]) {
    super(message)
  }
}

interface WaitingRequest {
  req: HttpRequest
  resolve: (r: HttpResponse) => void
  reads: Read[]
  timer: NodeJS.Timeout | null
  reason: string
}

function plainResponse(status: number, text: string): HttpResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text + '\n' }
}

/** Batches of requests that may be waiting for durability at once. */
const MAX_REQUEST_BATCHES = 2

export class Engine {
  private readonly exec: Executor
  private readonly listeners: { [K in keyof EngineEvents]: Set<Listener<EngineEvents[K]>> } = {
    event: new Set(), tty: new Set(), attempt: new Set(), test: new Set(), status: new Set(),
  }
  private readonly seedNumber: number
  private readonly maxAlternatives: number
  private readonly virtualClock: boolean
  private virtualNow: number
  private pending: { events: EventRecord[]; attempts: Attempt[]; failures: TestFailure[] } = { events: [], attempts: [], failures: [] }
  private parked: Parked | null = null
  private round: Round | null = null
  /** Debug runs: the next test to check on the state the last commit left (null: all checked). */
  private nextTest: number | null = null
  private started = false
  private halted = false
  /** Running, parked, idle, paused or halted: the status listeners hear. */
  private readonly control = new RunControl()
  private rounds = 0
  private readonly stepAgent = new FairAgent(0)
  private wakeUp: (() => void) | null = null
  private woken = false
  private timer: NodeJS.Timeout | null = null
  readonly testFailures: TestFailure[] = []

  private constructor(private source: Notebook, private app: CompiledApp, readonly options: EngineOptions) {
    const path = options.path ?? source.path
    const seed = notebookSeed(source, path)
    this.exec = new Executor(
      { path, branch: options.branch ?? 'main', seed, env: options.env ?? {}, args: options.args ?? [], timeLimitMs: options.timeLimitMs ?? 1000 },
      options.log ?? new MemoryLog(),
    )
    this.seedNumber = mix(hashString(seed), 0)
    this.maxAlternatives = options.maxAlternatives ?? 64
    this.virtualClock = options.clock === 'virtual'
    this.virtualNow = options.startTime ?? 0
    this.control.listen((status) => {
      for (const fn of this.listeners.status) fn(status)
    })
  }

  /** Opens a notebook file. Throws NotebookError or CompileError (with file, cell and line) for bad input. */
  static async open(path: string, options: EngineOptions = {}): Promise<Engine> {
    const text = decodeNotebook(await readFile(path), path)
    return Engine.fromSource(text, { ...options, path })
  }

  static async fromSource(text: string, options: EngineOptions = {}): Promise<Engine> {
    const notebook = parseNotebook(text, options.path ?? '<notebook>')
    const app = await compileNotebook(notebook, options.log?.keptCells)
    const engine = new Engine(notebook, app, options)
    if (options.resume) engine.resume(options.resume)
    else engine.loadCode(app, 'initial')
    engine.announce()
    return engine
  }

  // ---- what is there to see ----------------------------------------------

  get status(): EngineStatus {
    return this.control.state
  }
  /** The notebook whose code is running. */
  get notebook(): Notebook {
    return this.source
  }
  get codeHash(): string {
    return this.app.codeHash
  }
  get head(): number {
    return this.exec.head
  }
  get log(): EventLog {
    return this.exec.log
  }
  /** How many tests the app declares. */
  get testCount(): number {
    return this.version.tests.length
  }
  /** Why the loop waits, when it does. */
  get waiting(): string | null {
    return this.parked?.reason ?? null
  }

  /** The committed state, by name. */
  state(): Record<string, { kind: StateKind; value: Json }> {
    return this.exec.store.snapshot()
  }

  events(from?: number, limit?: number): EventRecord[] {
    return this.exec.log.events(from, limit)
  }

  attempts(limit?: number): Attempt[] {
    return this.exec.log.attempts(limit)
  }

  on<K extends keyof EngineEvents>(type: K, fn: Listener<EngineEvents[K]>): () => void {
    this.listeners[type].add(fn)
    return () => this.listeners[type].delete(fn)
  }

  // ---- driving ----------------------------------------------------------

  /** Runs the loop until it halts, is paused, reaches `steps`, or (with `untilIdle`) has nothing to do. */
  async run(options: RunOptions = {}): Promise<RunSummary> {
    const before = { events: this.head, attempts: this.attemptCount, steps: this.stepCount }
    this.control.on('run')
    // Group commits still being made durable; the next batch runs meanwhile.
    const inflight: Promise<void>[] = []
    try {
      while (this.control.active && !this.halted) {
        const left = options.steps === undefined ? Infinity : options.steps - (this.stepCount - before.steps)
        if (left <= 0 && this.started) break
        if (this.parked || !this.hasWork()) {
          if (this.virtualClock && this.parked?.wakeAt) {
            this.virtualNow = Math.max(this.virtualNow, this.parked.wakeAt)
            this.unpark()
            continue
          }
          if (options.untilIdle && !this.parked?.wakeAt) break
          if (inflight.length) {
            // Let the last batches become durable, then look again: a wake may have come meanwhile.
            await Promise.all(inflight.splice(0))
            continue
          }
          this.control.on(this.parked ? 'park' : 'idle')
          await this.sleep()
          if (this.control.active && !this.halted) this.control.on('wake')
          continue
        }
        const durable = this.batch(Math.max(0, left), true)
        if (durable) {
          // Handled now (a failed write must not crash the process before the loop awaits it), thrown when awaited.
          durable.catch(() => {})
          inflight.push(durable)
          // A few batches in the air keep both threads busy (measured: 2 leaves each ~20% idle).
          if (inflight.length > 3) await inflight.shift()
        }
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
      await Promise.all(inflight.splice(0))
    } finally {
      await Promise.allSettled(inflight)
      // Paused is what the app is, whether or not a step waits: a paused app does not wake when
      // what it waits for comes (the wait is still in `waiting`). Without a pause (a step count,
      // or nothing to do), the loop says where it stopped.
      if (this.halted) this.control.on('halt')
      else if (this.control.active) this.control.on(this.parked ? 'park' : this.hasWork() ? 'pause' : 'idle')
    }
    return {
      events: this.head - before.events,
      attempts: this.attemptCount - before.attempts,
      steps: this.stepCount - before.steps,
      status: this.control.state,
    }
  }

  /** Pauses the app in any state but halted; a running loop stops after the batch in progress. */
  pause(): void {
    this.control.on('pause')
    this.wake()
  }

  /** Runs one transaction (start until it commits, then step). Returns its event, or null if it waits. */
  step(): EventRecord | null {
    if (this.halted || (!this.hasWork() && !this.parked)) return null
    if (this.parked) this.unpark()
    const head = this.head
    // A round of attempts can span batches (long attempts): one step goes until it commits or waits.
    do this.batch(1)
    while (this.round && !this.parked && !this.halted)
    const event = this.exec.log.events(head + 1, 1)[0]
    // A step is taken while the app is not running: it stays paused, whether or not its next step waits
    // (what it waits for is in `waiting`); parked means running and waiting, which only run() is.
    this.control.on(this.halted ? 'halt' : 'step')
    return event ?? null
  }

  /** Input for sys.tty.read. */
  input(text: string): void {
    this.exec.input(text)
    if (this.parked?.input) this.unpark()
  }

  /**
   * Serves one HTTP request as an `http` transaction. Resolves with the
   * response once its event is durable. An aborted request waits for what
   * it read to change and runs again, until `deadlineMs` (then 503); an
   * exception is 500 at once. Never rejects for what the app does.
   */
  request(req: HttpRequest, deadlineMs = 10_000): Promise<HttpResponse> {
    return new Promise((resolve) => {
      const waiting: WaitingRequest = { req, resolve, reads: [], timer: null, reason: '' }
      waiting.timer = setTimeout(() => {
        this.waitingRequests.delete(waiting)
        resolve(plainResponse(503, `the request waited ${deadlineMs} ms without committing: ${waiting.reason}`))
      }, deadlineMs)
      this.enqueue(waiting)
    })
  }

  private readonly waitingRequests = new Set<WaitingRequest>()
  /** Requests that arrived since the last serving: they run together, in arrival order, and share one group commit. */
  private readonly queuedRequests: WaitingRequest[] = []

  /** Batches of requests being made durable; past a few, new arrivals gather into the next batch meanwhile. */
  private requestsInFlight = 0

  private enqueue(w: WaitingRequest): void {
    this.queuedRequests.push(w)
    // Group commit for requests: under load they gather while the last batch is written; alone, one runs at once.
    if (this.queuedRequests.length === 1 && this.requestsInFlight < MAX_REQUEST_BATCHES) setImmediate(() => this.serveQueued())
  }

  /**
   * Runs every queued request as its own transaction, in batches, each
   * request under its own time limit; answers them once durable.
   */
  private serveQueued(): void {
    const queue = this.queuedRequests.splice(0)
    const version = this.version
    const answers: [WaitingRequest, HttpResponse][] = []
    // The request running now: the one an overrun is answered for (never found by index).
    let serving: WaitingRequest | null = null
    let next = 0
    let snapshotDue = this.exec.log.snapshotDue?.() ?? Infinity
    const serve = (w: WaitingRequest) => {
      if (this.halted || !version.methods.http) {
        serving = null
        return this.answer(w, this.halted ? plainResponse(503, 'the app has halted') : plainResponse(404, 'this app has no http() method'))
      }
      const tx = this.exec.runCall(version, methodCall('http', w.req as unknown as Json), this.now(), new FairAgent(mix(this.seedNumber, this.head)))
      serving = null
      if (!tx.failure) {
        // Queued first: a commit the time limit cuts off is finished, and its request answered, all the same.
        answers.push([w, tx.http as unknown as HttpResponse])
        this.commit(tx)
        // Requests count towards the snapshot every K events too, mid-batch as steps do: an HTTP-only app's seeks stay short.
        if (this.head >= snapshotDue) {
          this.offerSnapshot()
          snapshotDue = this.exec.log.snapshotDue!()
        }
        return
      }
      this.recordAttempt(tx)
      if (!tx.failure.aborted) {
        const where = tx.failure.location ? ` (${formatLocation(version.app.path, tx.failure.location)})` : ''
        this.answer(w, plainResponse(500, `${tx.failure.reason}${where}`))
      } else {
        // A wait: run again when something it read changes.
        w.reads = tx.reads
        w.reason = tx.failure.reason
        this.waitingRequests.add(w)
      }
    }
    const work = () => {
      for (;;) {
        this.checkDueTests()
        if (this.exec.batchSpent) return
        if (!serving) {
          if (next >= queue.length) return
          serving = queue[next++]!
          if (!serving.timer) { // its deadline passed meanwhile
            serving = null
            continue
          }
        }
        serve(serving)
      }
    }
    while (serving || next < queue.length || this.nextTest !== null) {
      this.inSandbox(work, (tx) => {
        if (tx?.kind === 'http' && serving) {
          this.recordAttempt(tx)
          this.answer(serving, plainResponse(500, `http() ran past its time limit of ${this.exec.config.timeLimitMs} ms`))
          serving = null
        }
        return true
      })
    }
    this.offerSnapshot()
    const batch = this.pending
    this.pending = { events: [], attempts: [], failures: [] }
    const durable = this.exec.log.flushAsync ? this.exec.log.flushAsync() : (this.exec.log.flush(), Promise.resolve())
    this.requestsInFlight++
    durable.then(
      () => {
        this.announce(batch)
        for (const [w, r] of answers) this.answer(w, r)
      },
      (err: Error) => {
        for (const [w] of answers) this.answer(w, plainResponse(503, `the log could not make the request durable: ${err.message}`))
      },
    ).finally(() => {
      this.requestsInFlight--
      if (this.queuedRequests.length && this.requestsInFlight < MAX_REQUEST_BATCHES) this.serveQueued()
    })
  }

  private answer(w: WaitingRequest, response: HttpResponse): void {
    if (w.timer) clearTimeout(w.timer)
    w.timer = null
    w.resolve(response)
  }

  /**
   * Re-enacts a recorded transaction with this engine's code: the same method
   * (or edit), time, tty input and — where they still fit — choices. Commits
   * it if it commits; returns the new event, or why it aborted.
   */
  reenact(e: EventRecord): { event: EventRecord | null; failure: string | null } {
    const time = this.exec.txTime(e.time)
    const agent = new PreferRecordedAgent(e.choices, mix(this.seedNumber, e.seq))
    const call = callOf(e)
    const cannot = cannotRun(this.version, call)
    if (cannot) return { event: null, failure: cannot }
    const tx = this.runNow(call, time, agent)
    if (!tx) return { event: null, failure: `ran past the time limit of ${this.exec.config.timeLimitMs} ms` }
    if (tx.failure) {
      this.recordAttempt(tx)
      this.announce()
      return { event: null, failure: tx.failure.reason }
    }
    return { event: this.commitNow(tx), failure: null }
  }

  /**
   * The agent panel: runs the next step, a request or gui(agent) against the
   * live head with the person's choices and answers, without committing.
   */
  preview(spec: PreviewSpec): Preview {
    return this.previews.preview(spec)
  }

  /** Commits a preview, or (if what it read changed meanwhile) says what changed and previews again. */
  commitPreview(id: number): { event: EventRecord; note?: string } | { changed: string[]; preview: Preview } {
    return this.previews.commit(id)
  }

  discardPreview(id: number): void {
    this.previews.discard(id)
  }

  /** What an open preview runs: to commit it as the first event of a new branch instead. */
  previewSpec(id: number): PreviewSpec {
    return this.previews.spec(id)
  }

  private openPreviews: Previews | null = null
  private get previews(): Previews {
    return (this.openPreviews ??= this.makePreviews())
  }

  private makePreviews(): Previews {
    return new Previews({
      exec: this.exec,
      version: () => this.version,
      now: () => this.now(),
      timeLimitMs: this.exec.config.timeLimitMs,
      commit: (tx) => this.commitNow(tx),
    })
  }


  /**
   * Changes state by hand (the projectional editor): one `edit` transaction,
   * committed like any other, waking a step that waits on what it changes.
   * Throws with the state name when an edit does not fit the state, or (an
   * undo) when a state named in `expect` does not hold that value now.
   */
  edit(changes: Edit[], expect?: Record<string, unknown>): EventRecord {
    if (!changes.length) throw new Error('edit: nothing to change')
    const call: Call = { kind: 'edit', method: 'edit', input: plainCopy(changes) as unknown as Json, ...(expect ? { expect } : {}) }
    const tx = this.runNow(call, this.now(), new FairAgent(this.seedNumber))
    if (!tx) throw new Error(`edit: ran past the time limit`)
    if (tx.failure) throw new Error(`edit: ${tx.failure.reason}`)
    return this.commitNow(tx)
  }

  /**
   * Replaces the running app's code with a new notebook text. If it compiles
   * and loads, a `code` event records the new code (and runs its `switch`);
   * otherwise the old code keeps running and the error is returned.
   */
  async replaceCode(text: string): Promise<{ ok: true; event: EventRecord } | { ok: false; error: string; waiting?: true }> {
    let notebook: Notebook, app: CompiledApp
    try {
      notebook = parseNotebook(text, this.exec.config.path)
      app = await compileNotebook(notebook, this.exec.log.keptCells)
    } catch (err) {
      return { ok: false, error: (err as Error).message }
    }
    if (app.codeHash === this.app.codeHash) return { ok: false, error: 'the code did not change' }
    this.pendingCode = null
    const r = this.adopt(notebook, app)
    if (r.ok || !r.waiting) return r
    this.pendingCode = { notebook, app, reads: r.reads }
    return { ok: false, error: r.error, waiting: true }
  }

  /** New code whose switch() aborted: it takes over when what the switch read changes. */
  private pendingCode: { notebook: Notebook; app: CompiledApp; reads: Read[] } | null = null

  /** Loads new code; its switch (if any) must commit for it to take over. */
  private adopt(notebook: Notebook, app: CompiledApp): { ok: true; event: EventRecord } | { ok: false; error: string; waiting?: true; reads: Read[] } {
    try {
      const event = this.loadCode(app, 'replace')!
      this.source = notebook
      this.app = app
      this.round = null
      if (this.parked) this.unpark()
      // New code may answer differently: waiting requests run again with it.
      for (const w of this.waitingRequests) this.enqueue(w)
      this.waitingRequests.clear()
      this.announce()
      return { ok: true, event }
    } catch (err) {
      if (err instanceof SwitchWaits) return { ok: false, error: err.message, waiting: true, reads: err.reads }
      if (err instanceof LoadError || err instanceof CompileError) return { ok: false, error: err.message, reads: [] }
      throw err
    }
  }

  /** Tries pending code again; tells listeners through the code event when it takes over. */
  private retryPendingCode(): void {
    const pending = this.pendingCode
    if (!pending) return
    this.pendingCode = null
    const r = this.adopt(pending.notebook, pending.app)
    if (!r.ok && r.waiting) this.pendingCode = { ...pending, reads: r.reads }
  }

  // ---- inside -----------------------------------------------------------

  private version!: AppVersion
  private attemptCount = 0
  private stepCount = 0

  private now(): number {
    return this.exec.txTime(this.virtualClock ? this.virtualNow : Date.now())
  }

  /** Picks up a history where it stopped: its state, its time, and its code unless the notebook changed. */
  private resume(r: Resume): void {
    this.exec.restore(r.state, r.last.time)
    this.started = r.started
    this.halted = r.last.kind === 'halt'
    const config = { seed: this.exec.config.seed, env: this.exec.config.env, args: this.exec.config.args }
    const same = r.code.codeHash === this.app.codeHash && canonicalJson(r.code.input) === canonicalJson(config)
    // New code (or a new configuration) is a code event; a halted app gets another chance with it.
    if (!same) this.halted = false
    this.loadCode(this.app, same ? 'resume' : 'replace')
  }

  /**
   * Loads code and commits its `code` event (with `switch` when replacing);
   * when resuming with the code that last ran, only loads it. Throws LoadError.
   */
  private loadCode(app: CompiledApp, mode: 'initial' | 'replace' | 'resume'): EventRecord | null {
    const replacing = mode === 'replace'
    const fn = this.exec.compile(app)
    const limit = this.exec.config.timeLimitMs
    const before = this.exec.store.cells.length
    const loaded = this.inSandbox(() => this.exec.load(app, fn))
    if (!loaded.ok) {
      this.exec.dropFresh(before)
      throw new LoadError(`${app.path}: loading the notebook's cells ran past the time limit of ${limit} ms`)
    }
    const { version, declares } = loaded.value
    if (mode === 'resume' && !declares.length) {
      this.version = version
      return null
    }
    const time = this.now()
    const input: Json = { seed: this.exec.config.seed, env: this.exec.config.env, args: this.exec.config.args }
    // Replacing code runs its switch (if it has one); otherwise the code event only declares.
    const call: Call = { kind: 'code', method: replacing && version.methods.switch ? 'switch' : null, input }
    const tx = this.runNow(call, time, new FairAgent(this.seedNumber), version)
    if (!tx) {
      // The switch itself overran: the new code does not take over.
      this.exec.dropFresh(before)
      throw new LoadError(`${app.path}: the new code's switch() ran past the time limit of ${limit} ms; the old code keeps running`)
    }
    if (tx.failure) {
      this.exec.dropFresh(before)
      const failure = tx.failure
      this.recordAttempt(tx)
      const message = `${app.path}: the new code's switch() did not commit (${failure.reason}); the old code keeps running`
      // An abort is a wait: the change happens once what the switch read allows it.
      if (failure.aborted) throw new SwitchWaits(`${message} until it can`, tx.reads)
      throw new LoadError(message)
    }
    this.exec.log.putCode?.({ codeHash: app.codeHash, path: app.path, code: app.code, sources: app.sources })
    this.version = version
    this.app = app
    return this.commitNow(tx, declares)
  }

  /**
   * Runs one transaction outside the step loop (a hand edit, code, a re-enactment):
   * in the sandbox under its own time limit. Null when it ran past it.
   */
  private runNow(call: Call, time: number, agent: Agent, version = this.version): Transaction | null {
    const ran = this.inSandbox(() => this.exec.runCall(version, call, time, agent))
    return ran.ok ? ran.value : null
  }

  /**
   * The one pipeline after a transaction ran outside the step loop: commit, check the
   * tests due, make it durable, tell the listeners. (The step loop and requests do the
   * same per batch: commit each, then flush and announce once.) Committed outside the
   * sandbox: a commit runs no cell code, and nothing cuts it off.
   */
  private commitNow(tx: Transaction, extraWrites?: Write[]): EventRecord {
    const event = this.commit(tx, extraWrites)
    this.inSandbox(() => this.checkDueTests())
    this.flush()
    this.announce()
    return event
  }

  private offerSnapshot(): void {
    this.exec.log.offerSnapshot?.(this.head, () => this.exec.store.serialize())
  }

  /** Makes everything committed so far durable (one group commit), and offers the log a snapshot. */
  private flush(): void {
    this.exec.log.flush()
    this.offerSnapshot()
  }

  private get nextMethod(): MethodName | null {
    if (!this.started) return this.version.methods.start ? 'start' : ((this.started = true), this.nextMethod)
    return this.version.methods.step ? 'step' : null
  }

  private hasWork(): boolean {
    return !this.halted && this.nextMethod !== null
  }

  /**
   * Runs up to `max` step transactions in one batch (each under its own time
   * limit), then tells the listeners once it is durable. Pipelined (a log
   * that can write in the background), it returns the promise of that
   * instead of waiting.
   */
  private batch(max: number, pipelined = false): Promise<void> | void {
    const steps = this.stepCount
    let snapshotDue = this.exec.log.snapshotDue?.() ?? Infinity
    const work = () => {
      for (;;) {
        this.checkDueTests()
        if (this.halted || this.parked || this.exec.batchSpent) return
        const method = this.nextMethod
        if (!method || (this.stepCount - steps >= max && method === 'step')) return
        this.runMethod(method)
        // A durable log wants a snapshot every K events: it is written with the batch's events.
        if (this.head >= snapshotDue) {
          this.offerSnapshot()
          snapshotDue = this.exec.log.snapshotDue!()
        }
      }
    }
    this.inSandbox(work, (tx) => {
      const round = this.round
      // The attempt that overran is an attempt like any other: the round goes on with its next choices, or waits.
      if (tx && round && tx.kind === (round.method === 'start' ? 'start' : 'step')) this.failed(round, tx)
      return false
    })
    const log = this.exec.log
    if (pipelined && log.flushAsync) {
      this.offerSnapshot()
      const batch = this.pending
      this.pending = { events: [], attempts: [], failures: [] }
      return log.flushAsync().then(() => this.announce(batch))
    }
    this.flush()
    this.announce()
  }

  /**
   * Runs `method` until it commits or every way its choices could go has
   * aborted; then it waits on everything those attempts read. A round left
   * unfinished when the batch ends goes on in the next.
   */
  private runMethod(method: MethodName): boolean {
    if (this.round?.method !== method) {
      const agent = this.stepAgent.reset(mix(this.seedNumber, mix(this.head, this.rounds++)))
      this.round = { method, agent, tries: 0, reads: [], wakeAt: 0, input: false, reason: '' }
    }
    const round = this.round
    while (this.round === round && !this.exec.batchSpent) {
      const tx = this.exec.runCall(this.version, methodCall(method), this.now(), round.agent)
      if (!tx.failure) {
        this.round = null
        this.commit(tx)
        return true
      }
      this.failed(round, tx)
    }
    return false
  }

  /** An attempt of `round` did not commit: try the next way its choices can go, or wait on what the attempts read. */
  private failed(round: Round, tx: Transaction): void {
    this.recordAttempt(tx)
    for (const r of tx.reads) round.reads.push(r)
    if (tx.wakeAt && (!round.wakeAt || tx.wakeAt < round.wakeAt)) round.wakeAt = tx.wakeAt
    round.input ||= tx.waitsForInput
    round.reason ||= tx.failure!.reason
    if (++round.tries < this.maxAlternatives && tx.choices.length && round.agent.next(tx.choices.length)) return
    this.round = null
    // A round that spanned batches: a commit in between (a request) may have changed what it read; then it runs again.
    if (!this.exec.store.unchanged(round.reads)) return
    this.park({ reads: round.reads, wakeAt: round.wakeAt, input: round.input, reason: round.reason })
  }

  /** Commits a transaction as the next event; a halt is followed by its marker. */
  private commit(tx: Transaction, extraWrites?: Write[]): EventRecord {
    const event = this.exec.commit(tx, this.app.codeHash, extraWrites)
    this.committed(event)
    return event
  }

  /** What follows every commit (also one the time limit cut off half-way and the executor finished). */
  private committed(event: EventRecord): void {
    if (event.kind === 'start') this.started = true
    if (event.outputs.halt) {
      this.halted = true
      this.pending.events.push(event)
      if (event.kind === 'step') this.stepCount++
      this.afterCommit(this.exec.commitMarker('halt', this.app.codeHash, event.time))
    } else this.afterCommit(event)
  }

  /** Announces an event, and (debug runs) has the tests checked on the state after it. */
  private afterCommit(event: EventRecord): void {
    this.pending.events.push(event)
    if (event.kind === 'step') this.stepCount++
    if (this.options.checkTests && this.version.tests.length) this.nextTest = 0
    // Something the waiting step read has changed: it may now get further.
    if (this.parked && !this.exec.store.unchanged(this.parked.reads)) this.unpark()
    if (this.pendingCode && !this.exec.store.unchanged(this.pendingCode.reads)) {
      this.pendingCode.reads = []
      setImmediate(() => this.retryPendingCode())
    }
    // Likewise for requests waiting to commit (run again after this batch, in arrival order).
    for (const w of this.waitingRequests) {
      if (!this.exec.store.unchanged(w.reads)) {
        this.waitingRequests.delete(w)
        if (w.timer) this.enqueue(w)
      }
    }
  }

  /**
   * Checks the tests due after the last commit, one transaction each (so a
   * batch cut off between them goes on with the next). Call inside `inSandbox`.
   */
  private checkDueTests(): void {
    while (this.nextTest !== null) {
      const tests = this.version.tests
      const i = this.nextTest
      if (i >= tests.length) {
        this.nextTest = null
        return
      }
      const failure = this.exec.testFailure(this.version, tests[i]!, new FairAgent(this.seedNumber))
      this.nextTest = i + 1
      if (failure) {
        this.testFailures.push(failure)
        this.pending.failures.push(failure)
      }
    }
  }

  private recordAttempt(tx: Transaction): void {
    this.attemptCount++
    this.pending.attempts.push(this.exec.attempt(tx))
  }

  /**
   * Runs `work` in the sandbox, every transaction in it under its own time
   * limit (see `Executor.run`). A transaction that ran past it on its own is
   * an attempt with an error naming its cell; a test that did is a failing
   * test and the next test is checked. `overran` says what else happens
   * (true: the work goes on; the default: it stops there).
   */
  private inSandbox<T>(work: () => T, overran: (tx: Transaction | null) => boolean | void = () => false) {
    const hooks: TimeLimitHooks = {
      committed: (event) => this.committed(event),
      overran: (tx) => {
        if (tx) tx.failure!.location = this.methodLocation(tx.method)
        if (tx?.kind === 'test') {
          if (this.nextTest !== null) this.nextTest++
          this.recordAttempt(tx)
          const failure: TestFailure = { test: tx.method!, seq: this.head, message: tx.failure!.reason, location: null, saw: {} }
          this.testFailures.push(failure)
          this.pending.failures.push(failure)
          return true
        }
        return overran(tx)
      },
    }
    return this.exec.run(work, hooks)
  }

  private methodLocation(method: string | null): SourceLocation | null {
    const test = this.version.tests.find((t) => t.name === method)
    return test?.at ?? this.version.app.methodAt[method as MethodName] ?? null
  }

  private park(parked: Parked): void {
    this.parked = parked
    if (parked.wakeAt && !this.virtualClock) {
      if (this.timer) clearTimeout(this.timer)
      const delay = Math.max(0, parked.wakeAt - Date.now())
      this.timer = setTimeout(() => {
        this.timer = null
        if (this.parked === parked) this.unpark()
      }, Math.min(delay, 2 ** 31 - 1))
    }
  }

  private unpark(): void {
    this.parked = null
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    this.wake()
  }

  private sleep(): Promise<void> {
    // A wake that came while nobody slept is not lost: the next sleep returns at once.
    if (this.woken) {
      this.woken = false
      return Promise.resolve()
    }
    return new Promise((resolve) => (this.wakeUp = resolve))
  }

  private wake(): void {
    const w = this.wakeUp
    this.wakeUp = null
    if (w) w()
    else this.woken = true
  }

  /** Tells listeners what the last batch committed, in log order, after it is durable. */
  private announce(batch = this.pending): void {
    const { events, attempts, failures } = batch
    if (!events.length && !attempts.length && !failures.length) return
    if (batch === this.pending) this.pending = { events: [], attempts: [], failures: [] }
    for (const a of attempts) for (const fn of this.listeners.attempt) fn(a)
    for (const e of events) {
      for (const fn of this.listeners.event) fn(e)
      if (e.outputs.tty) for (const fn of this.listeners.tty) fn(e.outputs.tty)
    }
    for (const f of failures) for (const fn of this.listeners.test) fn(f)
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export type { Write, Edit }
