// The engine API: open a notebook, run it as a loop of transactions, pause,
// step, feed input, replace code, and hear about every event. The CLI and the
// desktop app are thin layers over this.
import { readFile } from 'node:fs/promises'
import { decodeNotebook, parseNotebook, type Notebook } from './notebook.ts'
import { compileNotebook, CompileError, type CompiledApp, type MethodName } from './compile.ts'
import { Executor, LoadError, notebookSeed, callOf, cannotRun, type AppVersion, type Call, type TimeLimitHooks } from './executor.ts'
import { FairAgent, PreferRecordedAgent, mix, type Agent } from './agent.ts'
import { canonicalJson, plainCopy } from './values.ts'
import type { HttpRequest, HttpResponse } from './http.ts'
import { MemoryLog, type EventLog } from './log.ts'
import type { Transaction } from './transaction.ts'
import type { Attempt, EventRecord, Read, SourceLocation, StateKind, TestFailure, Write } from './event.ts'
import type { Json } from './values.ts'
import type { Edit } from './executor.ts'
import { Previews, type Preview, type PreviewSpec } from './previews.ts'
import type { EngineStatus } from './control/runControl.ts'
import { StepLoop } from './control/stepLoop.ts'
import { Announcer } from './announcer.ts'
import { HttpRequests } from './httpRequests.ts'
import type { EngineOptions, Resume, RunOptions, RunSummary, EngineEvents } from './engineOptions.ts'

export type { EngineStatus, EngineOptions, Resume, RunOptions, RunSummary, EngineEvents }

/** A switch() that aborted: the new code waits for what it read to change. */
class SwitchWaits extends LoadError {
  constructor(message: string, readonly reads: Read[]) {
    super(message)
  }
}

export class Engine {
  private readonly exec: Executor
  private readonly announcer = new Announcer()
  private readonly seedNumber: number
  private readonly virtualClock: boolean
  private virtualNow: number
  /** Debug runs: the next test to check on the state the last commit left (null: all checked). */
  private nextTest: number | null = null
  private readonly loop: StepLoop
  private readonly requests: HttpRequests
  readonly testFailures: TestFailure[] = []

  private constructor(private source: Notebook, private app: CompiledApp, readonly options: EngineOptions) {
    const path = options.path ?? source.path
    const seed = notebookSeed(source, path)
    this.exec = new Executor(
      { path, branch: options.branch ?? 'main', seed, env: options.env ?? {}, args: options.args ?? [], timeLimitMs: options.timeLimitMs ?? 1000 },
      options.log ?? new MemoryLog(),
    )
    this.seedNumber = mix(hashString(seed), 0)
    this.virtualClock = options.clock === 'virtual'
    this.virtualNow = options.startTime ?? 0
    const inside = this.inside()
    this.loop = new StepLoop({ ...inside, maxAlternatives: options.maxAlternatives ?? 64 }, this.virtualClock)
    this.requests = new HttpRequests({ ...inside, halted: () => this.loop.halted, agent: () => new FairAgent(mix(this.seedNumber, this.head)), testsDue: () => this.nextTest !== null })
  }

  /** What the step loop and the requests share of the engine: its one commit pipeline and its time. */
  private inside() {
    return {
      exec: this.exec,
      announcer: this.announcer,
      seedNumber: this.seedNumber,
      version: () => this.version,
      now: () => this.now(),
      jumpClock: (time: number) => this.virtualClock && ((this.virtualNow = Math.max(this.virtualNow, time)), true),
      attempts: () => this.attemptCount,
      commit: (tx: Transaction) => this.commit(tx),
      recordAttempt: (tx: Transaction) => this.recordAttempt(tx),
      checkDueTests: () => this.checkDueTests(),
      inSandbox: <T>(work: () => T, overran: (tx: Transaction | null) => boolean | void) => this.inSandbox(work, overran),
      snapshotter: () => this.snapshotter(),
      offerSnapshot: () => this.offerSnapshot(),
      flush: () => this.flush(),
    }
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
    engine.announcer.announce()
    return engine
  }

  // ---- what is there to see ----------------------------------------------

  get status(): EngineStatus {
    return this.loop.status
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
    return this.loop.waiting.parked?.reason ?? null
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

  on<K extends keyof EngineEvents>(type: K, fn: (value: EngineEvents[K]) => void): () => void {
    return this.announcer.on(type, fn)
  }

  // ---- driving ----------------------------------------------------------

  /** Runs the loop until it halts, is paused, reaches `steps`, or (with `untilIdle`) has nothing to do. */
  run(options: RunOptions = {}): Promise<RunSummary> {
    return this.loop.run(options)
  }

  /** Pauses the app in any state but halted; a running loop stops after the batch in progress. */
  pause(): void {
    this.loop.pause()
  }

  /** Runs one transaction (start until it commits, then step). Returns its event, or null if it waits. */
  step(): EventRecord | null {
    return this.loop.step()
  }

  /** Input for sys.tty.read. */
  input(text: string): void {
    this.exec.input(text)
    this.loop.inputCame()
  }

  /**
   * Serves one HTTP request as an `http` transaction. Resolves with the
   * response once its event is durable. An aborted request waits for what
   * it read to change and runs again, until `deadlineMs` (then 503); an
   * exception is 500 at once. Never rejects for what the app does.
   */
  request(req: HttpRequest, deadlineMs = 10_000): Promise<HttpResponse> {
    return this.requests.request(req, deadlineMs)
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
      this.announcer.announce()
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
      this.loop.restart()
      // New code may answer differently: waiting requests run again with it.
      this.requests.retryAll()
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

  private now(): number {
    return this.exec.txTime(this.virtualClock ? this.virtualNow : Date.now())
  }

  /** Picks up a history where it stopped: its state, its time, and its code unless the notebook changed. */
  private resume(r: Resume): void {
    this.exec.restore(r.state, r.last.time)
    this.loop.started = r.started
    this.loop.halted = r.last.kind === 'halt'
    const config = { seed: this.exec.config.seed, env: this.exec.config.env, args: this.exec.config.args }
    const same = r.code.codeHash === this.app.codeHash && canonicalJson(r.code.input) === canonicalJson(config)
    // New code (or a new configuration) is a code event; a halted app gets another chance with it.
    if (!same) this.loop.halted = false
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
    this.announcer.announce()
    return event
  }

  /** A check to call after each commit of a batch: it offers the log a snapshot whenever one is due (every K events). */
  private snapshotter(): () => void {
    let due = this.exec.log.snapshotDue?.() ?? Infinity
    return () => {
      if (this.head < due) return
      this.offerSnapshot()
      due = this.exec.log.snapshotDue!()
    }
  }

  private offerSnapshot(): void {
    this.exec.log.offerSnapshot?.(this.head, () => this.exec.store.serialize())
  }

  /** Makes everything committed so far durable (one group commit), and offers the log a snapshot. */
  private flush(): void {
    this.exec.log.flush()
    this.offerSnapshot()
  }

  /** Commits a transaction as the next event; a halt is followed by its marker. */
  private commit(tx: Transaction, extraWrites?: Write[]): EventRecord {
    const event = this.exec.commit(tx, this.app.codeHash, extraWrites)
    this.committed(event)
    return event
  }

  /**
   * What follows every commit (also one the time limit cut off half-way and the executor
   * finished): it joins the batch to announce, a halt gets its marker, the tests are due
   * (debug runs), and whatever waits on what it changed runs again.
   */
  private committed(event: EventRecord): void {
    const pending = this.announcer.pending.events
    pending.push(event)
    this.loop.committed(event)
    if (event.outputs.halt) pending.push(this.exec.commitMarker('halt', this.app.codeHash, event.time))
    if (this.options.checkTests && this.version.tests.length) this.nextTest = 0
    if (this.pendingCode && !this.exec.store.unchanged(this.pendingCode.reads)) {
      this.pendingCode.reads = []
      setImmediate(() => this.retryPendingCode())
    }
    this.requests.wakeChanged()
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
        this.announcer.pending.failures.push(failure)
      }
    }
  }

  private recordAttempt(tx: Transaction): void {
    this.attemptCount++
    this.announcer.pending.attempts.push(this.exec.attempt(tx))
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
          this.announcer.pending.failures.push(failure)
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
}

function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export type { Write, Edit }
