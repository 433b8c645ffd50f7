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
  /** The clock of every explored transaction (default: the starting event's time, or 0). */
  time?: number
  /** Cells compiled already (compileCellsNatively): a confined process or thread need not start esbuild as WebAssembly. */
  cells?: KeptCell[]
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
}

/** Reads what Model.create needs of a moment of `log`. Throws LoadError for a moment the log does not have. */
export function prepareMoment(log: HistoryLog, from: Moment): PreparedMoment {
  const info = log.branchInfo(from.branch)
  if (!info) throw new LoadError(`${log.path}: there is no branch '${from.branch}'`)
  if (!Number.isSafeInteger(from.seq) || from.seq < 1 || from.seq > info.head) {
    throw new LoadError(`${log.path}: branch '${from.branch}' has events 1..${info.head}; there is no event ${from.seq} to explore from`)
  }
  const last = log.event(from.branch, from.seq)
  const codeSeq = log.lastOfKind(from.branch, 'code', from.seq)
  const code = codeSeq === null ? null : log.event(from.branch, codeSeq)
  const started = log.lastOfKind(from.branch, 'start', from.seq) !== null
  return { branch: from.branch, seq: from.seq, last, code, started, state: seekStore(log, from).serialize() }
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
  ) {}

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
    const time = options.time ?? last?.time ?? 0
    if (from) exec.restore(from.state, time)
    const fn = exec.compile(app)
    const loaded = exec.run(() => exec.load(app, fn), { overran: () => false })
    if (!loaded.ok) throw new LoadError(`${path}: loading the notebook's cells ran past the time limit of ${exec.config.timeLimitMs} ms`)
    const { version, declares } = loaded.value
    const codeChanged = !code || code.codeHash !== app.codeHash || declares.length > 0
    const started = from?.started ?? false
    const texts = new Texts()
    const root = worldOf(exec.store.cells, started, last?.kind === 'halt', texts)
    return new Model(exec, app, version, declares, config, codeChanged, time, root, texts, from ? { branch: from.branch, seq: from.seq } : null)
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

  /** Points the store at a world. */
  enter(world: World): void {
    const cells = this.exec.store.cells
    for (let i = 0; i < cells.length; i++) cells[i]!.adopt(world.slots[i]!)
  }

  /** Runs `method` in `world`, its choices answered by `agent`. Call inside `exec.run`. */
  run(world: World, method: MethodName, agent: Agent, input: Json = null): Transaction {
    this.enter(world)
    return this.exec.runCall(this.version, methodCall(method, input, ''), this.time, agent)
  }

  /**
   * What `method` does in `world` with the agent's answers: remembered from
   * an earlier run that read the same values and made the same choices, or
   * run now. Call inside `exec.run`.
   */
  outcome(world: World, method: MethodName, agent: Agent): Outcome {
    const memo = (this.methodMemos[method] ??= this.memo(method))
    const known = memo.find(world, agent)
    if (known) return known
    const tx = this.run(world, method, agent)
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
      const memo = (this.testMemos[i] ??= this.memo(`test '${t.name}'`))
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
  private readonly methodMemos: Partial<Record<MethodName, Memo<World>>> = {}

  private memo(what: string): Memo<World> {
    let memo = this.memos.get(what)
    if (!memo) this.memos.set(what, (memo = new Memo(what.startsWith('test') ? what : `${what}()`, this.worlds)))
    return memo
  }

  /** The world a committed transaction leaves behind: `world` with its writes applied. */
  after(world: World, tx: { writes: readonly Write[]; halt: boolean }, method: MethodName): World {
    const started = world.started || method === 'start'
    if (!tx.writes.length && !tx.halt && started === world.started) return world
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
    return { slots, keys, started, halted: world.halted || tx.halt }
  }

  /**
   * The key of the world `outcome` leads to from `world`, without making that
   * world: most transitions reach a state seen before, and for those the
   * search needs only this. Each written cell's key after is remembered per
   * outcome by its key before.
   */
  nextKey(world: World, outcome: Outcome, method: MethodName, shared = false): number {
    const effect = this.effectOf(outcome)
    const started = world.started || method === 'start'
    const halted = world.halted || outcome.halt
    let key = flagsHash(started, halted)
    const flags = key
    const keys = world.keys
    for (let i = 0; i < keys.length; i++) {
      const j = effect.cells.indexOf(i)
      const k = j < 0 ? keys[i]! : this.cellAfter(world, effect, j)
      key = this.tuples.pair(key, k)
      this.lastCells[i] = k
    }
    // Only a search shared between threads needs what every thread agrees on.
    if (shared) {
      let hash = flags
      for (const k of this.lastCells) hash = mix(hash, this.texts.hash(k))
      this.lastHash = hash
      this.lastFlags = flags
    }
    return key
  }

  private readonly lastCells: number[] = []
  private lastFlags = 0

  /** The key of the world the last shared `nextKey` described, in canonical texts: the same in every thread. */
  lastCanonicalKey(): string {
    let key = String(this.lastFlags)
    for (let i = 0; i < this.lastCells.length; i++) key += '\u0001' + this.texts.text(this.lastCells[i]!)
    return key
  }

  /** A world's key in canonical texts: the same in every thread. */
  canonicalKey(world: World): string {
    let key = String(flagsHash(world.started, world.halted))
    for (const k of world.keys) key += '\u0001' + this.texts.text(k)
    return key
  }

  /** The hash of the world the last `nextKey` described: the same in every thread, unlike the key. */
  lastHash = 0

  /** A hash of a world's canonical texts: the same in every thread, so it says which shard owns the world. */
  hashOf(world: World): number {
    let hash = flagsHash(world.started, world.halted)
    for (const k of world.keys) hash = mix(hash, this.texts.hash(k))
    return hash
  }

  /** Each cell's slot as JSON: what another thread needs to rebuild the world. */
  cellsJson(world: World): string[] {
    return this.cells.map((cell, i) => JSON.stringify(cell.slots.save(world.slots[i]!)))
  }

  /** Rebuilds a world from `cellsJson`, its values made in the sandbox's realm. */
  worldFrom(cells: readonly string[], started: boolean, halted: boolean): World {
    const realm = this.exec.sandbox.realm.JSON
    const slots = this.cells.map((cell, i) => cell.slots.load(realm.parse(cells[i]!), trustValue))
    const keys = slots.map((slot, i) => this.texts.number(this.cells[i]!.slots.canonical(slot)))
    return { slots, keys, started, halted }
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
    let key = flagsHash(world.started, world.halted)
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
  }
}

/** The world the store holds now (slots shared with the store's cells). */
function worldOf(cells: readonly Cell[], started: boolean, halted: boolean, texts: Texts): World {
  const slots = cells.map((cell) => cell.share())
  const keys = slots.map((slot, i) => texts.number(cells[i]!.slots.canonical(slot)))
  return { slots, keys, started, halted }
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
