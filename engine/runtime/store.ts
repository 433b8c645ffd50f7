// The state store: named cells with versions. A transaction reads through an
// overlay of its own writes; committing applies its write set, and applying a
// write set is idempotent so a commit cut off half-way can simply be applied
// again. Each kind of cell lives in state/, written once for the store and
// for exploration's worlds.
import type { Json } from './values.ts'
import type { Read, StateKind, Write, SourceLocation } from './event.ts'
import { Cell, type SavedSlot } from './state/cell.ts'
import { VarCell } from './state/var.ts'
import { MapCell } from './state/map.ts'
import { SetCell } from './state/set.ts'
import { QueueCell } from './state/queue.ts'
import { BagCell } from './state/bag.ts'
import { CounterCell } from './state/counter.ts'

export type { TxView, Slot } from './state/cell.ts'
export { Cell, VarCell, MapCell, SetCell, QueueCell, BagCell, CounterCell }

/** Creates a cell of `kind` holding `initial` (already checked plain data). */
export function makeCell(kind: StateKind, id: number, name: string, at: SourceLocation | null, initial: Json, version: number): Cell {
  switch (kind) {
    case 'var':
      return new VarCell(id, name, at, initial, version)
    case 'map':
      return new MapCell(id, name, at, (initial ?? {}) as Record<string, Json>, version)
    case 'set':
      return new SetCell(id, name, at, (initial ?? []) as Json[], version)
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
export type CellSnapshot = { name: string; kind: StateKind } & SavedSlot

export type StoreSnapshot = CellSnapshot[]

function snapshotOf(cell: Cell): CellSnapshot {
  return { name: cell.name, kind: cell.kind, ...cell.save() }
}

function cellFrom(s: CellSnapshot, id: number, load: (v: Json) => Json): Cell {
  const cell = makeCell(s.kind, id, s.name, null, null, s.version)
  cell.adopt(cell.slots.load(s, load))
  return cell
}

/**
 * What makes `s` not a snapshot Store.from can hold, or null: read from a log,
 * it may have been written by someone else with a hash to match.
 */
export function snapshotProblem(s: unknown): string | null {
  if (!Array.isArray(s)) return 'not a list of states'
  const names = new Set<string>()
  for (const c of s as Record<string, unknown>[]) {
    if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || names.has(c.name)) return 'a state without a name of its own'
    names.add(c.name)
    if (!Number.isSafeInteger(c.version) || (c.version as number) < 0) return `state '${c.name}' has no version`
    const v = c.value
    const ok = c.kind === 'var' ? 'value' in c
      : c.kind === 'map' || c.kind === 'set' ? Array.isArray(c.entries) && (c.entries as unknown[]).every((e) => Array.isArray(e) && typeof e[0] === 'string' && Number.isSafeInteger(e[1]))
      : c.kind === 'queue' || c.kind === 'bag' ? Array.isArray(v)
      : c.kind === 'counter' ? typeof v === 'number' && Number.isFinite(v)
      : false
    if (!ok) return `state '${c.name}' is not a ${typeof c.kind === 'string' ? c.kind.slice(0, 20) : 'kind of state'} as Loom saves one`
  }
  return null
}

/** All state of one app, by name. */
export class Store {
  /** A store holding exactly the state of a snapshot; `load` brings each value into the realm that will read it. */
  static from(snapshot: StoreSnapshot, load: (v: Json) => Json = (v) => v): Store {
    const problem = snapshotProblem(snapshot)
    if (problem) throw new Error(`a snapshot that is not one: ${problem}`)
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

  /** Applies an event's writes (its `declare`s create cells), each cell's at once. Idempotent. */
  apply(writes: readonly Write[], seq: number): void {
    // Most events write one state: that cell takes the list as it is (no grouping to do).
    if (writes.length === 1 && writes[0]!.op !== 'declare') {
      this.byName.get(writes[0]!.state)?.apply(writes, seq)
      return
    }
    const byCell = new Map<Cell, Write[]>()
    for (const w of writes) {
      if (w.op === 'declare') {
        if (!this.byName.has(w.state)) this.add(makeCell(w.kind, this.cells.length, w.state, null, w.value, seq))
        continue
      }
      const cell = this.byName.get(w.state)
      if (!cell) continue
      const list = byCell.get(cell)
      if (list) list.push(w)
      else byCell.set(cell, [w])
    }
    for (const [cell, list] of byCell) cell.apply(list, seq)
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

  /** Every state's value as plain data, by name (not a snapshot: see serialize). */
  values(): Record<string, { kind: StateKind; value: Json }> {
    const out: Record<string, { kind: StateKind; value: Json }> = {}
    for (const cell of this.cells) out[cell.name] = { kind: cell.kind, value: cell.value() }
    return out
  }
}
