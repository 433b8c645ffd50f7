// The executor: owns the sandbox, the store, the app's code versions and what
// carries from one transaction to the next. Everything that runs or commits a
// transaction (the engine, previews, replay, exploration) goes through its
// `run` (one time-limited call into the sandbox), `runCall` (the one way a
// transaction runs, in transaction/runTransaction.ts) and `commit` (the one
// way it becomes an event, in transaction/commitTransaction.ts).
import type { Grants } from './effects/grants.ts'
import { EFFECTS_STATE } from './effects/request.ts'
import { Sandbox, type AppFunction, type Outcome } from './sandbox.ts'
import { Store, makeCell, type Cell, type StoreSnapshot } from './store.ts'
import type { Transaction } from './transaction.ts'
import { StableRandom } from './random.ts'
import { plainValue, trustValue, ValueError, type Json } from './values.ts'
import { formatLocation, type CompiledApp, METHODS } from './compile.ts'
import { whereAt } from '../protocol/loomError.ts'
import type { Agent } from './agent.ts'
import type { EventLog } from './log.ts'
import type { Attempt, EventKind, EventRecord, SourceLocation, StateKind, TestFailure, Write } from './event.ts'
import { appFilename, LoadError, type AppVersion, type ExploreDeclarations } from './appVersion.ts'
import { TxContext } from './transaction/txContext.ts'
import { CellHost } from './transaction/hostApi.ts'
import { runTransaction, runTest, type Call } from './transaction/runTransaction.ts'
import { commitTransaction, commitEvent, commitMarker } from './transaction/commitTransaction.ts'
import { runBatch, type TimeLimitHooks } from './transaction/runBatch.ts'
import { describeError, describeValue } from './transaction/describeError.ts'

export { LoadError, notebookSeed, appFilename, type AppVersion } from './appVersion.ts'
export { BATCH_MS } from './transaction/txContext.ts'
export { methodCall, callOf, cannotRun, type Call } from './transaction/runTransaction.ts'
export type { Edit } from './transaction/edits.ts'
export type { TimeLimitHooks } from './transaction/runBatch.ts'

export interface ExecutorConfig {
  path: string
  branch: string
  seed: string
  env: Record<string, string>
  args: string[]
  timeLimitMs: number
  /** Whether a wait records the cell line it came from (exploration, which runs millions, does without). */
  locateWaits?: boolean
  /** What the front matter grants under `effects:` (recorded in the code event; replay sets it from there). */
  effects?: Grants
  /** Whether a safe read with no recorded response may wait for the runner to perform it (false: replay, exploration, a runner without a performer). */
  performsEffects?: boolean
}

interface Loading {
  app: CompiledApp
  filename: string
  declared: Map<string, { kind: StateKind; at: SourceLocation | null }>
  fresh: Cell[]
  tests: AppVersion['tests']
  explore: ExploreDeclarations
  /** The LoadError a declaration threw: it reaches the catch rebuilt in the sandbox's realm, and is given on as it was made. */
  refused?: LoadError
}

const TEST_FAILED = 'returned false'

export class Executor {
  readonly store = new Store()
  readonly sandbox: Sandbox
  /** The running transaction, the commit in progress, the clock floor, unread tty input: written only by transaction/. */
  readonly ctx = new TxContext()
  /** What cell code's calls into the host do. */
  readonly host: CellHost
  /** Every code version compiled, by file name: stack frames name them. */
  readonly apps = new Map<string, CompiledApp>()
  random: StableRandom
  private loading: Loading | null = null

  constructor(readonly config: ExecutorConfig, readonly log: EventLog) {
    this.random = new StableRandom(config.seed)
    this.host = new CellHost(this)
    this.sandbox = new Sandbox(this.host.api())
  }

  get head(): number {
    return this.log.head
  }

  /** The last event's time: no transaction starts earlier. */
  get lastTime(): number {
    return this.ctx.lastTime
  }

  /** Changes the configuration cells read (replay sets what each code event recorded). */
  configure(config: Pick<ExecutorConfig, 'seed' | 'env' | 'args' | 'effects'>): void {
    if (config.seed !== this.config.seed) this.random = new StableRandom(config.seed)
    Object.assign(this.config, config)
  }

  /** Input for sys.tty.read: the live app's transactions read it, and a commit consumes what its transaction read. */
  input(text: string): void {
    this.ctx.ttyIn += text
  }

  // ---- code ----------------------------------------------------------------

  /**
   * Loads compiled code into the sandbox: runs its top level (state
   * declarations, tests) under the time limit. Call inside `run`.
   * Returns the version and the `declare` writes for state it adds.
   */
  load(app: CompiledApp, fn: AppFunction): { version: AppVersion; declares: Write[] } {
    const filename = appFilename(app)
    const loading: Loading = { app, filename, declared: new Map(), fresh: [], tests: [], explore: { symmetric: [], constraints: [], liveness: [], fair: [] } }
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
      // Where recorded responses are kept (effects/request.ts): made with the code that may read them, so every read of one is a read of state.
      if (this.config.effects && !this.store.get(EFFECTS_STATE)) {
        const cell = makeCell('map', this.store.cells.length, EFFECTS_STATE, null, {}, this.head + 1)
        this.store.add(cell)
        loading.fresh.push(cell)
      }
      const declares: Write[] = loading.fresh.map((c) => ({ state: c.name, op: 'declare', kind: c.kind, value: c.value() }))
      return { version: { app, filename, methods, tests: loading.tests, explore: loading.explore }, declares }
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
    this.ctx.lastTime = lastTime
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

  // ---- transactions --------------------------------------------------------

  /** The time a transaction starting now gets: never earlier than the last event's. */
  txTime(now: number): number {
    return now > this.ctx.lastTime ? now : this.ctx.lastTime
  }

  /** True once the current batch has used its share of time: start no more transactions in it. */
  get batchSpent(): boolean {
    return this.ctx.batchSpent
  }

  /**
   * Runs `work` — transactions one after another — in the sandbox, each
   * transaction under its own time limit (`limitMs`, default the configured
   * one). See `runBatch`.
   */
  run<T>(work: () => T, hooks: TimeLimitHooks, limitMs = this.config.timeLimitMs): Outcome<T> {
    return runBatch(this, work, hooks, limitMs)
  }

  /** Runs `call` as one transaction (see `runTransaction`). Call inside `run`. */
  runCall(version: AppVersion, call: Call, time: number, agent: Agent): Transaction {
    return runTransaction(this, version, call, time, agent)
  }

  /** Commits a successful transaction as the next event (see `commitTransaction`). */
  commit(tx: Transaction, codeHash: string, extraWrites?: Write[]): EventRecord {
    return commitTransaction(this, tx, codeHash, extraWrites)
  }

  /** Commits an event re-executed elsewhere (replay): applied and appended as it is. */
  commitEvent(event: EventRecord): void {
    commitEvent(this, event)
  }

  /** Records an event the engine makes itself (a halt marker). */
  commitMarker(kind: EventKind, codeHash: string, time: number): EventRecord {
    return commitMarker(this, kind, codeHash, time)
  }

  attempt(tx: Transaction): Attempt {
    const f = tx.failure!
    const attempt: Attempt = {
      branch: this.config.branch, after: this.head, kind: tx.kind as EventKind, method: tx.method, time: tx.time,
      choices: tx.choices, reads: tx.reads, reason: f.reason, aborted: f.aborted, location: f.location, duration: tx.duration,
    }
    this.log.addAttempt(attempt)
    return attempt
  }


  /** Checks one test against the committed state: how it fails, or null when it holds. Call inside `run`. */
  testFailure(version: AppVersion, t: AppVersion['tests'][number], agent: Agent): TestFailure | null {
    const { tx, message } = this.checkTest(version, t, agent)
    if (message === null) return null
    const saw: Record<string, Json> = {}
    for (const r of tx.reads) saw[r.state] = this.store.get(r.state)?.value() ?? null
    return { test: t.name, seq: this.head, message, location: tx.failure?.location ?? t.at, saw }
  }

  /** Checks one test against the committed state: why it fails, or null when it holds (`tracks`: as runTest's). Call inside `run`. */
  checkTest(version: AppVersion, t: AppVersion['tests'][number], agent: Agent, tracks = true): { tx: Transaction; message: string | null } {
    const { tx, result } = runTest(this, version, t, agent, tracks)
    let message: string | null = null
    if (tx.failure) message = tx.failure.reason
    else if (result === false) message = TEST_FAILED
    else if (result !== true) message = `returned ${describeValue(result)}; a test returns true when its invariant holds`
    return { tx, message }
  }

  /** What went wrong, in words, and where in the notebook. */
  describe(err: unknown, app: CompiledApp): { reason: string; location: SourceLocation | null } {
    return describeError(err, app, this.apps)
  }

  // ---- loading code: the host side of a cell's top level ---------------------

  /** The host side of `test(name, property)` — and of `test.symmetric`, `.constraint`, `.eventually`, `.leadsTo`, `.fair` (`kind`) — while code loads. */
  addTest(name: unknown, property: unknown, kind?: unknown, extra?: unknown): void {
    const loading = this.loading
    const what = kind === undefined ? 'test' : `test.${String(kind)}`
    if (!loading) throw this.sandbox.error(`${what}() declares ${kind === undefined ? 'an invariant' : 'what exploration checks'} at the top of a cell, not inside a method`)
    const at = this.host.here()
    if (kind === 'symmetric') {
      const values = typeof property === 'string' ? (JSON.parse(property) as unknown) : null
      const ok = typeof name === 'string' && Array.isArray(values) && values.length >= 2 && values.every((v) => typeof v === 'string') && new Set(values).size === values.length
      if (!ok) throw this.sandbox.error('test.symmetric(name, values): a name and an array of at least two distinct strings that can be permuted without changing what the app can do')
      loading.explore.symmetric.push({ name: name as string, values: values as string[], at })
      return
    }
    if (kind === 'fair') {
      const move = typeof property === 'string' ? (JSON.parse(property) as { method?: unknown; choices?: unknown } | null) : null
      const choices = move?.choices
      const ok = typeof name === 'string' && typeof move?.method === 'string' && Array.isArray(choices) && choices.length <= 64 && choices.every((c) => Number.isSafeInteger(c) && (c as number) >= 0)
      if (!ok) throw this.sandbox.error("test.fair(name, method, choices?): a name, the method a fair run must take ('step', 'http'…) and, to name one of its actions, the answers its first sys.fork calls give (e.g. [1])")
      loading.explore.fair.push({ name: name as string, method: move!.method as string, choices: choices as number[], at })
      return
    }
    if (typeof name !== 'string' || typeof property !== 'function') {
      throw this.sandbox.error(`${what}(name, property${kind === 'leadsTo' ? ', then' : ''}): a name and a function returning true when ${kind === 'constraint' ? 'a state is to be explored' : 'it holds'}`)
    }
    const p = { name, property: property as () => unknown, at }
    if (kind === undefined) loading.tests.push(p)
    else if (kind === 'constraint') loading.explore.constraints.push(p)
    else if (kind === 'eventually') loading.explore.liveness.push({ ...p, kind })
    else if (kind === 'leadsTo') {
      if (typeof extra !== 'function') throw this.sandbox.error('test.leadsTo(name, p, q): two functions — whenever p holds, q holds then or later')
      loading.explore.liveness.push({ ...p, kind, then: extra as () => unknown })
    } else throw this.sandbox.error(`${what} is no declaration`)
  }

  /** The host side of `state.kind(name, initial)` while code loads: the cell's id. */
  declare(kind: StateKind, name: unknown, initial: unknown): number {
    const loading = this.loading
    const at = this.host.here()
    const where = whereAt(this.config.path, at)
    if (!loading) throw this.sandbox.error(`state.${kind}() declares state at the top of a cell, not inside a method`)
    if (typeof name !== 'string' || !name) throw (loading.refused = new LoadError(`state.${kind}(name, …) needs a name (a non-empty string)`, where))
    if (name === EFFECTS_STATE) throw (loading.refused = new LoadError(`state '${name}' is Loom's (the responses effects recorded); give the state another name`, where))
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
    case 'set':
    case 'queue':
    case 'bag': {
      if (initial === undefined) return []
      const v = plainValue(initial)
      if (!Array.isArray(v)) throw new ValueError('', `a ${kind} starts from an array of ${kind === 'set' ? 'elements' : 'items'}`)
      return v
    }
    case 'counter':
      if (initial === undefined) return 0
      if (typeof initial !== 'number' || !Number.isFinite(initial)) throw new ValueError('', 'a counter starts from a finite number')
      return initial
  }
}
