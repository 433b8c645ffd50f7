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
import { canonicalJson, plainCopy, trustValue, type Json } from '../runtime/values.ts'
import { Transaction } from '../runtime/transaction.ts'
import type { Cell, MapCell, StoreSnapshot } from '../runtime/store.ts'
import type { EventRecord, SourceLocation, StateKind, Write } from '../runtime/event.ts'
import { seekStore, type Moment } from './seek.ts'
import { Memo, type Outcome } from './memo.ts'
import type { HistoryLog } from './historyLog.ts'

type Entries = Map<string, { value: Json | undefined; version: number }>

/** One state of the app. Never changed once made; unchanged cells are shared between worlds. */
export interface World {
  /** Per cell id: the slot the cell holds (var, queue, bag, counter) or its entries (map). */
  readonly slots: readonly unknown[]
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
      const v = (world.slots[cell] as Entries).get(key)?.value
      return v === undefined ? '~' : canonicalOf(v)
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
    return new Model(exec, app, version, declares, config as unknown as Json, codeChanged, time, root, texts, from ? { branch: from.branch, seq: from.seq } : null)
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
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!
      if (cell.kind === 'map') {
        ;(cell as MapCell).entries = world.slots[i] as Entries
        ;(cell as MapCell).version = 0
      } else (cell as unknown as { slot: unknown }).slot = world.slots[i]
    }
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
    const store = this.exec.store
    const copied = new Set<number>()
    for (const w of tx.writes) {
      const id = store.byName.get(w.state)!.id
      slots[id] = nextSlot(slots[id], w, copied.has(id))
      copied.add(id)
    }
    for (const id of copied) keys[id] = this.texts.number(slotKey(store.cells[id]!.kind, slots[id]))
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

  /** Each cell's value as JSON, in its actual order (a bag's too): what another thread needs to rebuild the world. */
  cellsJson(world: World): string[] {
    return this.exec.store.cells.map((cell, i) => {
      const slot = world.slots[i]
      switch (cell.kind) {
        case 'map':
          return JSON.stringify([...(slot as Entries)].filter(([, e]) => e.value !== undefined).map(([k, e]) => [k, e.value]))
        case 'queue': {
          const q = slot as QueueSlot
          return JSON.stringify(q.items.slice(q.head, q.end))
        }
        default:
          return JSON.stringify((slot as { value: Json }).value)
      }
    })
  }

  /** Rebuilds a world from `cellsJson`, its values made in the sandbox's realm. */
  worldFrom(cells: readonly string[], started: boolean, halted: boolean): World {
    const realm = this.exec.sandbox.realm.JSON
    const slots: unknown[] = []
    const keys: number[] = []
    this.exec.store.cells.forEach((cell, i) => {
      const value = trustValue(realm.parse(cells[i]!) as Json)
      let slot: unknown
      switch (cell.kind) {
        case 'map':
          slot = new Map((value as [string, Json][]).map(([k, v]) => [k, { value: v, version: 0 }]))
          break
        case 'queue':
          slot = { items: value as Json[], head: 0, end: (value as Json[]).length, version: 0 }
          break
        default:
          slot = { value, version: 0 }
      }
      slots.push(slot)
      keys.push(this.texts.number(slotKey(cell.kind, slot)))
    })
    return { slots, keys, started, halted }
  }

  private readonly effects = new WeakMap<Outcome, Effect>()

  private effectOf(outcome: Outcome): Effect {
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
      let slot = world.slots[id]
      effect.writes[j]!.forEach((w, i) => (slot = nextSlot(slot, w, i > 0)))
      after = this.texts.number(slotKey(this.exec.store.cells[id]!.kind, slot))
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
    return plainCopy(this.exec.store.snapshot())
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

/** The world the store holds now (slots shared, queues trimmed to what they hold). */
function worldOf(cells: readonly Cell[], started: boolean, halted: boolean, texts: Texts): World {
  const slots: unknown[] = []
  const keys: number[] = []
  for (const cell of cells) {
    let slot: unknown
    if (cell.kind === 'map') slot = new Map((cell as MapCell).entries)
    else {
      slot = (cell as unknown as { slot: unknown }).slot
      if (cell.kind === 'queue') {
        const q = slot as QueueSlot
        slot = { items: q.items.slice(q.head, q.end), head: 0, end: q.end - q.head, version: 0 }
      }
    }
    slots.push(slot)
    keys.push(texts.number(slotKey(cell.kind, slot)))
  }
  return { slots, keys, started, halted }
}

/** What an outcome does to the cells it writes: their writes, and each one's key after by its key before. */
interface Effect {
  cells: number[]
  writes: Write[][]
  after: Map<number, number>[]
}

/**
 * Numbers for tuples of numbers, a pair at a time: (flags, cell 0) → t1,
 * (t1, cell 1) → t2, … so a world's key is one small number and looking it
 * up hashes no text.
 */
class Tuples {
  private readonly pairs = new Map<number, Map<number, number>>()
  private count = 4 // 0..3 are the flags
  pair(a: number, b: number): number {
    let inner = this.pairs.get(a)
    if (!inner) this.pairs.set(a, (inner = new Map()))
    let n = inner.get(b)
    if (n === undefined) inner.set(b, (n = this.count++))
    return n
  }
}

/** Numbers for canonical texts: worlds compare and hash short lists of numbers, not long texts. */
class Texts {
  private readonly numbers = new Map<string, number>()
  private readonly hashes: number[] = []
  private readonly texts: string[] = []
  number(text: string): number {
    let n = this.numbers.get(text)
    if (n === undefined) {
      this.numbers.set(text, (n = this.numbers.size))
      this.hashes.push(hashText(text))
      this.texts.push(text)
    }
    return n
  }
  text(n: number): string {
    return this.texts[n]!
  }
  /** The text's hash (FNV-1a): equal texts hash equally in every thread. */
  hash(n: number): number {
    return this.hashes[n]!
  }
}

function hashText(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function flagsHash(started: boolean, halted: boolean): number {
  return (started ? 1 : 0) + (halted ? 2 : 0)
}

// Values are frozen, so a value's canonical text never changes: remembered by identity.
const canonicalTexts = new WeakMap<object, string>()
function canonicalOf(value: Json): string {
  if (typeof value !== 'object' || value === null) return canonicalJson(value)
  let text = canonicalTexts.get(value)
  if (text === undefined) canonicalTexts.set(value, (text = canonicalJson(value)))
  return text
}

interface QueueSlot {
  items: Json[]
  head: number
  end: number
  version: number
}

/** A cell's next slot after one write. `owned`: this transaction already made a fresh copy. */
function nextSlot(slot: unknown, w: Write, owned: boolean): unknown {
  switch (w.op) {
    case 'set': {
      if (!('key' in w)) return { value: w.value, version: 0 }
      const entries = owned ? (slot as Entries) : new Map(slot as Entries)
      if (entries.get(w.key)?.value === undefined) entries.delete(w.key)
      entries.set(w.key, { value: w.value, version: 0 })
      return entries
    }
    case 'delete': {
      const entries = owned ? (slot as Entries) : new Map(slot as Entries)
      entries.delete(w.key)
      return entries
    }
    case 'queue': {
      const q = slot as QueueSlot
      const items = q.items.slice(q.head + w.take, q.end).concat(w.push)
      return { items, head: 0, end: items.length, version: 0 }
    }
    case 'bag': {
      const items = [...(slot as { value: Json[] }).value]
      for (const i of w.take) items.splice(i, 1)
      items.push(...w.put)
      return { value: items, version: 0 }
    }
    case 'add':
      return { value: (slot as { value: number }).value + w.value, version: 0 }
    case 'declare':
      return slot
  }
}

/**
 * The canonical text of one cell's value. A bag is a multiset, so its items
 * are sorted: two bags that differ only in order have the same futures. A map
 * keeps its entries' order, which code can observe through keys().
 */
function slotKey(kind: StateKind, slot: unknown): string {
  switch (kind) {
    case 'var':
    case 'counter':
      return canonicalOf((slot as { value: Json }).value)
    case 'queue': {
      const q = slot as QueueSlot
      return canonicalJson(q.head === 0 && q.end === q.items.length ? q.items : q.items.slice(q.head, q.end))
    }
    case 'bag':
      return '[' + (slot as { value: Json[] }).value.map(canonicalOf).sort().join(',') + ']'
    case 'map': {
      let out = '{'
      for (const [k, e] of slot as Entries) if (e.value !== undefined) out += JSON.stringify(k) + ':' + canonicalOf(e.value) + ','
      return out + '}'
    }
  }
}
