// state.set: a set of plain values, kept canonical — each element known by
// its canonical text and listed in the order of those texts, so two sets
// with the same elements are one state however they were built (TLA+'s sets).
// Membership is read per element, as a map's entries are per key: a
// transaction that asks `has(x)` depends on x alone, not on the whole set.
import { canonicalJson, canonicalText, type Json } from '../values.ts'
import type { SourceLocation } from '../event.ts'
import type { SlotKind, TxView } from './cell.ts'
import { MapCell, mapSlots, type MapSlot } from './map.ts'

/** The elements of a slot, in canonical order. */
function sorted(slot: MapSlot): [string, Json][] {
  const out: [string, Json][] = []
  for (const [k, e] of slot.entries) if (e.value !== undefined) out.push([k, e.value])
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

const setSlots: SlotKind<MapSlot> = {
  ...mapSlots,
  make(value, version) {
    const entries: MapSlot['entries'] = new Map()
    for (const v of (value ?? []) as Json[]) entries.set(canonicalText(v), { value: v, version })
    return { entries, version }
  },
  value: (slot) => sorted(slot).map((e) => e[1]),
  read: (slot, key) => (key === undefined ? setSlots.value(slot) : slot.entries.get(key)?.value),
  canonical(slot) {
    let out = '<'
    for (const [k] of sorted(slot)) out += k + ','
    return out + '>'
  },
}

export class SetCell extends MapCell {
  override readonly kind = 'set'
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json[], version: number) {
    super(id, name, at, initial, version, setSlots)
  }
  /** Whether `value` (plain data, checked) is in the set: a read of that element only. */
  contains(tx: TxView, value: Json): boolean {
    return this.get(tx, canonicalJson(value)) !== undefined
  }
  add(tx: TxView, value: Json): void {
    this.set(tx, canonicalJson(value), value)
  }
  remove(tx: TxView, value: Json): void {
    this.delete(tx, canonicalJson(value))
  }
  /** The elements as this transaction sees them, in canonical order: a read of the whole set. */
  elements(tx: TxView): Json[] {
    return this.view(tx).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1])
  }
}
