// state.queue: first in, first out. Slots share one backing array: a slot
// sees items[head..end), and an item is only ever added past the array's
// end, so appending never changes what another slot sees.
import type { Json } from '../values.ts'
import { canonicalJson } from '../values.ts'
import type { SourceLocation, Write } from '../event.ts'
import { Cell, savedValue, type SlotKind, type TxView } from './cell.ts'

export interface QueueSlot {
  readonly items: Json[]
  readonly head: number
  readonly end: number
  readonly version: number
}

const itemsOf = (slot: QueueSlot): Json[] => slot.items.slice(slot.head, slot.end)

const queueSlots: SlotKind<QueueSlot> = {
  make: (value, version) => {
    const items = [...((value ?? []) as Json[])]
    return { items, head: 0, end: items.length, version }
  },
  apply(slot, writes, version) {
    let { items, head, end } = slot
    for (const w of writes) {
      if (w.op !== 'queue') continue
      head += w.take
      // A fresh array when the taken prefix is large, or when another slot has appended past this one's end.
      if ((head > 1024 && head * 2 > end) || (w.push.length && items.length !== end)) {
        items = items.slice(head, end)
        end -= head
        head = 0
      }
      for (const v of w.push) items[end++] = v
    }
    return { items, head, end, version }
  },
  value: itemsOf,
  read: itemsOf,
  canonical: (slot) => canonicalJson(slot.head === 0 && slot.end === slot.items.length ? slot.items : itemsOf(slot)),
  versionOf: (slot) => slot.version,
  save: (slot) => ({ version: slot.version, value: itemsOf(slot) }),
  load: (saved, load) => queueSlots.make(load(savedValue(saved)), saved.version),
}

export class QueueCell extends Cell<QueueSlot> {
  readonly kind = 'queue'
  private taken = 0
  private pushed: Json[] = []
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json[], version: number) {
    super(id, name, at, queueSlots, queueSlots.make(initial, version))
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
}
