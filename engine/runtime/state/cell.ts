// One cell of state and what its kind does to the slot it holds. The live
// store and exploration's immutable worlds apply writes through the same
// slot functions, so a successor found by exploration is what a live commit
// would leave.
import { canonicalText, type Json } from '../values.ts'
import type { Read, StateKind, Write, SourceLocation } from '../event.ts'

/** Everything a running transaction accumulates; the store fills in reads and writes. */
export interface TxView {
  /** Unique per execution: lets cells tell their overlay for this transaction from a stale one. */
  readonly id: number
  readonly reads: Read[]
  /** False: nobody will look at `reads` (a test whose memo was switched off), so cells record none. */
  readonly tracks: boolean
  readonly touched: Cell[]
  /** Called when a transaction needs a fair choice among n (bag.take). */
  choose(n: number): number
}

/** What a cell holds between transactions: never changed once shared (see `Cell.share`). */
export interface Slot {
  readonly version: number
}

/** A slot as a snapshot stores it (plain data); a map keeps every entry's version. */
export type SavedSlot =
  | { version: number; value: Json }
  | { version: number; entries: [key: string, version: number, value?: Json][] }

/** What one kind of state does to its slots. */
export interface SlotKind<S extends Slot> {
  /** A slot holding `value` (plain data, already checked) at `version`. */
  make(value: Json, version: number): S
  /**
   * The slot after one event's writes to this cell, each part at `version`.
   * `inPlace`: nobody else holds `slot`, so it may be changed instead of copied.
   */
  apply(slot: S, writes: readonly Write[], version: number, inPlace: boolean): S
  /** The value as plain data (what `loom state` shows). */
  value(slot: S): Json
  /** What a read of `key` (a map's) or of the whole cell sees. */
  read(slot: S, key: string | undefined): Json | undefined
  /** Equal texts exactly when no transaction could tell the two slots apart. */
  canonical(slot: S): string
  /**
   * For a kind whose canonical text is long (a set): a 64-bit fingerprint
   * (two 32-bit halves) that stands for it, of `slot` or of the slot `writes`
   * would make of it — worked out without making that slot, since most
   * transitions a search tries reach a state it has seen. Written to `out`
   * (no array made per transition).
   */
  fingerprint?(slot: S, writes: readonly Write[] | null, out: number[]): void
  /** The version a read of `key` (or of the whole cell) records. */
  versionOf(slot: S, key?: string): number
  save(slot: S): SavedSlot
  /** The slot a snapshot saved; `load` brings each value into the realm that will read it. */
  load(saved: SavedSlot, load: (v: Json) => Json): S
}

export abstract class Cell<S extends Slot = Slot> {
  abstract readonly kind: StateKind
  /** The transaction that has an overlay here, and the one that recorded a read. */
  protected wTx = 0
  protected rTx = 0
  /** Someone else holds the slot too (a world, a preview's saved state): copy before changing it. */
  private shared = false
  /** The event whose writes made the current slot: applying it again changes nothing. */
  private appliedSeq = 0
  private appliedSlot: S | null = null

  constructor(
    readonly id: number,
    readonly name: string,
    public declaredAt: SourceLocation | null,
    readonly slots: SlotKind<S>,
    protected slot: S,
  ) {}

  /** This cell's writes for `tx` (called once, when the transaction ends). */
  abstract writes(tx: TxView): Write[]

  /** Applies event `seq`'s writes to this cell; applying the same event again changes nothing. */
  apply(writes: readonly Write[], seq: number): void {
    if (this.appliedSeq === seq && this.appliedSlot === this.slot) return
    this.slot = this.slots.apply(this.slot, writes, seq, !this.shared)
    this.shared = false
    this.appliedSeq = seq
    this.appliedSlot = this.slot
  }

  /** The slot, to keep: the cell will not change it in place. */
  share(): S {
    this.shared = true
    return this.slot
  }

  /** Makes the cell hold `slot`, which someone else may hold too (a world, a saved slot). */
  adopt(slot: S): void {
    this.slot = slot
    this.shared = true
  }

  /** The current value as plain data (what `loom state` shows). */
  value(): Json {
    return this.slots.value(this.slot)
  }

  /** The current value (a map's entry, with `key`) as stored, not copied: not to be changed. */
  committed(key?: string): Json | undefined {
    return this.slots.read(this.slot, key)
  }

  /** The version a read of `key` (or of the whole cell) would record now. */
  versionOf(key?: string): number {
    return this.slots.versionOf(this.slot, key)
  }

  save(): SavedSlot {
    return this.slots.save(this.slot)
  }

  protected touch(tx: TxView): boolean {
    if (this.wTx === tx.id) return false
    this.wTx = tx.id
    tx.touched.push(this as Cell)
    return true
  }

  protected read(tx: TxView, version: number): void {
    if (this.rTx === tx.id || !tx.tracks) return
    this.rTx = tx.id
    tx.reads.push({ state: this.name, version })
  }
}

/** A slot holding one value (var, counter). */
export interface ValueSlot<T extends Json = Json> {
  readonly value: T
  readonly version: number
}

/** The saved value of a kind that saves a value, not entries. */
export function savedValue(saved: SavedSlot): Json {
  if (!('value' in saved)) throw new Error('a snapshot of a map where a value was expected')
  return saved.value
}

/** The slot functions of a kind that holds one value; `next` is the value after one write. */
export function valueSlots<T extends Json>(next: (value: T, write: Write) => T): SlotKind<ValueSlot<T>> {
  return {
    make: (value, version) => ({ value: value as T, version }),
    apply(slot, writes, version) {
      let value = slot.value
      for (const w of writes) value = next(value, w)
      return { value, version }
    },
    value: (slot) => slot.value,
    read: (slot) => slot.value,
    canonical: (slot) => canonicalText(slot.value),
    versionOf: (slot) => slot.version,
    save: (slot) => ({ version: slot.version, value: slot.value }),
    load: (saved, load) => ({ value: load(savedValue(saved)) as T, version: saved.version }),
  }
}
