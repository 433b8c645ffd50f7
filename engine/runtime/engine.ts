// The engine API: open a notebook, run it as a loop of transactions, pause,
// step, feed input, replace code, and hear about every event. The CLI and the
// desktop app are thin layers over this. One concept kept whole (~410 lines):
// the engine's one public face, each method a few lines handing over to the
// module that does the work (transaction/pipeline.ts, control/stepLoop.ts,
// httpRequests.ts, previews.ts, effects/engineEffects.ts, codeEvent.ts);
// split, a reader would piece the API together from several files.
import { EngineEffects } from './effects/engineEffects.ts'
import type { PendingRead } from '../protocol/messages.ts'
import { notebookGrants } from './effects/grants.ts'
import { readFile } from 'node:fs/promises'
import { decodeNotebook, parseNotebook, type Notebook } from './notebook.ts'
import { compileNotebook, CompileError, type CompiledApp } from './compile.ts'
import { Executor, LoadError, notebookSeed, type AppVersion, type Call } from './executor.ts'
import { loadCode, SwitchWaits } from './codeEvent.ts'
import { FairAgent, mix, seedNumber } from './agent.ts'
import { reenact, reenactAll, type Reenacted, type ReenactHost } from './reenact.ts'
import { loomError, LoomFailure, whereAt, type LoomError } from '../protocol/loomError.ts'
import { canonicalJson, plainCopy } from './values.ts'
import type { HttpRequest, HttpResponse } from './http.ts'
import { MemoryLog, type EventLog } from './log.ts'
import type { Transaction } from './transaction.ts'
import type { Attempt, EventRecord, Read, StateKind, TestFailure, Write } from './event.ts'
import type { Json } from './values.ts'
import type { Edit } from './executor.ts'
import { Previews, type Preview, type PreviewSpec } from './previews.ts'
import type { EngineStatus } from './control/runControl.ts'
import { StepLoop } from './control/stepLoop.ts'
import type { Stuck } from './control/waiting.ts'
import { Announcer } from './announcer.ts'
import { HttpRequests } from './httpRequests.ts'
import { Pipeline } from './transaction/pipeline.ts'
import type { EngineOptions, Resume, RunOptions, RunSummary, EngineEvents } from './engineOptions.ts'

export type { EngineStatus, EngineOptions, Resume, RunOptions, RunSummary, EngineEvents }

export class Engine {
  private readonly exec: Executor
  private readonly announcer = new Announcer()
  private readonly seedNumber: number
  private readonly virtualClock: boolean
  private virtualNow: number
  private readonly pipeline: Pipeline
  private readonly loop: StepLoop
  private readonly requests: HttpRequests
  /** Performs effects (null: this engine performs none — replay, exploration, previews on other branches). */
  private readonly effects: EngineEffects | null

  private constructor(private source: Notebook, private app: CompiledApp, readonly options: EngineOptions) {
    const path = options.path ?? source.path
    const seed = notebookSeed(source, path)
    this.exec = new Executor(
      { path, branch: options.branch ?? 'main', seed, env: options.env ?? {}, args: options.args ?? [], timeLimitMs: options.timeLimitMs ?? 1000, effects: notebookGrants(source), performsEffects: !!options.performEffect },
      options.log ?? new MemoryLog(),
    )
    this.seedNumber = seedNumber(seed)
    this.virtualClock = options.clock === 'virtual'
    this.virtualNow = options.startTime ?? 0
    const shared = { exec: this.exec, announcer: this.announcer, seedNumber: this.seedNumber, version: () => this.version }
    const effects = (this.effects = options.performEffect
      ? new EngineEffects(options.performEffect, { ...shared, pipeline: () => this.pipeline, now: () => this.now(), changed: () => this.announcer.status(this.loop.status), settled: () => this.loop.waiting.wake() })
      : null)
    const pipeline = (this.pipeline = new Pipeline({ ...shared, codeHash: () => this.app.codeHash, committed: (e) => this.committed(e), effectWanted: (w) => effects?.want(w) }, options.checkTests === 'commit' ? 'commit' : !!options.checkTests, !!options.stopOnTestFailure))
    // The step loop and the requests run transactions through the one pipeline, at the engine's time.
    const inside = {
      ...shared,
      now: () => this.now(),
      commit: (tx: Transaction) => pipeline.commit(tx),
      recordAttempt: (tx: Transaction) => pipeline.recordAttempt(tx),
      checkDueTests: () => pipeline.checkDueTests(),
      testFailed: () => pipeline.stopRequested,
      inBatch: <T>(work: () => T, overran: (tx: Transaction | null) => boolean | void) => pipeline.inBatch(work, overran),
      snapshotter: () => pipeline.snapshotter(),
      offerSnapshot: () => pipeline.offerSnapshot(),
      flush: () => pipeline.flush(),
    }
    this.loop = new StepLoop({
      ...inside,
      maxAlternatives: options.maxAlternatives ?? 64,
      attempts: () => pipeline.attempts,
      jumpClock: (time) => this.virtualClock && ((this.virtualNow = Math.max(this.virtualNow, time)), true),
      effectsBusy: () => !!this.effects?.busy,
    }, this.virtualClock)
    this.requests = new HttpRequests({
      ...inside,
      halted: () => this.loop.halted,
      agent: () => new FairAgent(mix(this.seedNumber, this.head)),
      testsDue: () => pipeline.testsDue,
      // Same state, new count: the one status stream tells the window how many requests wait.
      heldChanged: () => this.announcer.status(this.loop.status),
    })
  }

  /** Checks the tests that are due now (`loom run` checks them at most every so often, and at its end). */
  checkTests(): TestFailure[] {
    this.pipeline.inSandbox(() => this.pipeline.checkBatchTests(true))
    return this.testFailures
  }
  /** Every test that failed in a debug run (`checkTests`), in the order found. */
  get testFailures(): TestFailure[] {
    return this.pipeline.testFailures
  }

  /** After every commit: whatever waits on what it changed (the step, new code, requests) runs again. */
  private committed(event: EventRecord): void {
    this.loop.committed(event)
    if (this.pendingCode && !this.exec.store.unchanged(this.pendingCode.reads)) {
      this.pendingCode.reads = []
      setImmediate(() => this.retryPendingCode())
    }
    this.requests.wakeChanged()
    this.effects?.actionsMade(event)
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
    engine.effects?.resumeActions()
    engine.announcer.announce()
    return engine
  }

  // ---- what is there to see ----------------------------------------------

  /** The app has a start() that has not committed yet: no other method runs before it. */
  get startPending(): boolean {
    return !this.loop.started && !!this.version.methods.start
  }
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
  /** The safe reads under way (the window shows them as pending), the oldest first. */
  get reading(): PendingRead[] {
    return this.effects?.reading ?? []
  }
  /** Why the loop waits, when it does. */
  get waiting(): string | null {
    return this.loop.waiting.parked?.reason ?? null
  }
  /** The waiting method throws (a bug, not a wait): which, why and where. */
  get stuck(): Stuck | null {
    return this.loop.waiting.parked?.stuck ?? null
  }

  /** The committed state, by name. */
  state(): Record<string, { kind: StateKind; value: Json }> {
    return this.exec.store.values()
  }

  /**
   * One state's committed value (a map's entry, with `key`), not copied: what a re-run tells a change from. Null for
   * a whole map, queue or bag (too big to be one value in a sentence) and for a state there is not.
   */
  peek(name: string, key?: string): { value: Json | undefined } | null {
    const cell = this.exec.store.get(name)
    if (!cell || (key === undefined && cell.kind !== 'var' && cell.kind !== 'counter')) return null
    return { value: cell.committed(key) }
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

  /** Runs the loop until it halts, is paused, reaches `steps`, or (with `untilIdle`) has nothing to do. Requests held while paused go first. */
  run(options: RunOptions = {}): Promise<RunSummary> {
    this.requests.release()
    return this.loop.run(options)
  }

  /**
   * Pauses the app in any state but halted; a running loop stops after the batch in progress.
   * `holdRequests` (a person pausing): requests to the app wait, uncommitted, until it runs or steps.
   */
  pause(options: { holdRequests?: boolean } = {}): void {
    this.loop.pause()
    if (options.holdRequests) this.requests.hold()
  }

  /** Requests waiting for the paused app (see pause). */
  get heldRequests(): number {
    return this.requests.heldCount
  }

  /** Answers the held requests 503 (the app will not run here again): nothing is committed for them. */
  refuseHeldRequests(why: string): void {
    this.requests.refuseHeld(why)
  }

  /**
   * Runs one transaction (start until it commits, then step). Returns its event, or null if it waits.
   * While requests are held, the step is the first of them (answered once durable).
   */
  step(): EventRecord | null {
    const head = this.exec.head
    if (this.requests.serveOneHeld()) {
      return this.exec.head > head ? this.exec.log.events(head + 1, 1)[0] ?? null : null
    }
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
  request(req: HttpRequest, deadlineMs = 10_000, gone?: AbortSignal): Promise<HttpResponse> {
    return this.requests.request(req, deadlineMs, gone)
  }

  /**
   * Re-enacts a recorded transaction with this engine's code (reenact.ts):
   * commits it if it commits; returns the new event, or why it aborted.
   */
  reenact(e: EventRecord): Reenacted {
    return reenact(this.reenacting(), e)
  }

  /** Re-enacts recorded transactions in order, many to a call into the sandbox (reenact.ts). */
  reenactAll(events: readonly EventRecord[], done: (e: EventRecord, r: Reenacted) => void, ahead?: (e: EventRecord) => void): void {
    reenactAll(this.reenacting(), events, done, ahead)
  }

  private reenacting(): ReenactHost {
    return { exec: this.exec, pipeline: this.pipeline, announcer: this.announcer, version: () => this.version, seedNumber: this.seedNumber }
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
      commit: (tx) => this.pipeline.commitNow(tx),
    })
  }

  /**
   * Changes state by hand (the projectional editor): one `edit` transaction,
   * committed like any other, waking a step that waits on what it changes.
   * Throws with the state name when an edit does not fit the state, or (an
   * undo) when a state named in `expect` does not hold that value now.
   */
  edit(changes: Edit[], expect?: Record<string, unknown>): EventRecord {
    if (!changes.length) throw new LoomFailure(loomError('badInput', 'cannot edit: nothing to change'))
    const call: Call = { kind: 'edit', method: 'edit', input: plainCopy(changes) as unknown as Json, ...(expect ? { expect } : {}) }
    const tx = this.pipeline.runNow(call, this.now(), new FairAgent(this.seedNumber))
    if (!tx) throw new LoomFailure(loomError('timeLimit', 'cannot edit: it ran past the time limit'))
    if (tx.failure) throw new LoomFailure(loomError('badInput', `cannot edit: ${tx.failure.reason}`, whereAt(this.exec.config.path, tx.failure.location)))
    return this.pipeline.commitNow(tx)
  }

  /**
   * Replaces the running app's code with a new notebook text: the one way
   * live coding enters (liveCode.ts). If it compiles and loads, a `code`
   * event records the new code (and runs its `switch`); otherwise the old
   * code keeps running and the errors say why ('unchanged' when the text
   * compiles to the code that runs).
   */
  async replaceCode(text: string): Promise<{ ok: true; event: EventRecord } | { ok: false; errors: LoomError[]; waiting?: true }> {
    let notebook: Notebook, app: CompiledApp
    try {
      notebook = parseNotebook(text, this.exec.config.path)
      app = await compileNotebook(notebook, this.exec.log.keptCells)
    } catch (err) {
      if (err instanceof LoomFailure) return { ok: false, errors: err.errors }
      throw err
    }
    if (app.codeHash === this.app.codeHash) return { ok: false, errors: [loomError('unchanged', 'the code did not change')] }
    this.pendingCode = null
    const r = this.adopt(notebook, app)
    if (r.ok || !r.waiting) return r
    this.pendingCode = { notebook, app, reads: r.reads }
    return { ok: false, errors: r.errors, waiting: true }
  }

  /** New code whose switch() aborted: it takes over when what the switch read changes. */
  private pendingCode: { notebook: Notebook; app: CompiledApp; reads: Read[] } | null = null

  /** Loads new code; its switch (if any) must commit for it to take over. */
  private adopt(notebook: Notebook, app: CompiledApp): { ok: true; event: EventRecord } | { ok: false; errors: LoomError[]; waiting?: true; reads: Read[] } {
    // The new front matter's grants come with its code (its code event records them).
    const grants = this.exec.config.effects
    this.exec.config.effects = notebookGrants(notebook)
    try {
      const event = this.loadCode(app, 'replace')!
      this.source = notebook
      this.app = app
      this.loop.restart()
      // New code may answer differently: waiting requests run again with it.
      this.requests.retryAll()
      return { ok: true, event }
    } catch (err) {
      this.exec.config.effects = grants
      if (err instanceof SwitchWaits) return { ok: false, errors: err.errors, waiting: true, reads: err.reads }
      if (err instanceof LoadError || err instanceof CompileError) return { ok: false, errors: err.errors, reads: [] }
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

  private now(): number {
    return this.exec.txTime(this.virtualClock ? this.virtualNow : Date.now())
  }

  /** Picks up a history where it stopped: its state, its time, and its code unless the notebook changed. */
  private resume(r: Resume): void {
    this.exec.restore(r.state, r.last.time)
    this.loop.started = r.started
    this.loop.halted = r.last.kind === 'halt'
    const config: Record<string, unknown> = { seed: this.exec.config.seed, env: this.exec.config.env, args: this.exec.config.args }
    // The grants are recorded with the code (loadCode): the same grants are the same configuration.
    if (this.exec.config.effects) config.effects = this.exec.config.effects
    const same = r.code.codeHash === this.app.codeHash && canonicalJson(r.code.input) === canonicalJson(config)
    // New code (or a new configuration) is a code event; a halted app gets another chance with it.
    if (!same) this.loop.halted = false
    this.loadCode(this.app, same ? 'resume' : 'replace')
  }

  /** Loads code and commits its `code` event (codeEvent.ts); the engine takes the version before the event commits. */
  private loadCode(app: CompiledApp, mode: 'initial' | 'replace' | 'resume'): EventRecord | null {
    const host = { exec: this.exec, pipeline: this.pipeline, seedNumber: this.seedNumber, now: () => this.now() }
    return loadCode(host, app, mode, (version, took) => {
      this.version = version
      if (took) this.app = took
    })
  }
}

export type { Write, Edit }
