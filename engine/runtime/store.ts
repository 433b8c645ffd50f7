// The state store: named cells with versions. A transaction reads through an
// overlay of its own writes; committing applies its write set, and applying a
// write is idempotent so a commit cut off half-way can simply be applied again.
import type { Json } from './values.ts'
import type { Read, StateKind, Write, SourceLocation } from './event.ts'

/** Everything a running transaction accumulates; the store fills in reads and writes. */
export interface TxView {
  /** Unique per execution: lets cells tell their overlay for this transaction from a stale one. */
  readonly id: number
  readonly reads: Read[]
  readonly touched: Cell[]
  /** Called when a transaction needs a fair choice among n (bag.take). */
  choose(n: number): number
}

export abstract class Cell {
  abstract readonly kind: StateKind
  /** The transaction that has an overlay here, and the one that recorded a read. */
  protected wTx = 0
  protected rTx = 0
  constructor(readonly id: number, readonly name: string, public declaredAt: SourceLocation | null) {}

  /** This cell's writes for `tx` (called once, when the transaction ends). */
  abstract writes(tx: TxView): Write[]
  /** Applies one write made by event `seq`; applying it twice changes nothing. */
  abstract apply(write: Write, seq: number): void
  /** The current value as plain data (what `loom state` shows). */
  abstract value(): Json
  /** The version a read of `key` (or of the whole cell) would record now. */
  abstract versionOf(key?: string): number

  protected touch(tx: TxView): boolean {
    if (this.wTx === tx.id) return false
    this.wTx = tx.id
    tx.touched.push(this)
    return true
  }

  protected read(tx: TxView, version: number): void {
    if (this.rTx === tx.id) return
    this.rTx = tx.id
    tx.reads.push({ state: this.name, version })
  }
}

interface Slot {
  readonly value: Json
  readonly version: number
}

export class VarCell extends Cell {
  readonly kind = 'var'
  slot: Slot
  private pending: Json = null
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json, version: number) {
    super(id, name, at)
    this.slot = { value: initial, version }
  }
  get(tx: TxView): Json {
    if (this.wTx === tx.id) return this.pending
    this.read(tx, this.slot.version)
    return this.slot.value
  }
  set(tx: TxView, value: Json): void {
    this.touch(tx)
    this.pending = value
  }
  writes(): Write[] {
    return [{ state: this.name, op: 'set', value: this.pending }]
  }
  apply(write: Write, seq: number): void {
    if (write.op === 'set') this.slot = { value: write.value, version: seq }
  }
  value(): Json {
    return this.slot.value
  }
  versionOf(): number {
    return this.slot.version
  }
}

const DELETED = Symbol('deleted')

export class MapCell extends Cell {
  readonly kind = 'map'
  entries = new Map<string, { value: Json | undefined; version: number }>()
  /** Version of the last write to any key: what whole-map reads (keys, size…) depend on. */
  version: number
  private pending = new Map<string, Json | typeof DELETED>()
  private readKeys = new Set<string>()
  private readAll = false
  private seenTx = 0
  constructor(id: number, name: string, at: SourceLocation | null, initial: Record<string, Json>, version: number) {
    super(id, name, at)
    this.version = version
    for (const [k, v] of Object.entries(initial)) this.entries.set(k, { value: v, version })
  }
  private begin(tx: TxView): void {
    if (this.seenTx === tx.id) return
    this.seenTx = tx.id
    this.readKeys.clear()
    this.readAll = false
  }
  private readKey(tx: TxView, key: string): void {
    this.begin(tx)
    if (this.readAll || this.readKeys.has(key)) return
    this.readKeys.add(key)
    tx.reads.push({ state: this.name, key, version: this.entries.get(key)?.version ?? 0 })
  }
  private readWhole(tx: TxView): void {
    this.begin(tx)
    if (this.readAll) return
    this.readAll = true
    tx.reads.push({ state: this.name, version: this.version })
  }
  get(tx: TxView, key: string): Json | undefined {
    if (this.wTx === tx.id && this.pending.has(key)) {
      const v = this.pending.get(key)!
      return v === DELETED ? undefined : v
    }
    this.readKey(tx, key)
    return this.entries.get(key)?.value
  }
  has(tx: TxView, key: string): boolean {
    return this.get(tx, key) !== undefined
  }
  set(tx: TxView, key: string, value: Json): void {
    if (this.touch(tx)) this.pending.clear()
    this.pending.set(key, value)
  }
  delete(tx: TxView, key: string): void {
    if (this.touch(tx)) this.pending.clear()
    this.pending.set(key, DELETED)
  }
  /** The entries as this transaction sees them, in key order of first insertion. */
  view(tx: TxView): [string, Json][] {
    this.readWhole(tx)
    const out: [string, Json][] = []
    const overlay = this.wTx === tx.id ? this.pending : null
    for (const [k, e] of this.entries) {
      const v = overlay?.has(k) ? overlay.get(k)! : e.value
      if (v !== DELETED && v !== undefined) out.push([k, v])
    }
    if (overlay) for (const [k, v] of overlay) if (v !== DELETED && this.entries.get(k)?.value === undefined) out.push([k, v])
    return out
  }
  writes(): Write[] {
    const out: Write[] = []
    for (const [key, v] of this.pending) {
      out.push(v === DELETED ? { state: this.name, op: 'delete', key } : { state: this.name, op: 'set', key, value: v })
    }
    return out
  }
  apply(write: Write, seq: number): void {
    if (write.op === 'set' && 'key' in write) {
      // Like a JS Map: a key set again after a delete goes to the end (as the transaction's own view had it).
      if (this.entries.get(write.key)?.value === undefined) this.entries.delete(write.key)
      this.entries.set(write.key, { value: write.value, version: seq })
    }
    else if (write.op === 'delete') this.entries.set(write.key, { value: undefined, version: seq })
    else return
    this.version = seq
  }
  value(): Json {
    const out: Record<string, Json> = {}
    for (const [k, e] of this.entries) if (e.value !== undefined) out[k] = e.value
    return out
  }
  versionOf(key?: string): number {
    return key === undefined ? this.version : (this.entries.get(key)?.version ?? 0)
  }
}

interface QueueSlot {
  /** Append-only backing array; the queue is items[head..end). */
  readonly items: Json[]
  readonly head: number
  readonly end: number
  readonly version: number
}

export class QueueCell extends Cell {
  readonly kind = 'queue'
  slot: QueueSlot
  private taken = 0
  private pushed: Json[] = []
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json[], version: number) {
    super(id, name, at)
    this.slot = { items: [...initial], head: 0, end: initial.length, version }
  }
  private own(tx: TxView): void {
    if (this.touch(tx)) {
      this.taken = 0
      this.pushed = []
    }
  }
  /** Items as this transaction sees them: committed ones not yet taken, then its own pushes. */
  size(tx: TxView): number {
    this.read(tx, this.slot.version)
    const mine = this.wTx === tx.id
    return this.slot.end - this.slot.head - (mine ? this.taken : 0) + (mine ? this.pushed.length : 0)
  }
  peek(tx: TxView): Json | undefined {
    if (this.size(tx) === 0) return undefined
    const i = this.slot.head + (this.wTx === tx.id ? this.taken : 0)
    return i < this.slot.end ? this.slot.items[i] : this.pushed[i - this.slot.end]
  }
  take(tx: TxView): Json | undefined {
    const v = this.peek(tx)
    if (v === undefined) return undefined
    this.own(tx)
    const committedLeft = this.slot.end - this.slot.head - this.taken
    if (committedLeft > 0) this.taken++
    else this.pushed.shift()
    return v
  }
  push(tx: TxView, value: Json): void {
    this.own(tx)
    this.pushed.push(value)
  }
  items(tx: TxView): Json[] {
    this.read(tx, this.slot.version)
    const s = this.slot
    const start = s.head + (this.wTx === tx.id ? this.taken : 0)
    return [...s.items.slice(start, s.end), ...(this.wTx === tx.id ? this.pushed : [])]
  }
  /** A hand edit: the queue holds `items` instead, in that order (every item taken, these pushed). */
  replace(tx: TxView, items: Json[]): void {
    this.read(tx, this.slot.version)
    this.own(tx)
    this.taken = this.slot.end - this.slot.head
    this.pushed = [...items]
  }
  /** A hand edit: the item at place `i` (0 is the front) is gone; false if there is none. */
  removeAt(tx: TxView, i: number): boolean {
    const items = this.items(tx)
    if (i >= items.length) return false
    if (i === 0) this.take(tx)
    else this.replace(tx, items.filter((_, j) => j !== i))
    return true
  }
  writes(): Write[] {
    return [{ state: this.name, op: 'queue', take: this.taken, push: this.pushed }]
  }
  apply(write: Write, seq: number): void {
    if (write.op !== 'queue' || this.slot.version === seq) return
    const s = this.slot
    let { items, head, end } = s
    head += write.take
    // Drop the taken prefix now and then; a fresh array keeps the swap below atomic.
    if (head > 1024 && head * 2 > end) {
      items = items.slice(head, end)
      end -= head
      head = 0
    }
    // Positional writes: applying again writes the same items to the same places.
    for (let i = 0; i < write.push.length; i++) items[end + i] = write.push[i]!
    this.slot = { items, head, end: end + write.push.length, version: seq }
  }
  value(): Json {
    return this.slot.items.slice(this.slot.head, this.slot.end)
  }
  versionOf(): number {
    return this.slot.version
  }
}

export class BagCell extends Cell {
  readonly kind = 'bag'
  slot: Slot & { readonly value: Json[] }
  private view: Json[] = []
  private takenIdx: number[] = []
  private put_: Json[] = []
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json[], version: number) {
    super(id, name, at)
    this.slot = { value: [...initial], version }
  }
  private own(tx: TxView): void {
    if (this.touch(tx)) {
      this.view = [...this.slot.value]
      this.takenIdx = []
      this.put_ = []
    }
  }
  private current(tx: TxView): Json[] {
    this.read(tx, this.slot.version)
    return this.wTx === tx.id ? this.view : this.slot.value
  }
  size(tx: TxView): number {
    return this.current(tx).length
  }
  items(tx: TxView): Json[] {
    return [...this.current(tx)]
  }
  /** Which element is a fair choice made by the transaction's agent. */
  take(tx: TxView): Json | undefined {
    const n = this.current(tx).length
    if (n === 0) return undefined
    const i = tx.choose(n)
    this.own(tx)
    this.takenIdx.push(i)
    return this.view.splice(i, 1)[0]
  }
  put(tx: TxView, value: Json): void {
    this.own(tx)
    this.view.push(value)
    this.put_.push(value)
  }
  /** A hand edit: the item at place `i` of the bag as listed is gone; false if there is none. */
  removeAt(tx: TxView, i: number): boolean {
    if (i >= this.current(tx).length) return false
    this.own(tx)
    this.takenIdx.push(i)
    this.view.splice(i, 1)
    return true
  }
  /** A hand edit: the bag holds `items` instead (every item taken, these put). */
  replace(tx: TxView, items: Json[]): void {
    const n = this.current(tx).length
    this.own(tx)
    for (let k = 0; k < n; k++) this.takenIdx.push(0)
    this.view = []
    for (const item of items) this.put(tx, item)
  }
  writes(): Write[] {
    return [{ state: this.name, op: 'bag', take: this.takenIdx, put: this.put_ }]
  }
  apply(write: Write, seq: number): void {
    if (write.op !== 'bag' || this.slot.version === seq) return
    const items = [...this.slot.value]
    for (const i of write.take) items.splice(i, 1)
    items.push(...write.put)
    this.slot = { value: items, version: seq }
  }
  value(): Json {
    return this.slot.value
  }
  versionOf(): number {
    return this.slot.version
  }
}

export class CounterCell extends Cell {
  readonly kind = 'counter'
  slot: Slot & { readonly value: number }
  private delta = 0
  constructor(id: number, name: string, at: SourceLocation | null, initial: number, version: number) {
    super(id, name, at)
    this.slot = { value: initial, version }
  }
  get(tx: TxView): number {
    this.read(tx, this.slot.version)
    return this.slot.value + (this.wTx === tx.id ? this.delta : 0)
  }
  /** Adds never read, so concurrent adds never conflict. */
  add(tx: TxView, n: number): void {
    if (this.touch(tx)) this.delta = 0
    this.delta += n
  }
  writes(): Write[] {
    return [{ state: this.name, op: 'add', value: this.delta }]
  }
  apply(write: Write, seq: number): void {
    if (write.op !== 'add' || this.slot.version === seq) return
    this.slot = { value: this.slot.value + write.value, version: seq }
  }
  value(): Json {
    return this.slot.value
  }
  versionOf(): number {
    return this.slot.version
  }
}

/** Creates a cell of `kind` holding `initial` (already checked plain data). */
export function makeCell(kind: StateKind, id: number, name: string, at: SourceLocation | null, initial: Json, version: number): Cell {
  switch (kind) {
    case 'var':
      return new VarCell(id, name, at, initial, version)
    case 'map':
      return new MapCell(id, name, at, (initial ?? {}) as Record<string, Json>, version)
    case 'queue':
      return new QueueCell(id, name, at, (initial ?? []) as Json[], version)
    case 'bag':
      return new BagCell(id, name, at, (initial ?? []) as Json[], version)
    case 'counter':
      return new CounterCell(id, name, at, (initial ?? 0) as number, version)
  }
}

/**
 * One cell as stored in a snapshot: its value and every version a read can
 * record, so that a transaction re-run from a snapshot reads exactly what it
 * read the first time.
 */
export type CellSnapshot =
  | { name: string; kind: 'var' | 'counter' | 'queue' | 'bag'; version: number; value: Json }
  | { name: string; kind: 'map'; version: number; entries: [key: string, version: number, value?: Json][] }

export type StoreSnapshot = CellSnapshot[]

function snapshotOf(cell: Cell): CellSnapshot {
  if (cell instanceof MapCell) {
    const entries: [string, number, Json?][] = []
    for (const [k, e] of cell.entries) entries.push(e.value === undefined ? [k, e.version] : [k, e.version, e.value])
    return { name: cell.name, kind: 'map', version: cell.version, entries }
  }
  return { name: cell.name, kind: cell.kind as 'var', version: cell.versionOf(), value: cell.value() }
}

function cellFrom(s: CellSnapshot, id: number, load: (v: Json) => Json): Cell {
  if (s.kind === 'map') {
    const cell = new MapCell(id, s.name, null, {}, s.version)
    for (const [k, version, value] of s.entries) cell.entries.set(k, { value: value === undefined ? undefined : load(value), version })
    return cell
  }
  return makeCell(s.kind, id, s.name, null, load(s.value), s.version)
}

/** All state of one app, by name. */
export class Store {
  /** A store holding exactly the state of a snapshot; `load` brings each value into the realm that will read it. */
  static from(snapshot: StoreSnapshot, load: (v: Json) => Json = (v) => v): Store {
    const store = new Store()
    for (const s of snapshot) store.add(cellFrom(s, store.cells.length, load))
    return store
  }

  /** Everything needed to rebuild this store, versions included. */
  serialize(): StoreSnapshot {
    return this.cells.map(snapshotOf)
  }

  readonly cells: Cell[] = []
  readonly byName = new Map<string, Cell>()

  get(name: string): Cell | undefined {
    return this.byName.get(name)
  }

  /** Applies an event's writes (its `declare`s create cells). Idempotent. */
  apply(writes: readonly Write[], seq: number): void {
    for (const w of writes) {
      if (w.op === 'declare') {
        if (!this.byName.has(w.state)) this.add(makeCell(w.kind, this.cells.length, w.state, null, w.value, seq))
      } else this.byName.get(w.state)?.apply(w, seq)
    }
  }

  add(cell: Cell): void {
    this.cells.push(cell)
    this.byName.set(cell.name, cell)
  }

  /** True when every read still sees the version it saw: the transaction may commit as computed. */
  unchanged(reads: readonly Read[]): boolean {
    for (const r of reads) {
      const cell = this.byName.get(r.state)
      if (!cell || cell.versionOf(r.key) !== r.version) return false
    }
    return true
  }

  /** Every state's value as plain data, by name. */
  snapshot(): Record<string, { kind: StateKind; value: Json }> {
    const out: Record<string, { kind: StateKind; value: Json }> = {}
    for (const cell of this.cells) out[cell.name] = { kind: cell.kind, value: cell.value() }
    return out
  }
}
