// The one way in: every transaction — start, step, http, a test check, a
// code switch — runs through `execute` and, if it succeeds, `commit`.
// The executor owns the sandbox, the store and the app's code versions.
import { Sandbox, OP, SYS, type AppFunction, type HostApi, type Outcome } from './sandbox.ts'
import { Store, VarCell, MapCell, QueueCell, BagCell, CounterCell, makeCell, type Cell, type StoreSnapshot } from './store.ts'
import { Transaction, type Failure } from './transaction.ts'
import { callSites } from './callSites.ts'
import { StableRandom } from './random.ts'
import { canonicalJson, plainValue, trustValue, ValueError, type Json } from './values.ts'
import { formatLocation, type CompiledApp, type MethodName, METHODS } from './compile.ts'
import { loomError, LoomFailure, whereAt, type LoomErrorCode, type Where } from '../protocol/loomError.ts'
import type { Agent } from './agent.ts'
import { toResponse, responseJson, type HttpRequest } from './http.ts'
import type { EventLog } from './log.ts'
import type { Notebook } from './notebook.ts'
import { basename } from 'node:path'
import type { Attempt, EventKind, EventRecord, SourceLocation, StateKind, TestFailure, Write } from './event.ts'

export interface ExecutorConfig {
  path: string
  branch: string
  seed: string
  env: Record<string, string>
  args: string[]
  timeLimitMs: number
}

/** The seed of `sys.random` and of the fair agent: the notebook's `seed:` setting, else one made from the file name. */
export function notebookSeed(notebook: Notebook, path: string): string {
  return notebook.settings.seed !== undefined ? String(notebook.settings.seed) : `loom:${basename(path)}`
}

/** A code version loaded into the sandbox. */
export interface AppVersion {
  app: CompiledApp
  filename: string
  methods: Partial<Record<MethodName, (...args: unknown[]) => unknown>>
  tests: { name: string; property: () => unknown; at: SourceLocation | null }[]
}

/** One change made by hand to one state (an `edit` event). */
export type Edit =
  /** Without a key: the whole state (a var's value, a map's entries, a queue's or bag's items, a counter's count). */
  | { state: string; key?: string; set: unknown }
  | { state: string; key: string; delete: true }
  | { state: string; push: unknown }
  | { state: string; put: unknown }
  | { state: string; add: number }
  /** The item at that place of a queue (0 is the front) or of a bag as listed. */
  | { state: string; remove: number }

/** A notebook whose code loaded but whose top level is wrong (duplicate state, a thrown error…). */
export class LoadError extends LoomFailure {
  constructor(message: string, where?: Where, code: LoomErrorCode = 'load') {
    super(loomError(code, message, where))
  }
}

interface Loading {
  app: CompiledApp
  filename: string
  declared: Map<string, { kind: StateKind; at: SourceLocation | null }>
  fresh: Cell[]
  tests: AppVersion['tests']
  /** The LoadError a declaration threw: it reaches the catch rebuilt in the sandbox's realm, and is given on as it was made. */
  refused?: LoadError
}

const TEST_FAILED = 'returned false'

/** V8's words for a write to a frozen object: what a cell that keeps state in a module-level value meets. */
const FROZEN = /^TypeError: (Cannot assign to read only property|Cannot add property .*object is not extensible|Cannot delete property|Cannot define property)/

/**
 * Time a batch of transactions may use before it stops starting new ones.
 * One call into the sandbox per batch is what makes short transactions
 * cheap; the call's own timeout is the time limit plus twice this, so every
 * transaction that starts in it gets at least its whole limit.
 */
export const BATCH_MS = 10

/** Cut-off calls in a row that may be resumed before whatever runs is blamed anyway (host code that never ends). */
const MAX_RESUMES = 3

/** What a caller of `Executor.run` does when the time limit cuts its work off. */
export interface TimeLimitHooks {
  /**
   * `tx` ran past its limit on its own (null: the work ran past it outside
   * any transaction — loading code, or a promise callback a cell left behind).
   * Record it and make `work` go past it, and return true to resume the
   * work; return false (or nothing) to stop there.
   */
  overran(tx: Transaction | null): boolean | void
  /** A commit the time limit cut off half-way has been finished: take it in as if `commit` had returned. */
  committed?(event: EventRecord): void
}
export class Executor {
  readonly store = new Store()
  readonly sandbox: Sandbox
  random: StableRandom
  version: AppVersion | null = null
  /** The transaction running now; left set if the time limit cuts it off. */
  cur: Transaction | null = null
  /** An event being committed; left set if the time limit cuts the commit off, so it can be finished. */
  committing: EventRecord | null = null
  lastTime = 0
  /** Tty input not yet consumed by a committed transaction. */
  ttyIn = ''
  /** Whether a wait records the cell line it came from (exploration, which runs millions, does without). */
  locateWaits = true
  private loading: Loading | null = null
  private readonly apps = new Map<string, CompiledApp>()
  /** When the current call into the sandbox began, and when its last transaction ended (performance.now()). */
  private callStart = 0
  private lastEnd = 0
  private asks = 0

  constructor(readonly config: ExecutorConfig, readonly log: EventLog) {
    this.random = new StableRandom(config.seed)
    this.sandbox = new Sandbox(this.host())
  }

  get head(): number {
    return this.log.head
  }

  /** Changes the configuration cells read (replay sets what each code event recorded). */
  configure(config: Pick<ExecutorConfig, 'seed' | 'env' | 'args'>): void {
    if (config.seed !== this.config.seed) this.random = new StableRandom(config.seed)
    Object.assign(this.config, config)
  }

  // ---- code -------------------------------------------------------------

  /**
   * Loads compiled code into the sandbox: runs its top level (state
   * declarations, tests) under the time limit. Call inside `run`.
   * Returns the version and the `declare` writes for state it adds.
   */
  load(app: CompiledApp, fn: AppFunction): { version: AppVersion; declares: Write[] } {
    const filename = appFilename(app)
    const loading: Loading = { app, filename, declared: new Map(), fresh: [], tests: [] }
    this.loading = loading
    const before = this.store.cells.length
    try {
      const exports = this.sandbox.instantiate(fn)
      const methods: AppVersion['methods'] = {}
      for (const name of METHODS) {
        const m = exports[name]
        if (m === undefined) continue
        if (typeof m !== 'function') throw new LoadError(`the export '${name}' is not a function`, { file: app.path })
        methods[name] = m as (...args: unknown[]) => unknown
      }
      const declares: Write[] = loading.fresh.map((c) => ({ state: c.name, op: 'declare', kind: c.kind, value: c.value() }))
      return { version: { app, filename, methods, tests: loading.tests }, declares }
    } catch (err) {
      this.dropFresh(before)
      if (err instanceof LoadError) throw err
      if (loading.refused && (err as { message?: unknown } | null)?.message === loading.refused.message) throw loading.refused
      const { reason, location } = this.describe(err, app)
      // A module-level value that cannot be made read-only is named by the sandbox: point at its declaration.
      const binding = (err as { binding?: unknown } | null)?.binding
      const at = location ?? (typeof binding === 'string' ? app.declaredAt?.[binding] ?? null : null)
      throw new LoadError(reason, whereAt(app.path, at))
    } finally {
      this.loading = null
    }
  }

  /** Forgets state added by a load that did not commit. */
  dropFresh(length: number): void {
    for (const cell of this.store.cells.splice(length)) this.store.byName.delete(cell.name)
  }

  compile(app: CompiledApp): AppFunction {
    this.apps.set(appFilename(app), app)
    return this.sandbox.compile(app.code, appFilename(app))
  }

  /** Replaces the store with a snapshot's state (values rebuilt in the sandbox's realm) and sets the clock floor. */
  restore(snapshot: StoreSnapshot, lastTime: number): void {
    const fresh = Store.from(snapshot, (v) => this.inRealm(v))
    this.store.cells.length = 0
    this.store.byName.clear()
    for (const cell of fresh.cells) this.store.add(cell)
    this.lastTime = lastTime
  }

  /**
   * A copy of host data made in the sandbox's realm, so cell code never holds
   * a host object; `trusted` marks it checked plain data (it came from JSON),
   * otherwise the write that stores it checks it.
   */
  inRealm(value: unknown, trusted = true): Json {
    const copy = this.sandbox.realm.JSON.parse(JSON.stringify(value) ?? 'null') as Json
    return trusted ? trustValue(copy) : copy
  }

  // ---- transactions -------------------------------------------------------

  /** The time a transaction starting now gets: never earlier than the last event's. */
  txTime(now: number): number {
    return now > this.lastTime ? now : this.lastTime
  }

  /**
   * Runs `method` of `version` as a transaction. Never throws for what cell
   * code does: an abort or an exception becomes `tx.failure`. Call inside
   * `run`.
   */
  execute(version: AppVersion, kind: EventKind | 'test', method: string, fn: () => unknown, input: Json, time: number, agent: Agent): Transaction {
    const tx = new Transaction(kind, method, input, time, agent)
    this.cur = tx
    try {
      fn()
    } catch (err) {
      if (!tx.failure) tx.failure = { ...this.describe(err, version.app), aborted: false }
    }
    this.ended()
    if (!tx.failure) tx.seal()
    return tx
  }

  /** A transaction has ended: the next one's time starts now. */
  private ended(): void {
    this.cur = null
    this.lastEnd = performance.now()
  }

  /**
   * True once the current batch has used its share of time: start no more
   * transactions in it. Work that runs no transaction (exploration's
   * remembered outcomes) is timed too, by a clock read every 16 asks.
   */
  get batchSpent(): boolean {
    return this.lastEnd - this.callStart > BATCH_MS || ((++this.asks & 15) === 0 && performance.now() - this.callStart > BATCH_MS)
  }

  /**
   * Runs `work` — transactions one after another — in the sandbox, each
   * transaction under its own time limit (`limitMs`, default the
   * configured one), never the batch as a whole. `work` must resume where it
   * stopped when called again: its progress lives outside it, a transaction
   * that has not ended is simply run again, and it should return once
   * `batchSpent` is true.
   *
   * The sandbox's timeout covers the whole call, so when it fires the
   * transaction running then is blamed only if it alone ran for the limit
   * (since the last one ended). Otherwise it was cut off by those before it:
   * it never committed, and the work resumes in a fresh call where it runs
   * first, with its whole limit. A commit cut off half-way is finished
   * (commits are idempotent) and handed to `hooks.committed`.
   */
  run<T>(work: () => T, hooks: TimeLimitHooks, limitMs = this.config.timeLimitMs): Outcome<T> {
    let resumes = 0
    for (;;) {
      this.callStart = this.lastEnd = performance.now()
      const out = this.sandbox.run(work, limitMs + 2 * BATCH_MS)
      if (out.ok) return out
      const event = this.committing
      if (event) {
        this.finishCommit(event)
        hooks.committed?.(event)
        resumes++
        continue
      }
      const tx = this.cur
      this.cur = null
      if (performance.now() - this.lastEnd >= limitMs || resumes >= MAX_RESUMES) {
        if (tx) tx.failure = { reason: `ran past its time limit of ${limitMs} ms`, aborted: false, location: tx.failure?.location ?? null }
        if (!hooks.overran(tx)) return { ok: false }
        resumes = 0
      } else resumes++
    }
  }

  /** Runs a method by name; a missing method is an error, not a wait. */
  executeMethod(version: AppVersion, kind: EventKind, method: MethodName, input: Json, time: number, agent: Agent, arg?: unknown): Transaction {
    const fn = version.methods[method]
    if (!fn) throw new Error(`the app has no ${method}()`)
    return this.execute(version, kind, method, () => fn(arg), input, time, agent)
  }

  /**
   * Applies hand-made changes inside the running (edit) transaction. Values
   * are rebuilt in the sandbox's realm, as if a cell had written them.
   */
  applyEdits(changes: Edit[], expect?: Record<string, unknown>): void {
    const tx = this.tx('edit')
    const inRealm = (v: unknown) => this.inRealm(v, false)
    // An undo puts back what an edit changed, and must not overwrite what changed after it.
    for (const [name, value] of Object.entries(expect ?? {})) {
      const cell = this.store.get(name)
      if (!cell) this.fail(tx, { reason: this.noState(name), aborted: false, location: null })
      if (canonicalJson(cell.value()) !== canonicalJson(value)) this.fail(tx, { reason: `state '${name}' changed since that edit: undoing it would overwrite the change`, aborted: false, location: cell.declaredAt })
    }
    for (const c of changes) {
      const cell = this.store.get(c.state)
      if (!cell) this.fail(tx, { reason: this.noState(c.state), aborted: false, location: null })
      // At the cell that declares the state: where the editor shows the refusal.
      const wrong = (what: string) => this.fail(tx, { reason: `state '${c.state}' is a ${cell.kind}: ${what}`, aborted: false, location: cell.declaredAt })
      if ('set' in c) {
        if (c.key === undefined) this.replace(tx, cell, inRealm(c.set), wrong)
        else if (cell instanceof MapCell) cell.set(tx, this.key(tx, cell, c.key), this.write(tx, cell, inRealm(c.set)))
        else wrong('it has no keys')
      } else if ('remove' in c) {
        if (!(cell instanceof QueueCell || cell instanceof BagCell)) wrong('only a queue or bag item can be removed')
        else if (!Number.isSafeInteger(c.remove) || c.remove < 0 || !cell.removeAt(tx, c.remove)) wrong(`it has no item ${String(c.remove)} (it holds ${cell.items(tx).length})`)
      } else if ('delete' in c) {
        if (cell instanceof MapCell) cell.delete(tx, this.key(tx, cell, c.key))
        else wrong('only a map entry can be deleted')
      } else if ('push' in c) {
        if (cell instanceof QueueCell) cell.push(tx, this.write(tx, cell, inRealm(c.push)))
        else wrong('only a queue takes push')
      } else if ('put' in c) {
        if (cell instanceof BagCell) cell.put(tx, this.write(tx, cell, inRealm(c.put)))
        else wrong('only a bag takes put')
      } else if ('add' in c) {
        if (cell instanceof CounterCell && Number.isFinite(c.add)) cell.add(tx, c.add)
        else wrong('only a counter takes add (a finite number)')
      }
    }
  }

  private noState(name: string): string {
    const names = this.store.cells.map((c) => c.name)
    return `there is no state '${name}'${names.length ? `; the states are ${names.join(', ')}` : ''}`
  }

  /** A hand edit of a whole state: it holds `value` instead (checked as a cell's write would be). */
  private replace(tx: Transaction, cell: Cell, value: unknown, wrong: (what: string) => never): void {
    if (cell instanceof VarCell) return cell.set(tx, this.write(tx, cell, value))
    if (cell instanceof CounterCell) {
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrong('its value is a finite number')
      return cell.add(tx, value - cell.get(tx))
    }
    const plain = this.write(tx, cell, value)
    if (cell instanceof MapCell) {
      if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) return wrong('its value is an object of entries')
      for (const [key] of cell.view(tx)) if (!Object.hasOwn(plain, key)) cell.delete(tx, key)
      for (const [key, v] of Object.entries(plain)) cell.set(tx, key, v)
      return
    }
    if (!Array.isArray(plain)) return wrong('its value is a list of items')
    if (cell instanceof QueueCell || cell instanceof BagCell) cell.replace(tx, plain)
  }

  /**
   * Runs `http(req)` as a transaction. The request reaches the cell as plain
   * data of the sandbox's realm; what it returns becomes `tx.http` (checked),
   * or the transaction fails with what is wrong with it. Call inside `run`.
   */
  executeHttp(version: AppVersion, req: HttpRequest, time: number, agent: Agent): Transaction {
    // One copy, made in the sandbox's realm: the cell reads it and the event records it.
    const inRealm = this.inRealm(req)
    // Reading the response runs cell code too (getters, toJSON) and may throw (a cycle): inside the transaction.
    let response: ReturnType<typeof toResponse> = ''
    const tx = this.execute(version, 'http', 'http', () => (response = toResponse(version.methods.http!(inRealm))), inRealm, time, agent)
    if (tx.failure) {
      tx.failure.location ??= version.app.methodAt.http ?? null
      return tx
    }
    if (typeof response === 'string') tx.failure = { reason: response, aborted: false, location: version.app.methodAt.http ?? null }
    else tx.http = responseJson(response)
    return tx
  }

  /**
   * Runs `gui(agent)` as a transaction: `agent.ask`/`agent.choose` get the
   * answers given by key (or their default, or the first option), and the
   * event records every answer used, so replay asks nothing. Call inside `run`.
   */
  executeGui(version: AppVersion, answers: Record<string, unknown>, time: number, agent: Agent): Transaction {
    const inRealm = this.inRealm(answers ?? {}) as Record<string, Json>
    const fn = version.methods.gui
    if (!fn) throw new Error('the app has no gui()')
    const tx = new Transaction('gui', 'gui', null, time, agent)
    tx.answers = inRealm
    this.cur = tx
    try {
      fn(this.sandbox.agent)
    } catch (err) {
      if (!tx.failure) tx.failure = { ...this.describe(err, version.app), aborted: false }
    }
    this.ended()
    if (!tx.failure) tx.seal()
    return tx
  }

  /**
   * Runs a recorded transaction again — its method (or edit, or request),
   * with its input and tty text — at `time`, answering choices through
   * `agent`. Returns why it cannot run with this code, in words. Call inside `run`.
   */
  reexecute(version: AppVersion, e: EventRecord, time: number, agent: Agent): Transaction | string {
    this.ttyIn = (e.input as { tty?: string } | null)?.tty ?? ''
    switch (e.kind) {
      case 'edit':
        return this.execute(version, 'edit', 'edit', () => this.applyEdits(e.input as unknown as Edit[]), e.input, time, agent)
      case 'http':
        return version.methods.http ? this.executeHttp(version, e.input as unknown as HttpRequest, time, agent) : 'the code has no http()'
      case 'gui':
        return version.methods.gui ? this.executeGui(version, ((e.input as { answers?: Record<string, Json> } | null)?.answers) ?? {}, time, agent) : 'the code has no gui()'
      case 'start':
      case 'step':
        if (!version.methods[e.method as MethodName]) return `the code has no ${e.method}()`
        return this.executeMethod(version, e.kind, e.method as MethodName, e.input, time, agent)
      default:
        return `${e.kind} events are not re-executed by this version of Loom`
    }
  }

  /** Commits a successful transaction as the next event. Idempotent: see `finishCommit`. */
  commit(tx: Transaction, codeHash: string, extraWrites?: Write[]): EventRecord {
    const outputs = tx.outputs()
    const event: EventRecord = {
      branch: this.config.branch,
      seq: this.head + 1,
      kind: tx.kind as EventKind,
      method: tx.method,
      input: tx.kind === 'gui' ? guiInput(tx) : tx.ttyRead ? { ...(tx.input as object | null), tty: tx.ttyRead } : tx.input,
      choices: tx.choices,
      time: tx.time,
      codeHash,
      reads: tx.reads,
      writes: extraWrites ? [...extraWrites, ...tx.writes] : tx.writes,
      outputs,
      parentHash: '',
      hash: '',
    }
    this.finishCommit(event, tx.ttyRead.length)
    return event
  }

  /**
   * Applies an event and appends it to the log. Every part is idempotent, so
   * if the time limit cuts this off half-way, calling it again completes it.
   */
  finishCommit(event: EventRecord, ttyUsed = 0): void {
    this.committing = event
    const ttyAfter = this.ttyIn.slice(ttyUsed)
    this.store.apply(event.writes, event.seq)
    this.log.append(event)
    this.lastTime = event.time
    this.ttyIn = ttyAfter
    this.committing = null
  }

  /** Records an event the engine makes itself (a halt marker). */
  commitMarker(kind: EventKind, codeHash: string, time: number): EventRecord {
    const event: EventRecord = {
      branch: this.config.branch, seq: this.head + 1, kind, method: null, input: null, choices: [], time, codeHash,
      reads: [], writes: [], outputs: {}, parentHash: '', hash: '',
    }
    this.finishCommit(event)
    return event
  }

  attempt(tx: Transaction): Attempt {
    const f = tx.failure!
    const attempt: Attempt = {
      branch: this.config.branch, after: this.head, kind: tx.kind as EventKind, method: tx.method, time: tx.time,
      choices: tx.choices, reads: tx.reads, reason: f.reason, aborted: f.aborted, location: f.location,
    }
    this.log.addAttempt(attempt)
    return attempt
  }

  /** Checks every test against the committed state. Call inside `run`. */
  checkTests(version: AppVersion, agent: Agent): TestFailure[] {
    const failures: TestFailure[] = []
    for (const t of version.tests) {
      const failure = this.testFailure(version, t, agent)
      if (failure) failures.push(failure)
    }
    return failures
  }

  /** Checks one test against the committed state: how it fails, or null when it holds. Call inside `run`. */
  testFailure(version: AppVersion, t: AppVersion['tests'][number], agent: Agent): TestFailure | null {
    const { tx, message } = this.checkTest(version, t, agent)
    if (message === null) return null
    const saw: Record<string, Json> = {}
    for (const r of tx.reads) saw[r.state] = this.store.get(r.state)?.value() ?? null
    return { test: t.name, seq: this.head, message, location: tx.failure?.location ?? t.at, saw }
  }

  /** Checks one test against the committed state: why it fails, or null when it holds. Call inside `run`. */
  checkTest(version: AppVersion, t: AppVersion['tests'][number], agent: Agent): { tx: Transaction; message: string | null } {
    let result: unknown
    const tx = this.execute(version, 'test', t.name, () => (result = t.property()), null, this.lastTime, agent)
    let message: string | null = null
    if (tx.failure) message = tx.failure.reason
    else if (result === false) message = TEST_FAILED
    else if (result !== true) message = `returned ${describeValue(result)}; a test returns true when its invariant holds`
    return { tx, message }
  }

  // ---- errors -------------------------------------------------------------

  /** What went wrong, in words, and where in the notebook (the innermost app frame of its stack). */
  describe(err: unknown, app: CompiledApp): { reason: string; location: SourceLocation | null } {
    let reason: string
    let stack = ''
    try {
      if (err !== null && typeof err === 'object' && typeof (err as Error).message === 'string') {
        const e = err as Error
        reason = e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message
        stack = typeof e.stack === 'string' ? e.stack : ''
      } else reason = `threw ${describeValue(err)}`
    } catch {
      reason = 'threw a value that cannot be described'
    }
    if (FROZEN.test(reason)) reason += ' (values outside state are read-only once the app has loaded: keep what changes between transactions in state.var, state.map, …)'
    return { reason, location: this.locate(stack, app) }
  }

  locate(stack: string, fallback?: CompiledApp): SourceLocation | null {
    for (const m of stack.matchAll(/(loom:app\/[0-9a-f]+\.js):(\d+):(\d+)/g)) {
      const app = this.apps.get(m[1]!) ?? fallback
      const at = app?.locate(Number(m[2]), Number(m[3]) - 1)
      if (at) return at
    }
    return null
  }

  /** Where in the notebook the cell code that called into the host is: its innermost app frame. */
  private here(): SourceLocation | null {
    for (const site of callSites()) {
      const file = site.getFileName()
      if (!file?.startsWith('loom:app/')) continue
      const at = this.apps.get(file)?.locate(site.getLineNumber() ?? 0, (site.getColumnNumber() ?? 1) - 1)
      if (at) return at
    }
    return null
  }

  // ---- the host side of the sandbox's API ------------------------------------

  private fail(tx: Transaction | null, failure: Failure): never {
    if (tx && !tx.failure) tx.failure = failure
    // An abort only unwinds the transaction; its place is already in `failure`, so it skips capturing a stack.
    throw failure.aborted ? this.sandbox.signal(failure.reason) : this.sandbox.error(failure.reason)
  }

  private tx(what: string): Transaction {
    const tx = this.cur
    if (tx) return tx
    throw this.sandbox.error(`${what} can only be used inside a transaction (a method such as step, or a test), not at the top of a cell`)
  }

  private write(tx: Transaction, cell: Cell, value: unknown): Json {
    if (tx.readOnly) this.fail(tx, { reason: `a test cannot change state (it wrote '${cell.name}')`, aborted: false, location: this.here() })
    try {
      return plainValue(value)
    } catch (err) {
      if (!(err instanceof ValueError)) throw err
      return this.fail(tx, { reason: `state '${cell.name}': ${err.path ? err.message : err.problem}`, aborted: false, location: this.here() })
    }
  }

  private key(tx: Transaction, cell: Cell, key: unknown): string {
    if (typeof key === 'string') return key
    return this.fail(tx, { reason: `map '${cell.name}': keys are strings, got ${describeValue(key)}`, aborted: false, location: this.here() })
  }

  /** An abort the API makes on the cell's behalf (an empty queue): a wait, like sys.abort. */
  private wait(tx: Transaction, reason: string): never {
    return this.fail(tx, { reason, aborted: true, location: this.locateWaits ? this.here() : null })
  }

  private host(): HostApi {
    const arr = <T>(items: T[]): T[] => this.sandbox.realm.Array.from(items) as T[]
    return {
      declare: (kind, name, initial) => this.declare(kind as StateKind, name, initial),
      test: (name, property) => {
        const loading = this.loading
        if (!loading) throw this.sandbox.error('test() declares an invariant at the top of a cell, not inside a method')
        if (typeof name !== 'string' || typeof property !== 'function') throw this.sandbox.error('test(name, property): a name and a function returning true when the invariant holds')
        loading.tests.push({ name, property: property as () => unknown, at: this.here() })
      },
      call: (op, id, a, b) => {
        const tx = this.tx('state')
        const cell = this.store.cells[id]!
        switch (op) {
          case OP.varGet: return (cell as VarCell).get(tx)
          case OP.varSet: return (cell as VarCell).set(tx, this.write(tx, cell, a))
          case OP.mapGet: return (cell as MapCell).get(tx, this.key(tx, cell, a))
          case OP.mapHas: return (cell as MapCell).has(tx, this.key(tx, cell, a))
          case OP.mapSet: return (cell as MapCell).set(tx, this.key(tx, cell, a), this.write(tx, cell, b))
          case OP.mapDelete:
            if (tx.readOnly) this.write(tx, cell, null)
            return (cell as MapCell).delete(tx, this.key(tx, cell, a))
          case OP.mapKeys: return arr((cell as MapCell).view(tx).map((e) => e[0]))
          case OP.mapValues: return arr((cell as MapCell).view(tx).map((e) => e[1]))
          case OP.mapEntries: return arr((cell as MapCell).view(tx).map((e) => arr(e)))
          case OP.mapSize: return (cell as MapCell).view(tx).length
          case OP.queuePush: return (cell as QueueCell).push(tx, this.write(tx, cell, a))
          case OP.queueTake: {
            if (tx.readOnly) this.write(tx, cell, null)
            const v = (cell as QueueCell).take(tx)
            return v === undefined ? this.wait(tx, `queue '${cell.name}' is empty`) : v
          }
          case OP.queuePeek: return (cell as QueueCell).peek(tx)
          case OP.queueSize: return (cell as QueueCell).size(tx)
          case OP.queueItems: return arr((cell as QueueCell).items(tx))
          case OP.bagPut: return (cell as BagCell).put(tx, this.write(tx, cell, a))
          case OP.bagTake: {
            if (tx.readOnly) this.write(tx, cell, null)
            const v = (cell as BagCell).take(tx)
            return v === undefined ? this.wait(tx, `bag '${cell.name}' is empty`) : v
          }
          case OP.bagSize: return (cell as BagCell).size(tx)
          case OP.bagItems: return arr((cell as BagCell).items(tx))
          case OP.counterAdd:
            if (typeof a !== 'number' || !Number.isFinite(a)) this.fail(tx, { reason: `counter '${cell.name}': add(n) takes a finite number, got ${describeValue(a)}`, aborted: false, location: this.here() })
            if (tx.readOnly) this.write(tx, cell, null)
            return (cell as CounterCell).add(tx, a as number)
          case OP.counterGet: return (cell as CounterCell).get(tx)
        }
        throw this.sandbox.error(`unknown state operation ${op}`)
      },
      sys: (op, a, b) => this.sys(op, a, b),
    }
  }

  private sys(op: number, a: unknown, b: unknown): unknown {
    // Configuration may be read while declaring state; everything else is a transaction's.
    if (op === SYS.envGet) {
      if (typeof a !== 'string') throw this.sandbox.error('sys.env.get(key): key is a string')
      return Object.hasOwn(this.config.env, a) ? this.config.env[a] : undefined
    }
    if (op === SYS.args) return Object.freeze(this.sandbox.realm.Array.from(this.config.args))
    const tx = this.tx('sys')
    switch (op) {
      case SYS.fork: {
        if (!Number.isSafeInteger(a) || (a as number) < 1) this.fail(tx, { reason: `sys.fork(n): n is a whole number ≥ 1, got ${describeValue(a)}`, aborted: false, location: this.here() })
        return a === 1 ? 0 : tx.choose(a as number)
      }
      case SYS.random: {
        if (typeof a !== 'number' && typeof a !== 'string') this.fail(tx, { reason: `sys.random(index, n): index is a number or string, got ${describeValue(a)}`, aborted: false, location: this.here() })
        if (!Number.isSafeInteger(b) || (b as number) < 1 || (b as number) > 2 ** 48) this.fail(tx, { reason: `sys.random(index, n): n is a whole number from 1 to 2^48, got ${describeValue(b)}`, aborted: false, location: this.here() })
        return this.random.pick(a as number | string, b as number)
      }
      case SYS.now:
        return tx.time
      case SYS.await: {
        if (typeof a !== 'number' || !Number.isFinite(a)) this.fail(tx, { reason: `sys.time.await(t): t is a time in ms since the epoch, got ${describeValue(a)}`, aborted: false, location: this.here() })
        if (tx.time >= (a as number)) return undefined
        tx.wakeAt = a as number
        return this.wait(tx, `waiting until ${new Date(a as number).toISOString()}`)
      }
      case SYS.ttyWrite:
        if (tx.readOnly) this.write(tx, { name: 'tty' } as Cell, null)
        tx.tty += String(a)
        return undefined
      case SYS.ttyRead: {
        if (!Number.isSafeInteger(a) || (a as number) < 1) this.fail(tx, { reason: `sys.tty.read(n): n is a whole number ≥ 1, got ${describeValue(a)}`, aborted: false, location: this.here() })
        const n = a as number
        const start = tx.ttyRead.length
        if (this.ttyIn.length - start < n) {
          tx.waitsForInput = true
          return this.wait(tx, `waiting for ${n} character${n === 1 ? '' : 's'} of input`)
        }
        const text = this.ttyIn.slice(start, start + n)
        tx.ttyRead += text
        return text
      }
      case SYS.abort: {
        const reason = a === undefined ? 'aborted' : typeof a === 'string' ? a : describeValue(a)
        return this.wait(tx, reason)
      }
      case SYS.halt:
        tx.halt = true
        return undefined
      case SYS.ask:
      case SYS.choose:
      case SYS.show:
        return this.agentCall(tx, op, a, b)
      case SYS.log: {
        if (typeof a !== 'string') this.fail(tx, { reason: `sys.log(channel, message): channel is a string, got ${describeValue(a)}`, aborted: false, location: this.here() })
        let message: Json
        try {
          message = plainValue(b)
        } catch (err) {
          if (!(err instanceof ValueError)) throw err
          return this.fail(tx, { reason: `sys.log: the message: ${err.message}`, aborted: false, location: this.here() })
        }
        ;(tx.logs ??= []).push({ channel: a as string, message })
        return undefined
      }
    }
    throw this.sandbox.error(`unknown sys operation ${op}`)
  }

  /** agent.ask / agent.choose / agent.show inside gui(agent). */
  private agentCall(tx: Transaction, op: number, a: unknown, b: unknown): unknown {
    const what = op === SYS.ask ? 'agent.ask(key, default)' : op === SYS.choose ? 'agent.choose(key, options)' : 'agent.show(view)'
    if (tx.kind !== 'gui' || !tx.answers) this.fail(tx, { reason: `${what} is for gui(agent) only`, aborted: false, location: this.here() })
    const plain = (v: unknown, part: string): Json => {
      try {
        return plainValue(v)
      } catch (err) {
        if (!(err instanceof ValueError)) throw err
        return this.fail(tx, { reason: `${what}: ${part}: ${err.message}`, aborted: false, location: this.here() })
      }
    }
    if (op === SYS.show) {
      tx.shown.push(plain(a, 'the view'))
      return undefined
    }
    if (typeof a !== 'string' || !a) this.fail(tx, { reason: `${what}: the key is a non-empty string, got ${describeValue(a)}`, aborted: false, location: this.here() })
    const key = a as string
    if (tx.questions.some((q) => q.key === key)) this.fail(tx, { reason: `${what}: the key '${key}' was asked already; give each question its own key`, aborted: false, location: this.here() })
    const given = Object.hasOwn(tx.answers!, key) ? tx.answers![key]! : undefined
    if (op === SYS.ask) {
      const answer = given !== undefined ? given : plain(b === undefined ? null : b, 'the default')
      tx.questions.push({ key, kind: 'ask', answer })
      return answer
    }
    const options = plain(b, 'the options')
    if (!Array.isArray(options) || options.length === 0) this.fail(tx, { reason: `${what}: options is a non-empty array`, aborted: false, location: this.here() })
    const list = options as Json[]
    const picked = given === undefined ? -1 : list.findIndex((o) => canonicalJson(o) === canonicalJson(given))
    const answer = list[picked < 0 ? 0 : picked]!
    tx.questions.push({ key, kind: 'choose', options: list, answer })
    return answer
  }

  private declare(kind: StateKind, name: unknown, initial: unknown): number {
    const loading = this.loading
    const at = this.here()
    const where = whereAt(this.config.path, at)
    if (!loading) throw this.sandbox.error(`state.${kind}() declares state at the top of a cell, not inside a method`)
    if (typeof name !== 'string' || !name) throw (loading.refused = new LoadError(`state.${kind}(name, …) needs a name (a non-empty string)`, where))
    const first = loading.declared.get(name)
    if (first) {
      throw (loading.refused = new LoadError(`state '${name}' is declared twice: first at ${formatLocation(this.config.path, first.at)}; give each state its own name`, where))
    }
    loading.declared.set(name, { kind, at })
    const existing = this.store.get(name)
    if (existing) {
      if (existing.kind !== kind) {
        throw (loading.refused = new LoadError(`state '${name}' is a ${existing.kind} in the running app but is declared here as a ${kind}; use a new name for the new kind`, where))
      }
      existing.declaredAt = at
      return existing.id
    }
    let value: Json
    try {
      value = initialValue(kind, initial)
    } catch (err) {
      if (!(err instanceof ValueError)) throw err
      throw (loading.refused = new LoadError(`the initial value of state '${name}': ${err.message}`, where))
    }
    const cell = makeCell(kind, this.store.cells.length, name, at, value, this.head + 1)
    this.store.add(cell)
    loading.fresh.push(cell)
    return cell.id
  }
}

function initialValue(kind: StateKind, initial: unknown): Json {
  switch (kind) {
    case 'var':
      if (initial === undefined) throw new ValueError('', 'state.var(name, initial) needs an initial value')
      return plainValue(initial)
    case 'map': {
      if (initial === undefined) return {}
      const v = plainValue(initial)
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ValueError('', 'a map starts from a plain object of entries')
      return v
    }
    case 'queue':
    case 'bag': {
      if (initial === undefined) return []
      const v = plainValue(initial)
      if (!Array.isArray(v)) throw new ValueError('', `a ${kind} starts from an array of items`)
      return v
    }
    case 'counter':
      if (initial === undefined) return 0
      if (typeof initial !== 'number' || !Number.isFinite(initial)) throw new ValueError('', 'a counter starts from a finite number')
      return initial
  }
}

/** A gui event's input: every answer the transaction used, by key, so replay asks nothing. */
function guiInput(tx: Transaction): Json {
  const answers: Record<string, Json> = {}
  for (const q of tx.questions) answers[q.key] = q.answer
  return { answers }
}

export function appFilename(app: CompiledApp): string {
  return `loom:app/${app.codeHash.slice(0, 16)}.js`
}

export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'function') return 'a function'
  if (Array.isArray(v)) return 'an array'
  if (v === null || typeof v !== 'object') return String(v)
  return 'an object'
}
