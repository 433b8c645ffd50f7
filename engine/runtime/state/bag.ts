// state.bag: a multiset. Its items are kept in canonical order (sorted by
// their canonical text), so two bags with the same items are the same bag in
// every way a transaction can tell: items() lists them alike and take()'s
// choice i picks the same item, live and under exploration alike.
import type { Json } from '../values.ts'
import { canonicalText } from '../values.ts'
import type { SourceLocation, Write } from '../event.ts'
import { Cell, savedValue, type SlotKind, type TxView } from './cell.ts'

export interface BagSlot {
  /** In canonical order. */
  readonly items: readonly Json[]
  readonly version: number
}

/** Where `value` goes among `items` (canonical order) to keep them so: after its equals. */
function placeOf<T>(items: readonly T[], text: string, textOf: (item: T) => string): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (textOf(items[mid]!) <= text) lo = mid + 1
    else hi = mid
  }
  return lo
}

function insert(items: Json[], value: Json): void {
  items.splice(placeOf(items, canonicalText(value), canonicalText), 0, value)
}

const bagSlots: SlotKind<BagSlot> = {
  make(value, version) {
    const items: Json[] = []
    for (const v of (value ?? []) as Json[]) insert(items, v)
    return { items, version }
  },
  apply(slot, writes, version) {
    const items = [...slot.items]
    for (const w of writes) {
      if (w.op !== 'bag') continue
      for (const i of w.take) items.splice(i, 1)
      for (const v of w.put) insert(items, v)
    }
    return { items, version }
  },
  value: (slot) => slot.items as Json[],
  read: (slot) => slot.items as Json[],
  canonical: (slot) => '[' + slot.items.map(canonicalText).join(',') + ']',
  versionOf: (slot) => slot.version,
  save: (slot) => ({ version: slot.version, value: slot.items as Json[] }),
  load: (saved, load) => bagSlots.make(load(savedValue(saved)), saved.version),
}

/** An item of a transaction's bag: its value, and its place in the committed bag (-1 for one this transaction put). */
interface Held {
  value: Json
  from: number
}

const heldText = (h: Held) => canonicalText(h.value)

export class BagCell extends Cell<BagSlot> {
  readonly kind = 'bag'
  /** The bag as this transaction sees it, in canonical order. */
  private view: Held[] = []
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json[], version: number) {
    super(id, name, at, bagSlots, bagSlots.make(initial, version))
  }
  private own(tx: TxView): void {
    if (this.touch(tx)) this.view = this.slot.items.map((value, from) => ({ value, from }))
  }
  private current(tx: TxView): readonly Json[] {
    this.read(tx, this.slot.version)
    return this.wTx === tx.id ? this.view.map((h) => h.value) : this.slot.items
  }
  size(tx: TxView): number {
    this.read(tx, this.slot.version)
    return this.wTx === tx.id ? this.view.length : this.slot.items.length
  }
  items(tx: TxView): Json[] {
    return [...this.current(tx)]
  }
  /** Which element is a fair choice made by the transaction's agent: choice i is the i-th in canonical order. */
  take(tx: TxView): Json | undefined {
    const n = this.size(tx)
    if (n === 0) return undefined
    const i = tx.choose(n)
    this.own(tx)
    return this.view.splice(i, 1)[0]!.value
  }
  put(tx: TxView, value: Json): void {
    this.own(tx)
    this.view.splice(placeOf(this.view, canonicalText(value), heldText), 0, { value, from: -1 })
  }
  /** A hand edit: the item at place `i` of the bag as listed is gone; false if there is none. */
  removeAt(tx: TxView, i: number): boolean {
    if (i >= this.size(tx)) return false
    this.own(tx)
    this.view.splice(i, 1)
    return true
  }
  /** A hand edit: the bag holds `items` instead. */
  replace(tx: TxView, items: Json[]): void {
    this.read(tx, this.slot.version)
    this.own(tx)
    this.view = []
    for (const item of items) this.put(tx, item)
  }
  /** The committed items this transaction took (highest place first, so each removal leaves the next place as it was), and those it put and kept. */
  writes(): Write[] {
    const kept = new Uint8Array(this.slot.items.length)
    const put: Json[] = []
    for (const h of this.view) {
      if (h.from >= 0) kept[h.from] = 1
      else put.push(h.value)
    }
    const take: number[] = []
    for (let i = kept.length - 1; i >= 0; i--) if (!kept[i]) take.push(i)
    return [{ state: this.name, op: 'bag', take, put }]
  }
}
