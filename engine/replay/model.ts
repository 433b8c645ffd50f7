// An app as exploration sees it: its code loaded once into an executor, and
// worlds — immutable states — that the executor's store is pointed at in
// O(cells) before each transaction. A successor world shares every cell the
// transaction did not write with its parent, so exploring never re-runs a
// prefix of history and never copies state that did not change.
import { notebookGrants } from '../runtime/effects/grants.ts'
import { Executor, LoadError, notebookSeed, methodCall, type AppVersion } from '../runtime/executor.ts'
import { compileNotebook, type CompiledApp, type MethodName } from '../runtime/compile.ts'
import type { KeptCell } from '../runtime/transformCell.ts'
import { parseNotebook } from '../runtime/notebook.ts'
import type { Agent } from '../runtime/agent.ts'
import { MemoryLog, type EventLog } from '../runtime/log.ts'
import { canonicalJson, plainCopy, type Json } from '../runtime/values.ts'
import { Transaction } from '../runtime/transaction.ts'
import type { StateKind, Write } from '../runtime/event.ts'
import type { Moment } from './seek.ts'
import { Memo, outcomeOf, type Leaves, type Outcome } from './memo.ts'
import type { HistoryLog } from './historyLog.ts'
import type { RecordedEffect, RecordedInput } from './recordedInputs.ts'
import { DEFAULT_CLIENT_REQUESTS } from './clients.ts'
import { prepareMoment, type PreparedMoment } from './prepareMoment.ts'
import { clientMovesIn, type ClientMoves } from './clientMoves.ts'
import { Worlds, delivered, memoSuffix, worldAt, type Situation, type World } from './worlds.ts'
import { EFFECTS_STATE, effectWrites, type EffectInput, type EffectResponse } from '../runtime/effects/request.ts'
import { EffectChoices, FAULTS, type ActionMoveInput, type EffectMoveInput, type EffectOutcome, type Fault, type WantedEffect } from './effectOutcomes.ts'
import { ACTION_ID, askedOf, isOutcomeInput, pendingAction, type Action as ActionRequest, type Outcome as ActionOutcomeShape } from '../runtime/effects/action.ts'
import { requestHash } from '../runtime/effects/request.ts'
import { forEachEntry, type MapSlot } from '../runtime/state/map.ts'
import { coverageOf, instrument, type Coverage } from './coverage.ts'
import { checkDeclarations } from './declarations.ts'
import { TEST_AGENT, WorldTests, type Broken } from './worldTests.ts'

export { SECOND, type Broken } from './worldTests.ts'

/** One transaction exploration can run in a world: the app's own (start, step), a recorded input, or a client's request. */
export interface Action {
  method: MethodName
  input: Json
  /** The memo its outcomes are kept in: equal memos, equal outcomes for equal reads and choices. */
  memo: string
  /** The recorded input it delivers (its index in Model.recorded). */
  recorded?: number
  /** A request clients() sent. */
  client?: boolean
  /** An action's outcome recorded without effect(result), as a live run does when the handler fails. */
  bare?: boolean
}

/** An action pending in a world: its id, what it asks, and the hash of its request. */
interface Pending {
  id: string
  action: ActionRequest
  hash: string
}

export interface ModelOptions {
  /** The notebook's file name, for messages and the default seed. */
  path?: string
  /**
   * Explore from this moment of a log (the state after event `seq`), with the notebook's code: the log
   * itself, or what prepareMoment read from it (a confined process has no log to read, DESIGN §9).
   */
  from?: ({ log: HistoryLog } & Moment) | PreparedMoment
  /** The log the executor commits to (materialising a trace); exploration itself logs nothing. */
  log?: EventLog
  branch?: string
  timeLimitMs?: number
  /** The clock exploration starts at (default: the starting event's time, or 0); it moves on only to deadlines transactions await. */
  time?: number
  /** Cells compiled already (compileCellsNatively): a confined process or thread need not start esbuild as WebAssembly. */
  cells?: KeptCell[]
  /** Requests clients() may send along one trace (default DEFAULT_CLIENT_REQUESTS). */
  requests?: number
  /** What sys.env shows (`--env K=V`, as `loom run` has); without it, the configuration recorded at the moment, or none. */
  env?: Record<string, string>
  /** The faults an effect's outcome may be besides its recorded responses (`--faults`; default: every fault). */
  faults?: readonly Fault[]
  /** `--coverage`: run code instrumented to tell which lines of each cell ran (coverage.ts). */
  coverage?: boolean
}

/**
 * The app's transactions in exploration's worlds (the arithmetic on worlds
 * themselves, keys and hashes included, is Worlds').
 */
export class Model extends Worlds {
  private readonly methodMemos = new Map<string, Memo<World>>()
  private readonly clientMemo = new Map<number, ClientMoves>()
  private lastAction: Action | null = null
  private lastMemo: Memo<World> | null = null
  private readonly plain = { step: [{ method: 'step', input: null, memo: 'step' }] as Action[], start: [{ method: 'start', input: null, memo: 'start' }] as Action[] }
  /** The world exploration starts from: the store as loaded. */
  readonly root: World
  /** The notebook grants effects: their outcomes are moves (effectOutcomes.ts), and what was not tried is reported. */
  readonly grantsEffects: boolean
  /** The answers an effect may get: recorded responses and faults. */
  readonly effectChoices: EffectChoices
  /** Per slot of `sys.effects`: the actions pending in it. */
  private readonly pendingBySlot = new WeakMap<object, Pending[]>()
  /** Per response (the same object for each move that gives it), per hash and clock: the writes that answer it. */
  private readonly answered = new WeakMap<object, Map<string, { writes: Write[]; halt: false }>>()
  /** With `coverage`: which lines of each cell have run so far. */
  coverage: (() => Coverage[]) | null = null
  /** What is checked in each world found: tests, constraints, liveness predicates. */
  readonly tests: WorldTests

  private constructor(
    readonly exec: Executor,
    readonly app: CompiledApp,
    readonly version: AppVersion,
    /** `declare` writes for state the code adds at the start; with `codeChanged`, what a code event must record. */
    readonly declares: Write[],
    /** The code event's input: the configuration the code runs with. */
    readonly codeInput: Json,
    /** True when the start needs a code event (a fresh history, or code other than the one in force there). */
    readonly codeChanged: boolean,
    readonly time: number,
    root: { started: boolean; halted: boolean },
    readonly from: Moment | null,
    /** The inputs recorded after the moment explored from, each delivered once along a trace. */
    readonly recorded: readonly RecordedInput[],
    /** What the log recorded that exploration leaves out, in words. */
    readonly left: readonly string[],
    /** Requests clients() may send along one trace. */
    readonly requests: number,
    faults: readonly Fault[],
    recordedEffects: readonly RecordedEffect[],
  ) {
    // Symmetry renames values, so it reads each one back from its number: keep their texts then.
    super(exec.store, () => exec.sandbox.realm.JSON, { keepTexts: version.explore.symmetric.length > 0 })
    this.grantsEffects = exec.config.effects !== undefined
    const symmetric = version.explore.symmetric
    if (symmetric.length) this.permuting(symmetric.map((s) => s.values))
    this.root = this.current(root.started, root.halted, this.situation(time, 0, '', 0))
    this.effectChoices = new EffectChoices(faults)
    this.tests = new WorldTests(exec, version, this)
    // Responses held at the moment (a read waits for one again once its maxAge has passed), then those recorded after it.
    const held = exec.store.get(EFFECTS_STATE)
    if (held) for (const [hash, v] of Object.entries(plainCopy(held.value()) as Record<string, { response?: Json }>)) if (v && typeof v.response === 'object' && v.response !== null) this.effectChoices.observe(hash, v.response as unknown as EffectResponse, -1)
    for (const e of recordedEffects) {
      if ('hash' in e) this.effectChoices.observe(e.hash, e.response as unknown as EffectResponse, e.seq)
      else this.effectChoices.observeOutcome(e.id, e.asked, e.outcome as unknown as ActionOutcomeShape, e.seq)
    }
  }

  /** Compiles and loads a notebook at its beginning or at a moment of a log. Throws NotebookError, CompileError or LoadError. */
  static async create(text: string, options: ModelOptions = {}): Promise<Model> {
    const path = options.path ?? '<notebook>'
    const notebook = parseNotebook(text, path)
    const given = new Map(options.cells ?? [])
    const app = await compileNotebook(notebook, given.size ? { get: (key) => given.get(key) ?? null, put: () => {} } : undefined)
    const from = options.from ? ('log' in options.from ? prepareMoment(options.from.log, options.from) : options.from) : null
    let config = { seed: notebookSeed(notebook, path), env: {} as Record<string, string>, args: [] as string[] }
    const code = from?.code ?? null
    // The recorded configuration keeps sys.random and the agent's seed as they were.
    if (code) config = { ...config, ...(code.input as typeof config) }
    const recordedEnv = canonicalJson(config.env as Json)
    // What the notebook grants is configuration too, as the engine's code event records it (replay declares sys.effects from it).
    const grants = notebookGrants(notebook)
    const recordedGrants = canonicalJson(((config as { effects?: Json }).effects ?? null) as Json)
    const { effects: _recorded, ...rest } = config as typeof config & { effects?: unknown }
    config = grants ? ({ ...rest, effects: grants } as typeof config) : rest
    if (options.env) config = { ...config, env: options.env }
    const exec = new Executor(
      { path, branch: options.branch ?? from?.branch ?? 'main', seed: config.seed, env: config.env, args: config.args, timeLimitMs: options.timeLimitMs ?? 1000, locateWaits: false, effects: grants },
      options.log ?? new MemoryLog(),
    )
    const time = options.time ?? from?.time ?? 0
    if (from) exec.restore(from.state, time)
    // Coverage runs code with a marker before each statement; its lines are the app's.
    const counted = options.coverage ? instrument(app) : null
    const fn = exec.compile(counted?.app ?? app)
    const hits = counted ? exec.sandbox.countHits(counted.points.length) : null
    const loaded = exec.run(() => exec.load(counted?.app ?? app, fn), { overran: () => false })
    if (!loaded.ok) throw new LoadError(`${path}: loading the notebook's cells ran past the time limit of ${exec.config.timeLimitMs} ms`)
    const { version, declares } = loaded.value
    const codeChanged = !code || code.codeHash !== app.codeHash || declares.length > 0 || canonicalJson(config.env as Json) !== recordedEnv || canonicalJson((grants ?? null) as unknown as Json) !== recordedGrants
    const root = { started: from?.started ?? false, halted: from?.last?.kind === 'halt' }
    checkDeclarations(path, version, (from?.inputs.length ?? 0) > 0)
    const requests = options.requests ?? DEFAULT_CLIENT_REQUESTS
    if (!Number.isSafeInteger(requests) || requests < 0) throw new RangeError(`--requests is a whole number of requests clients() may send along one trace, got ${requests}`)
    const model = new Model(exec, app, version, declares, config, codeChanged, time, root, from ? { branch: from.branch, seq: from.seq } : null, from?.inputs ?? [], from?.left ?? [], requests, options.faults ?? FAULTS, from?.effects ?? [])
    if (counted && hits) model.coverage = () => coverageOf(counted.points, hits(), app.sources.map((s) => s.id))
    return model
  }

  /**
   * 1 when the root is the app before its start() commits: no state of the
   * model but the place its initial states are reached from — start() under
   * every answer to its choices commits them (TLC's Init) — so it is not
   * counted among the states found. Otherwise 0.
   */
  get uncounted(): number {
    return !this.root.started && !this.root.halted && this.version.methods.start ? 1 : 0
  }

  /** Whether the app takes input from outside (http, gui): then a state where every step waits is not a deadlock. */
  get takesInput(): boolean {
    return !!(this.version.methods.http || this.version.methods.gui)
  }

  /** The transaction that can run in a world: `start` until it commits, then `step`; none once halted. */
  methodAt(world: World): MethodName | null {
    if (world.halted) return null
    if (!world.started && this.version.methods.start) return 'start'
    return this.version.methods.step ? 'step' : null
  }

  /**
   * The transactions that can run in a world besides what clients() sends:
   * `start` until it commits; then `step`, and each recorded http or gui
   * input not delivered yet. None once halted.
   */
  actionsAt(world: World): Action[] {
    const method = this.methodAt(world)
    if (method === 'start' || world.halted) return method === 'start' ? this.memoed(world, this.plain.start) : []
    const own = method ? this.memoed(world, this.plain.step) : []
    const pending = this.pendingIn(world)
    if (!this.recorded.length && !pending.length) return own
    const actions = own.slice()
    this.recorded.forEach((r, i) => {
      if (r.kind === 'tty' || delivered(world.at, i) || !this.version.methods[r.kind]) return
      actions.push({ method: r.kind, input: r.input, memo: `${r.kind}#${i}${memoSuffix(world.at, this.time)}`, recorded: i })
    })
    // The world answers each pending action, whoever waits for it: each outcome is the effect event
    // that records it, a transaction that runs effect(result) if the app has one.
    for (const p of pending) {
      this.effectChoices.actionOutcomes(p.id, p.action, p.hash).forEach((o, k) => {
        const input: ActionMoveInput = { id: p.id, asked: askedOf(p.action.request), outcome: o.outcome, ms: 0 }
        if (o.recorded !== undefined) input.recorded = o.recorded
        actions.push({ method: 'effect', input: input as unknown as Json, memo: `effect ${p.id} ${p.hash} ${k}${memoSuffix(world.at, this.time)}` })
      })
    }
    return actions
  }

  /**
   * An action's outcome whose effect(result) failed (threw, aborted or waited): live, the outcome is
   * recorded without the handler then, so exploration takes that move too.
   */
  withoutHandler(action: Action): Action | null {
    return action.method === 'effect' && !action.bare && this.version.methods.effect && isOutcomeInput(action.input) ? { ...action, bare: true, memo: `${action.memo} bare` } : null
  }

  /** The actions pending in a world (committed, no outcome yet), in the order they were made. */
  pendingIn(world: World): readonly Pending[] {
    const cell = this.exec.store.get(EFFECTS_STATE)
    if (!cell || cell.kind !== 'map') return []
    const slot = world.slots[cell.id] as MapSlot
    let out = this.pendingBySlot.get(slot)
    if (!out) {
      const list: Pending[] = []
      forEachEntry(slot, (id, e) => {
        const action = ACTION_ID.test(id) ? pendingAction(e.value) : null
        if (action) list.push({ id, action: plainCopy(action as unknown as Json) as unknown as ActionRequest, hash: requestHash(action.request) })
      })
      this.pendingBySlot.set(slot, (out = list))
    }
    return out
  }

  /** Start and step in a situation other than the start's: their outcomes may differ (the clock, tty input). */
  private memoed(world: World, plain: Action[]): Action[] {
    const tail = memoSuffix(world.at, this.time)
    return tail ? [{ ...plain[0]!, memo: plain[0]!.memo + tail }] : plain
  }

  /** The recorded tty input to deliver next in a world (tty is a stream: in order), or -1. */
  nextTty(world: World): number {
    if (world.halted || !this.running(world)) return -1
    return this.recorded.findIndex((r, i) => r.kind === 'tty' && !delivered(world.at, i))
  }

  /** Whether clients() may still send a request in a world (false: it has none, or the budget is spent). */
  clientsMay(world: World): boolean {
    return !!this.version.methods.clients && !!this.version.methods.http && this.running(world) && !world.halted && world.at.sent < this.requests
  }

  /** Whether the app takes input in a world: once its start() (if it has one) has committed. */
  running(world: World): boolean {
    return world.started || !this.version.methods.start
  }

  /**
   * What the app's clients send next in a world: clients() called read-only
   * under every sequence of answers to its choices (at most `max`), each
   * distinct request an http action. Call inside `exec.run`.
   */
  clientMoves(world: World, max: number): ClientMoves {
    const key = this.key(world)
    let moves = this.clientMemo.get(key)
    if (!moves) this.clientMemo.set(key, (moves = clientMovesIn(this, world, max)))
    return moves
  }

  /** Where a world stands after `action` commits with `outcome` in it. */
  situationAfter(world: World, action: Action, outcome: { ttyRead: number }): Situation {
    const at = world.at
    if (action.recorded === undefined && !action.client && !outcome.ttyRead) return at
    return this.situation(
      at.clock,
      action.recorded === undefined ? at.delivered : at.delivered + 2 ** action.recorded,
      outcome.ttyRead ? at.tty.slice(outcome.ttyRead) : at.tty,
      action.client ? at.sent + 1 : at.sent,
    )
  }

  /** The same world with recorded tty input `i` typed. */
  ttyTyped(world: World, i: number): World {
    const at = world.at
    return worldAt(world, this.situation(at.clock, at.delivered + 2 ** i, at.tty + (this.recorded[i]!.input as string), at.sent))
  }

  /** The answers an effect waited for in some world may get: each is a move (effectAnswered). */
  effectOutcomes(want: WantedEffect): EffectOutcome[] {
    return this.effectChoices.outcomes(want)
  }

  /**
   * The world after the effect event that answers `want` with `outcome`
   * commits at the world's clock: the same writes a live run's effect event
   * makes, so a transaction that reads it runs as it would live.
   */
  effectAnswered(world: World, answer: EffectMoveInput): World {
    let byKey = this.answered.get(answer.response)
    if (!byKey) this.answered.set(answer.response, (byKey = new Map()))
    const key = `${answer.hash}@${world.at.clock}`
    let tx = byKey.get(key)
    if (!tx) {
      const input: EffectInput = { request: answer.request, hash: answer.hash, response: answer.response, ms: 0 }
      // Only the `set`: the state exists wherever effects are granted. Values made in the sandbox's realm, as the event's are.
      const writes = effectWrites(input, world.at.clock).filter((w) => w.op === 'set')
      tx = { writes: this.exec.inRealm(writes) as unknown as Write[], halt: false }
      byKey.set(key, tx)
    }
    // Not a start: an effect answered before start() commits leaves it to commit.
    return this.after(world, tx, 'step')
  }

  /** Points the store at a world. */
  enter(world: World): void {
    const cells = this.cells
    for (let i = 0; i < cells.length; i++) cells[i]!.adopt(world.slots[i]!)
  }

  /** Runs `method` in `world`, its choices answered by `agent`. Call inside `exec.run`. */
  run(world: World, method: MethodName, agent: Agent, input: Json = null, bare = false): Transaction {
    this.enter(world)
    // Without tty input delivered, a read waits (the executor's own input is empty while exploring).
    const call = bare ? { kind: 'effect' as const, method: null, input } : methodCall(method, input, world.at.tty || undefined)
    return this.exec.runCall(this.version, call, world.at.clock, agent)
  }

  /**
   * What `method` does in `world` with the agent's answers: remembered from
   * an earlier run that read the same values and made the same choices, or
   * run now. Call inside `exec.run`.
   */
  outcome(world: World, action: MethodName | Action, agent: Agent): Outcome {
    const a = typeof action === 'string' ? this.memoed(world, action === 'start' ? this.plain.start : [{ method: action, input: null, memo: action }])[0]! : action
    const memo = this.memoOf(a)
    const known = memo.find(world, agent)
    if (known) return known
    const tx = this.run(world, a.method, agent, a.input, a.bare)
    const outcome = outcomeOf(tx)
    memo.add(world, tx, outcome)
    return outcome
  }

  /** Every outcome of `action` in `world` in the order an EveryChoiceAgent tries them, if all (at most `max`) are remembered (Memo.every); else null. */
  remembered(world: World, action: Action, max: number): Leaves | null {
    return this.memoOf(action).every(world, max)
  }

  private memoOf(a: Action): Memo<World> {
    // A state's leaves ask for one action's memo over and over: the last one is at hand without a lookup by name.
    let memo = a === this.lastAction ? this.lastMemo! : this.methodMemos.get(a.memo)
    if (!memo) this.methodMemos.set(a.memo, (memo = new Memo(`${a.method}()`, this)))
    this.lastAction = a
    this.lastMemo = memo
    return memo
  }

  /** The tests that do not hold in `world` (remembered like transactions). Call inside `exec.run`. */
  brokenTests(world: World): Broken[] {
    return this.tests.broken(world)
  }

  /** Every state's value in `world` as plain data, by name. */
  values(world: World): Record<string, { kind: StateKind; value: Json }> {
    this.enter(world)
    return plainCopy(this.exec.store.values())
  }

  /** A transaction object for the code event that starts a materialised trace. */
  codeTransaction(): Transaction {
    return new Transaction('code', null, this.codeInput, this.time, TEST_AGENT)
  }
}

