// An app as exploration sees it: its code loaded once into an executor, and
// worlds — immutable states — that the executor's store is pointed at in
// O(cells) before each transaction. A successor world shares every cell the
// transaction did not write with its parent, so exploring never re-runs a
// prefix of history and never copies state that did not change.
import { Executor, LoadError, notebookSeed, methodCall, type AppVersion } from '../runtime/executor.ts'
import { compileNotebook, type CompiledApp, type KeptCell, type MethodName } from '../runtime/compile.ts'
import { parseNotebook } from '../runtime/notebook.ts'
import { FairAgent, mix, type Agent } from '../runtime/agent.ts'
import { MemoryLog, type EventLog } from '../runtime/log.ts'
import { canonicalText, plainCopy, trustValue, type Json } from '../runtime/values.ts'
import { Transaction } from '../runtime/transaction.ts'
import type { Cell, Slot, StoreSnapshot } from '../runtime/store.ts'
import type { EventRecord, SourceLocation, StateKind, Write } from '../runtime/event.ts'
import { seekStore, type Moment } from './seek.ts'
import { Memo, type Outcome } from './memo.ts'
import type { HistoryLog } from './historyLog.ts'
import { Texts, Tuples } from './worldKeys.ts'
import { recordedAfter, type RecordedInput } from './recordedInputs.ts'
import { clientRequest, DEFAULT_CLIENT_REQUESTS } from './clients.ts'
import { runTest } from '../runtime/transaction/runTransaction.ts'
import { EveryChoiceAgent } from '../runtime/agent.ts'
import type { HttpRequest } from '../runtime/http.ts'

/** One state of the app. Never changed once made; unchanged cells are shared between worlds. */
export interface World {
  /** Per cell id: the slot the cell holds, shared with every world where that cell is the same. */
  readonly slots: readonly Slot[]
  /** Per cell id: its value's canonical text, as a number (equal texts, equal numbers). */
  readonly keys: readonly number[]
  /** Whether `start` has committed (until then it is the only transaction). */
  readonly started: boolean
  /** Whether a transaction called sys.halt (then nothing more happens). */
  readonly halted: boolean
  /** Where it stands besides its state: the clock, the inputs delivered, tty input unread, client requests sent. */
  readonly at: Situation
}

/**
 * What besides state tells two worlds apart. The clock is in it because a
 * transaction may read it (sys.time.now) and awaits compare with it; it only
 * ever jumps to a deadline some transaction awaits, so it adds states only
 * where time matters. Shared between worlds: equal situations, one object.
 */
export interface Situation {
  readonly clock: number
  /** Bit i (2 ** i) set: recorded input i was delivered. */
  readonly delivered: number
  /** Tty input delivered and not read yet. */
  readonly tty: string
  /** Requests clients() has sent along the way here. */
  readonly sent: number
  /** Its canonical text as a number (Texts): part of the world's key. */
  readonly key: number
}

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
}

/** What clients() sends in a world: each distinct request, or what is wrong with it. */
export interface ClientMoves {
  actions: Action[]
  problem: { message: string; location: SourceLocation | null } | null
  /** It had more choice sequences than were tried. */
  cut: boolean
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
}

const TEST_AGENT = new FairAgent(0)

/** What exploring from a moment of a log needs of the log, read once (plain data: it crosses to a confined process). */
export interface PreparedMoment extends Moment {
  /** The event at the moment, and the last code event up to it. */
  last: EventRecord | null
  code: EventRecord | null
  /** Whether `start` committed by then. */
  started: boolean
  state: StoreSnapshot
  /** The clock at the moment: its event's time, or at event 0 the first event's. */
  time: number
  /** The inputs the branch recorded after the moment, which exploration delivers; what it leaves out, in words. */
  inputs: RecordedInput[]
  left: string[]
}

/** Reads what Model.create needs of a moment of `log`. Throws LoadError for a moment the log does not have. */
export function prepareMoment(log: HistoryLog, from: Moment): PreparedMoment {
  const info = log.branchInfo(from.branch)
  if (!info) throw new LoadError(`${log.path}: there is no branch '${from.branch}'`)
  // Event 0 is the branch's start, before its first event: the notebook's code from a fresh state, with every input the branch recorded.
  if (!Number.isSafeInteger(from.seq) || from.seq < 0 || from.seq > info.head) {
    throw new LoadError(`${log.path}: branch '${from.branch}' has events 0..${info.head}; there is no event ${from.seq} to explore from`)
  }
  const last = from.seq === 0 ? null : log.event(from.branch, from.seq)
  const codeSeq = from.seq === 0 ? null : log.lastOfKind(from.branch, 'code', from.seq)
  const code = codeSeq === null ? null : log.event(from.branch, codeSeq)
  const started = from.seq > 0 && log.lastOfKind(from.branch, 'start', from.seq) !== null
  const { inputs, left } = recordedAfter(log, from.branch, from.seq, info.head)
  const time = last?.time ?? (info.head ? log.event(from.branch, 1)?.time : undefined) ?? 0
  return { branch: from.branch, seq: from.seq, last, code, started, state: seekStore(log, from).serialize(), time, inputs, left }
}

/** A test that does not hold in a world: its name, why, and where. */
export interface Broken {
  test: string
  message: string
  location: SourceLocation | null
}

export class Model {
  private readonly memos = new Map<string, Memo<World>>()
  private readonly worlds = {
    valueOf: (world: World, cell: number, key: string | undefined): string | number => {
      if (key === undefined) return world.keys[cell]!
      const v = this.cells[cell]!.slots.read(world.slots[cell]!, key)
      return v === undefined ? '~' : canonicalText(v)
    },
    cellId: (name: string): number => this.exec.store.byName.get(name)!.id,
  }

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
    readonly root: World,
    private readonly texts: Texts,
    readonly from: Moment | null,
    /** The inputs recorded after the moment explored from, each delivered once along a trace. */
    readonly recorded: readonly RecordedInput[],
    /** What the log recorded that exploration leaves out, in words. */
    readonly left: readonly string[],
    /** Requests clients() may send along one trace. */
    readonly requests: number,
  ) {
    this.plain = { step: [{ method: 'step', input: null, memo: 'step' }], start: [{ method: 'start', input: null, memo: 'start' }] }
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
    const last = from?.last ?? null
    // The recorded configuration keeps sys.random and the agent's seed as they were.
    if (code) config = { ...config, ...(code.input as typeof config) }
    const exec = new Executor(
      { path, branch: options.branch ?? from?.branch ?? 'main', seed: config.seed, env: config.env, args: config.args, timeLimitMs: options.timeLimitMs ?? 1000, locateWaits: false },
      options.log ?? new MemoryLog(),
    )
    const time = options.time ?? from?.time ?? 0
    if (from) exec.restore(from.state, time)
    const fn = exec.compile(app)
    const loaded = exec.run(() => exec.load(app, fn), { overran: () => false })
    if (!loaded.ok) throw new LoadError(`${path}: loading the notebook's cells ran past the time limit of ${exec.config.timeLimitMs} ms`)
    const { version, declares } = loaded.value
    const codeChanged = !code || code.codeHash !== app.codeHash || declares.length > 0
    const started = from?.started ?? false
    const texts = new Texts()
    const root = worldOf(exec.store.cells, started, last?.kind === 'halt', texts, situationOf(new Map(), texts, time, 0, '', 0))
    const requests = options.requests ?? DEFAULT_CLIENT_REQUESTS
    if (!Number.isSafeInteger(requests) || requests < 0) throw new RangeError(`--requests is a whole number of requests clients() may send along one trace, got ${requests}`)
    const model = new Model(exec, app, version, declares, config, codeChanged, time, root, texts, from ? { branch: from.branch, seq: from.seq } : null, from?.inputs ?? [], from?.left ?? [], requests)
    model.situations.set(root.at.key, root.at)
    return model
  }

  get cells(): readonly Cell[] {
    return this.exec.store.cells
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

  private readonly plain: { step: Action[]; start: Action[] }
  private readonly situations = new Map<number, Situation>()

  /**
   * The transactions that can run in a world besides what clients() sends:
   * `start` until it commits; then `step`, and each recorded http or gui
   * input not delivered yet. None once halted.
   */
  actionsAt(world: World): Action[] {
    const method = this.methodAt(world)
    if (method === 'start' || world.halted) return method === 'start' ? this.memoed(world, this.plain.start) : []
    const own = method ? this.memoed(world, this.plain.step) : []
    if (!this.recorded.length) return own
    const actions = own.slice()
    this.recorded.forEach((r, i) => {
      if (r.kind === 'tty' || delivered(world.at, i) || !this.version.methods[r.kind]) return
      actions.push({ method: r.kind, input: r.input, memo: `${r.kind}#${i}${suffix(world.at, this.time)}`, recorded: i })
    })
    return actions
  }

  /** Start and step in a situation other than the start's: their outcomes may differ (the clock, tty input). */
  private memoed(world: World, plain: Action[]): Action[] {
    const tail = suffix(world.at, this.time)
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

  private readonly clientMemo = new Map<number, ClientMoves>()

  /**
   * What the app's clients send next in a world: clients() called read-only
   * under every sequence of answers to its choices (at most `max`), each
   * distinct request an http action. Call inside `exec.run`.
   */
  clientMoves(world: World, max: number): ClientMoves {
    const key = this.key(world)
    const known = this.clientMemo.get(key)
    if (known) return known
    const fn = this.version.methods.clients!
    const at = this.app.methodAt.clients ?? null
    const check = { name: 'clients()', property: fn as () => unknown, at }
    const agent = new EveryChoiceAgent()
    const seen = new Set<string>()
    const moves: ClientMoves = { actions: [], problem: null, cut: false }
    for (let runs = 1; ; runs++) {
      this.enter(world)
      const { tx, result } = runTest(this.exec, this.version, check, agent)
      if (tx.failure) {
        moves.problem = { message: `clients() ${tx.failure.aborted ? 'aborts' : 'throws'}: ${tx.failure.reason.replace('a test cannot', 'clients() cannot')}`, location: tx.failure.location ?? at }
        break
      }
      const answer = clientRequest(result)
      if ('problem' in answer) {
        moves.problem = { message: answer.problem, location: at }
        break
      }
      if (answer.request) this.addClient(moves, seen, answer.request, world)
      if (!agent.next(tx.choices.length)) break
      if (runs >= max) {
        moves.cut = true
        break
      }
    }
    this.clientMemo.set(key, moves)
    return moves
  }

  private addClient(moves: ClientMoves, seen: Set<string>, request: HttpRequest, world: World): void {
    const text = canonicalText(request as unknown as Json)
    if (seen.has(text)) return
    seen.add(text)
    moves.actions.push({ method: 'http', input: request as unknown as Json, memo: `http ${text}${suffix(world.at, this.time)}`, client: true })
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

  /** The same world with the clock moved on to `time` (a deadline some transaction awaits). */
  clockMoved(world: World, time: number): World {
    const at = world.at
    return { ...world, at: this.situation(time, at.delivered, at.tty, at.sent) }
  }

  /** The same world with recorded tty input `i` typed. */
  ttyTyped(world: World, i: number): World {
    const at = world.at
    return { ...world, at: this.situation(at.clock, at.delivered + 2 ** i, at.tty + (this.recorded[i]!.input as string), at.sent) }
  }

  /** The one Situation object for these values. */
  situation(clock: number, delivered: number, tty: string, sent: number): Situation {
    return situationOf(this.situations, this.texts, clock, delivered, tty, sent)
  }

  /** Points the store at a world. */
  enter(world: World): void {
    const cells = this.exec.store.cells
    for (let i = 0; i < cells.length; i++) cells[i]!.adopt(world.slots[i]!)
  }

  /** Runs `method` in `world`, its choices answered by `agent`. Call inside `exec.run`. */
  run(world: World, method: MethodName, agent: Agent, input: Json = null): Transaction {
    this.enter(world)
    // Without tty input delivered, a read waits (the executor's own input is empty while exploring).
    return this.exec.runCall(this.version, methodCall(method, input, world.at.tty || undefined), world.at.clock, agent)
  }

  /**
   * What `method` does in `world` with the agent's answers: remembered from
   * an earlier run that read the same values and made the same choices, or
   * run now. Call inside `exec.run`.
   */
  outcome(world: World, action: MethodName | Action, agent: Agent): Outcome {
    const a = typeof action === 'string' ? this.memoed(world, action === 'start' ? this.plain.start : [{ method: action, input: null, memo: action }])[0]! : action
    let memo = this.methodMemos.get(a.memo)
    if (!memo) this.methodMemos.set(a.memo, (memo = this.memo(a.memo, a.method)))
    const known = memo.find(world, agent)
    if (known) return known
    const tx = this.run(world, a.method, agent, a.input)
    const outcome = outcomeOf(tx)
    memo.add(world, tx, outcome)
    return outcome
  }

  /** The tests that do not hold in `world` (remembered like transactions). Call inside `exec.run`. */
  brokenTests(world: World): Broken[] {
    const broken: Broken[] = []
    const tests = this.version.tests
    for (let i = 0; i < tests.length; i++) {
      const t = tests[i]!
      const memo = (this.testMemos[i] ??= this.memo(`test '${t.name}'`, `test '${t.name}'`))
      let outcome = memo.find(world, TEST_AGENT.reset(0))
      if (!outcome) {
        this.enter(world)
        const { tx, message } = this.exec.checkTest(this.version, t, TEST_AGENT.reset(0))
        outcome = outcomeOf(tx)
        outcome.failure = message === null ? null : { reason: message, aborted: false, location: tx.failure?.location ?? t.at }
        memo.add(world, tx, outcome)
      }
      if (outcome.failure) broken.push({ test: t.name, message: outcome.failure.reason, location: outcome.failure.location })
    }
    return broken
  }

  private readonly testMemos: Memo<World>[] = []
  private readonly methodMemos = new Map<string, Memo<World>>()

  private memo(key: string, what: string): Memo<World> {
    let memo = this.memos.get(key)
    if (!memo) this.memos.set(key, (memo = new Memo(what.startsWith('test') ? what : `${what}()`, this.worlds)))
    return memo
  }

  /** The world a committed transaction leaves behind: `world` with its writes applied. */
  after(world: World, tx: { writes: readonly Write[]; halt: boolean }, method: MethodName, at: Situation = world.at): World {
    const started = world.started || method === 'start'
    if (!tx.writes.length && !tx.halt && started === world.started && at === world.at) return world
    const slots = world.slots.slice()
    const keys = world.keys.slice()
    const effect = this.effectOf(tx)
    effect.cells.forEach((id, j) => {
      const kind = this.cells[id]!.slots
      slots[id] = kind.apply(slots[id]!, effect.writes[j]!, 0, false)
      // Equal keys are equal slots, so the key after depends only on the key before.
      const known = effect.after[j]!
      let key = known.get(world.keys[id]!)
      if (key === undefined) known.set(world.keys[id]!, (key = this.texts.number(kind.canonical(slots[id]!))))
      keys[id] = key
    })
    return { slots, keys, started, halted: world.halted || tx.halt, at }
  }

  /**
   * The key of the world `outcome` leads to from `world`, without making that
   * world: most transitions reach a state seen before, and for those the
   * search needs only this. Each written cell's key after is remembered per
   * outcome by its key before.
   */
  nextKey(world: World, outcome: Outcome, method: MethodName, shared = false, at: Situation = world.at): number {
    const effect = this.effectOf(outcome)
    const started = world.started || method === 'start'
    const halted = world.halted || outcome.halt
    const flags = flagsHash(started, halted)
    let key = this.tuples.pair(flags, at.key)
    const keys = world.keys
    for (let i = 0; i < keys.length; i++) {
      const j = effect.cells.indexOf(i)
      const k = j < 0 ? keys[i]! : this.cellAfter(world, effect, j)
      key = this.tuples.pair(key, k)
      this.lastCells[i] = k
    }
    // Only a search shared between threads needs what every thread agrees on.
    if (shared) {
      let hash = mix(flags, this.texts.hash(at.key))
      for (const k of this.lastCells) hash = mix(hash, this.texts.hash(k))
      this.lastHash = hash
      this.lastFlags = flags
      this.lastAt = at
    }
    return key
  }

  private readonly lastCells: number[] = []
  private lastFlags = 0
  private lastAt: Situation | null = null

  /** The key of the world the last shared `nextKey` described, in canonical texts: the same in every thread. */
  lastCanonicalKey(): string {
    let key = String(this.lastFlags) + '\u0001' + this.texts.text(this.lastAt!.key)
    for (let i = 0; i < this.lastCells.length; i++) key += '\u0001' + this.texts.text(this.lastCells[i]!)
    return key
  }

  /** A world's key in canonical texts: the same in every thread. */
  canonicalKey(world: World): string {
    let key = String(flagsHash(world.started, world.halted)) + '\u0001' + this.texts.text(world.at.key)
    for (const k of world.keys) key += '\u0001' + this.texts.text(k)
    return key
  }

  /** The hash of the world the last `nextKey` described: the same in every thread, unlike the key. */
  lastHash = 0

  /** A hash of a world's canonical texts: the same in every thread, so it says which shard owns the world. */
  hashOf(world: World): number {
    let hash = mix(flagsHash(world.started, world.halted), this.texts.hash(world.at.key))
    for (const k of world.keys) hash = mix(hash, this.texts.hash(k))
    return hash
  }

  /** Each cell's slot as JSON: what another thread needs to rebuild the world. */
  cellsJson(world: World): string[] {
    return this.cells.map((cell, i) => JSON.stringify(cell.slots.save(world.slots[i]!)))
  }

  /** Rebuilds a world from `cellsJson`, its values made in the sandbox's realm. */
  worldFrom(cells: readonly string[], started: boolean, halted: boolean, at: SituationData): World {
    const realm = this.exec.sandbox.realm.JSON
    const slots = this.cells.map((cell, i) => cell.slots.load(realm.parse(cells[i]!), trustValue))
    const keys = slots.map((slot, i) => this.texts.number(this.cells[i]!.slots.canonical(slot)))
    return { slots, keys, started, halted, at: this.situation(at.clock, at.delivered, at.tty, at.sent) }
  }

  private readonly effects = new WeakMap<object, Effect>()

  /** The writes of an outcome (or a transaction) grouped by cell, worked out once per outcome. */
  private effectOf(outcome: { writes: readonly Write[] }): Effect {
    let effect = this.effects.get(outcome)
    if (!effect) {
      effect = { cells: [], writes: [], after: [] }
      for (const w of outcome.writes) {
        const id = this.exec.store.byName.get(w.state)!.id
        let j = effect.cells.indexOf(id)
        if (j < 0) {
          j = effect.cells.push(id) - 1
          effect.writes.push([])
          effect.after.push(new Map())
        }
        effect.writes[j]!.push(w)
      }
      this.effects.set(outcome, effect)
    }
    return effect
  }

  private cellAfter(world: World, effect: Effect, j: number): number {
    const id = effect.cells[j]!
    const before = world.keys[id]!
    let after = effect.after[j]!.get(before)
    if (after === undefined) {
      const slots = this.cells[id]!.slots
      after = this.texts.number(slots.canonical(slots.apply(world.slots[id]!, effect.writes[j]!, 0, false)))
      effect.after[j]!.set(before, after)
    }
    return after
  }

  /** A number equal for two worlds exactly when no transaction could tell them apart. */
  key(world: World): number {
    let key = this.tuples.pair(flagsHash(world.started, world.halted), world.at.key)
    for (const k of world.keys) key = this.tuples.pair(key, k)
    return key
  }

  private readonly tuples = new Tuples()

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

export function outcomeOf(tx: Transaction): Outcome {
  return {
    committed: !tx.failure,
    writes: tx.writes,
    choices: tx.choices,
    halt: tx.halt,
    tty: tx.tty,
    failure: tx.failure,
    external: tx.wakeAt > 0 || tx.waitsForInput,
    wakeAt: tx.wakeAt,
    waitsForInput: tx.waitsForInput,
    ttyRead: tx.ttyRead.length,
  }
}

/** A Situation as plain data (what crosses between threads). */
export type SituationData = Pick<Situation, 'clock' | 'delivered' | 'tty' | 'sent'>

/** Whether recorded input `i` was delivered. */
export function delivered(at: Situation, i: number): boolean {
  return Math.floor(at.delivered / 2 ** i) % 2 === 1
}

/** What a memo's name needs besides the method: the clock and tty input, where they are not the start's. */
function suffix(at: Situation, start: number): string {
  return at.clock === start && !at.tty ? '' : `@${at.clock}:${at.tty}`
}

function situationOf(cache: Map<number, Situation>, texts: Texts, clock: number, delivered: number, tty: string, sent: number): Situation {
  const key = texts.number(`\u0002${clock}|${delivered}|${sent}|${tty}`)
  let at = cache.get(key)
  if (!at) cache.set(key, (at = { clock, delivered, tty, sent, key }))
  return at
}

/** The world the store holds now (slots shared with the store's cells). */
function worldOf(cells: readonly Cell[], started: boolean, halted: boolean, texts: Texts, at: Situation): World {
  const slots = cells.map((cell) => cell.share())
  const keys = slots.map((slot, i) => texts.number(cells[i]!.slots.canonical(slot)))
  return { slots, keys, started, halted, at }
}

/** What an outcome does to the cells it writes: their writes, and each one's key after by its key before. */
interface Effect {
  cells: number[]
  writes: Write[][]
  after: Map<number, number>[]
}

function flagsHash(started: boolean, halted: boolean): number {
  return (started ? 1 : 0) + (halted ? 2 : 0)
}
