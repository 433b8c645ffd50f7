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

/**
 * A set's fingerprint is the sum of its elements' (two 32-bit lanes, each
 * modulo 2³²): it does not depend on their order, and adding or removing
 * one element changes it by that element's hash alone — O(writes), where
 * the canonical text is O(elements · log elements).
 */
const sums = new WeakMap<MapSlot, [number, number]>()

function elementHash(key: string, lane: 0 | 1): number {
  let h = lane ? 0x9747b28c : 0x811c9dc5
  const m = lane ? 0x5bd1e995 : 0x01000193
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), m)
    h ^= h >>> 13
  }
  h = Math.imul(h ^ (h >>> 16), lane ? 0xc2b2ae35 : 0x85ebca6b)
  return (h ^ (h >>> 13)) >>> 0
}

function sumOf(slot: MapSlot): [number, number] {
  let sum = sums.get(slot)
  if (!sum) {
    let a = 0
    let b = 0
    for (const [k, e] of slot.entries) {
      if (e.value === undefined) continue
      a = (a + elementHash(k, 0)) >>> 0
      b = (b + elementHash(k, 1)) >>> 0
    }
    sums.set(slot, (sum = [a, b]))
  }
  return sum
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
  fingerprint(slot, writes) {
    let [a, b] = sumOf(slot)
    if (!writes) return [a, b]
    // Whether each element written is in the set as the writes go (a key may be written twice).
    let now: Map<string, boolean> | null = null
    for (const w of writes) {
      if (w.op !== 'set' && w.op !== 'delete') continue
      const key = (w as { key: string }).key
      const was = now?.get(key) ?? slot.entries.get(key)?.value !== undefined
      const is = w.op === 'set'
      if (was === is) continue
      ;(now ??= new Map()).set(key, is)
      const sign = is ? 1 : -1
      a = (a + sign * elementHash(key, 0)) >>> 0
      b = (b + sign * elementHash(key, 1)) >>> 0
    }
    return [a, b]
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
