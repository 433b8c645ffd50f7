// state.set: a set of plain values, kept canonical — each element known by
// its canonical text and listed in the order of those texts, so two sets
// with the same elements are one state however they were built (TLA+'s sets).
// Membership is read per element, as a map's entries are per key: a
// transaction that asks `has(x)` depends on x alone, not on the whole set.
// A slot is one sorted array of shared items, not a hash table: exploration
// holds a whole level of states, and a set is most of a state's size.
import { canonicalJson, canonicalText, type Json } from '../values.ts'
import type { SourceLocation, Write } from '../event.ts'
import { Cell, type SlotKind, type TxView } from './cell.ts'

/** One element: its canonical text, its value (undefined: removed, its version kept for reads of it). */
interface Item {
  readonly key: string
  readonly value: Json | undefined
  readonly version: number
  /** The key's hash (lane 0): a small set is searched by it, not by comparing texts. */
  readonly hash: number
  /** Lane 1: with `hash`, what the set's fingerprint adds up, kept so it is not worked out again per slot. */
  readonly hash2: number
  /** The element's number (`numberOf`), or -1: a numbered element is there exactly when its bit is set. */
  readonly num: number
}

function item(key: string, value: Json | undefined, version: number): Item {
  const h = hashesOf(key)
  return { key, value, version, hash: h[0], hash2: h[1], num: h[2] }
}

/**
 * The first EXACT distinct elements this process meets are numbered, for
 * good: a slot keeps one bit per numbered element there (`bits0..2`, 30 a
 * word, so they stay small integers), and has(x) of such an element is one
 * bit, whatever the set's size. A model's elements are often that few
 * (PaxosCommit's messages are 66): then no has(x) goes over the items.
 */
const EXACT = 90
const numbers = new Map<string, number>()

function numberOf(key: string): number {
  let n = numbers.get(key)
  if (n === undefined) {
    if (numbers.size >= EXACT) return -1
    numbers.set(key, (n = numbers.size))
  }
  return n
}

/** Up to this many items, looking for one compares numbers one by one; past it, texts by halves. */
const SCAN = 48

export interface SetSlot {
  /** Sorted by key; never changed once shared. */
  readonly items: readonly Item[]
  /** Version of the last write to any element: what reads of the whole set depend on. */
  readonly version: number
  /** Its fingerprint (sumOf), worked out the first time it is asked for: the one field set after it is made. */
  sum: [number, number] | null
  /**
   * Two 30-bit masks, a bit of each set per element there (by bits of its
   * hash, `bitsOf`): an element whose bits are not both set is not there,
   * known without going over the items (most of exploration's has(x) find nothing).
   */
  readonly mask0: number
  readonly mask1: number
  /** A bit per numbered element there: element n is bit n % 30 of word n / 30. */
  readonly bits0: number
  readonly bits1: number
  readonly bits2: number
}

type Bits = Pick<SetSlot, 'mask0' | 'mask1' | 'bits0' | 'bits1' | 'bits2'>

function bit0(hash: number): number {
  return 1 << hash % 30
}

function bit1(hash: number): number {
  return 1 << (hash >>> 10) % 30
}

/** The masks and bits of the elements there among `items`. */
function masksOf(items: readonly Item[]): Bits {
  const b = { mask0: 0, mask1: 0, bits0: 0, bits1: 0, bits2: 0 }
  for (const item of items) if (item.value !== undefined) addBits(b, item)
  return b
}

/** A copy of `items` with `item` inserted at `at`. */
function inserted(items: readonly Item[], at: number, item: Item): Item[] {
  const out = new Array<Item>(items.length + 1)
  for (let j = 0; j < at; j++) out[j] = items[j]!
  out[at] = item
  for (let j = at; j < items.length; j++) out[j + 1] = items[j]!
  return out
}

function slotOf(items: readonly Item[], version: number, sum: [number, number] | null, b: Bits): SetSlot {
  return { items, version, sum, mask0: b.mask0, mask1: b.mask1, bits0: b.bits0, bits1: b.bits1, bits2: b.bits2 }
}

/** Marks `item` there in `b`: its own bit if it is numbered, else its bits in the masks. */
function addBits(b: { -readonly [K in keyof Bits]: number }, item: Item): void {
  const n = item.num
  if (n < 0) {
    b.mask0 |= bit0(item.hash)
    b.mask1 |= bit1(item.hash)
  } else if (n < 30) b.bits0 |= 1 << n
  else if (n < 60) b.bits1 |= 1 << (n - 30)
  else b.bits2 |= 1 << (n - 60)
}

/** The index of `key` in sorted items, or -(where it would go) - 1. */
function indexOf(items: readonly Item[], key: string): number {
  let lo = 0
  let hi = items.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const k = items[mid]!.key
    if (k < key) lo = mid + 1
    else if (k > key) hi = mid - 1
    else return mid
  }
  return -lo - 1
}

function itemOf(slot: SetSlot, key: string): Item | undefined {
  const items = slot.items
  if (items.length > SCAN) {
    const i = indexOf(items, key)
    return i < 0 ? undefined : items[i]
  }
  // Comparing two texts with <, as a search by halves does, costs ~100 ns; two numbers cost nothing.
  const h = hashesOf(key)[0]
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    if (it.hash === h && it.key === key) return it
  }
  return undefined
}

/**
 * What an element is looked up by (hasElement): -1 - its number if it has
 * one, else its hash. Worked out once by a caller that asks about it often.
 */
export function elementHashOf(key: string): number {
  const h = hashesOf(key)
  return h[2] < 0 ? h[0] : -1 - h[2]
}

/** Whether the element with canonical text `key` and probe `hash` (elementHashOf) is in the set. */
export function hasElement(slot: SetSlot, key: string, hash: number): boolean {
  if (hash < 0) {
    const n = -1 - hash
    return ((n < 30 ? slot.bits0 >> n : n < 60 ? slot.bits1 >> (n - 30) : slot.bits2 >> (n - 60)) & 1) === 1
  }
  if (!(slot.mask0 & bit0(hash)) || !(slot.mask1 & bit1(hash))) return false
  const items = slot.items
  if (items.length > SCAN) return itemOf(slot, key)?.value !== undefined
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    if (it.hash === hash && it.key === key) return it.value !== undefined
  }
  return false
}

/**
 * A set's fingerprint is the sum of its elements' hashes (two 32-bit lanes,
 * each modulo 2³²): it does not depend on their order, and adding or
 * removing one element changes it by that element's hash alone — O(writes),
 * where the canonical text is O(elements).
 * The sums are kept signed (as every fingerprint half, worldKeys.ts fmix).
 */
/** Element hashes by canonical text; a remembered outcome's writes are tried in many states, with the same key strings. */
/** Per element: its two hashes and its number (numberOf). */
const hashes = new Map<string, [number, number, number]>()

function hashesOf(key: string): [number, number, number] {
  let h = hashes.get(key)
  if (!h) {
    // A model's elements are few; a stream of new ones only starts the table over.
    if (hashes.size >= 1 << 20) hashes.clear()
    hashes.set(key, (h = [elementHash(key, 0), elementHash(key, 1), numberOf(key)]))
  }
  return h
}

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

function sumOf(slot: SetSlot): [number, number] {
  let sum = slot.sum
  if (!sum) {
    let a = 0
    let b = 0
    for (const item of slot.items) {
      if (item.value === undefined) continue
      a = (a + item.hash) | 0
      b = (b + item.hash2) | 0
    }
    slot.sum = sum = [a, b]
  }
  return sum
}

const setSlots: SlotKind<SetSlot> = {
  make(value, version) {
    const byKey = new Map<string, Item>()
    for (const v of (value ?? []) as Json[]) byKey.set(canonicalText(v), item(canonicalText(v), v, version))
    const items = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1))
    return slotOf(items, version, null, masksOf(items))
  },
  apply(slot, writes, version, inPlace) {
    // Copied only when a write changes it, to its exact size (a copy grown by an insert would be made twice, and keep room it never uses).
    let items: Item[] | null = inPlace ? (slot.items as Item[]) : null
    // The fingerprint follows the writes when it is known: a new state's is then ready without a pass over its elements.
    let sum = slot.sum ? [slot.sum[0], slot.sum[1]] as [number, number] : null
    const bits = { mask0: slot.mask0, mask1: slot.mask1, bits0: slot.bits0, bits1: slot.bits1, bits2: slot.bits2 }
    let removed = false
    for (const w of writes) {
      if (w.op !== 'delete' && !(w.op === 'set' && 'key' in w)) continue
      const made = item(w.key, w.op === 'set' ? w.value : undefined, version)
      const now = items ?? slot.items
      const i = indexOf(now, w.key)
      if (sum && (i >= 0 && now[i]!.value !== undefined) !== (made.value !== undefined)) {
        const sign = made.value !== undefined ? 1 : -1
        sum[0] = (sum[0] + sign * made.hash) | 0
        sum[1] = (sum[1] + sign * made.hash2) | 0
      }
      if (i >= 0) (items ??= slot.items.slice())[i] = made
      else if (items) items.splice(-i - 1, 0, made)
      else items = inserted(slot.items, -i - 1, made)
      if (made.value === undefined) removed = true
      else addBits(bits, made)
    }
    items ??= slot.items.slice()
    // An element removed may share its bits with one still there: worked out again.
    return slotOf(items, version, sum, removed ? masksOf(items) : bits)
  },
  value(slot) {
    // Made at its size (a test may list the set in every state explored).
    const items = slot.items
    let n = 0
    for (let i = 0; i < items.length; i++) if (items[i]!.value !== undefined) n++
    const out = new Array<Json>(n)
    for (let i = 0, j = 0; i < items.length; i++) if (items[i]!.value !== undefined) out[j++] = items[i]!.value!
    return out
  },
  read: (slot, key) => (key === undefined ? setSlots.value(slot) : itemOf(slot, key)?.value),
  canonical(slot) {
    let out = '<'
    for (const item of slot.items) if (item.value !== undefined) out += item.key + ','
    return out + '>'
  },
  fingerprint(slot, writes, out) {
    const sum = sumOf(slot)
    let a = sum[0]
    let b = sum[1]
    // Whether each element written is in the set as the writes go (an element may be written twice).
    let now: Map<string, boolean> | null = null
    for (let i = 0; writes && i < writes.length; i++) {
      const w = writes[i] as { op: string; key?: string }
      const key = w.key
      if (key === undefined || (w.op !== 'set' && w.op !== 'delete')) continue
      const h = hashesOf(key)
      const was = now?.get(key) ?? hasElement(slot, key, h[2] < 0 ? h[0] : -1 - h[2])
      const is = w.op === 'set'
      if (was === is) continue
      if (writes!.length > 1) (now ??= new Map()).set(key, is)
      a = (is ? a + h[0] : a - h[0]) | 0
      b = (is ? b + h[1] : b - h[1]) | 0
    }
    out[0] = a
    out[1] = b
  },
  versionOf: (slot, key) => (key === undefined ? slot.version : (itemOf(slot, key)?.version ?? 0)),
  // Saved as a map's entries are: [element's canonical text, version, value?].
  save(slot) {
    return { version: slot.version, entries: slot.items.map((item) => (item.value === undefined ? [item.key, item.version] : [item.key, item.version, item.value])) }
  },
  load(saved, load) {
    if (!('entries' in saved)) throw new Error('a snapshot of a set without entries')
    const items = saved.entries.map(([key, version, value]) => item(key, value === undefined ? undefined : load(value), version))
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    return slotOf(items, saved.version, null, masksOf(items))
  },
}

const REMOVED = Symbol('removed')

export class SetCell extends Cell<SetSlot> {
  readonly kind = 'set'
  /** This transaction's writes by element: the value added, or REMOVED. */
  private pending = new Map<string, Json | typeof REMOVED>()
  /** Per key: the transaction that last recorded a read of it (no set emptied per transaction: clearing one allocates). */
  private readBy = new Map<string, number>()
  private readAll = false
  private seenTx = 0
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json[], version: number) {
    super(id, name, at, setSlots, setSlots.make(initial, version))
  }
  private begin(tx: TxView): void {
    if (this.seenTx === tx.id) return
    this.seenTx = tx.id
    // Only between transactions, and only once it is big: a stream of new keys read.
    if (this.readBy.size > 4096) this.readBy.clear()
    this.readAll = false
  }
  /** Whether `value` (plain data, checked) is in the set: a read of that element only. */
  contains(tx: TxView, value: Json): boolean {
    const key = canonicalJson(value)
    if (this.wTx === tx.id && this.pending.has(key)) return this.pending.get(key) !== REMOVED
    const item = itemOf(this.slot, key)
    if (!tx.tracks) return item?.value !== undefined
    this.begin(tx)
    if (!this.readAll && this.readBy.get(key) !== tx.id) {
      this.readBy.set(key, tx.id)
      tx.reads.push({ state: this.name, key, version: item?.version ?? 0 })
    }
    return item?.value !== undefined
  }
  add(tx: TxView, value: Json): void {
    if (this.touch(tx)) this.pending.clear()
    this.pending.set(canonicalJson(value), value)
  }
  remove(tx: TxView, value: Json): void {
    if (this.touch(tx)) this.pending.clear()
    this.pending.set(canonicalJson(value), REMOVED)
  }
  /** The elements as this transaction sees them, in canonical order: a read of the whole set. */
  elements(tx: TxView): Json[] {
    if (tx.tracks) this.begin(tx)
    if (tx.tracks && !this.readAll) {
      this.readAll = true
      tx.reads.push({ state: this.name, version: this.slot.version })
    }
    if (this.wTx !== tx.id || !this.pending.size) return setSlots.value(this.slot) as Json[]
    const writes: Write[] = []
    for (const [key, v] of this.pending) writes.push(v === REMOVED ? { state: this.name, op: 'delete', key } : { state: this.name, op: 'set', key, value: v })
    return setSlots.value(setSlots.apply(this.slot, writes, 0, false)) as Json[]
  }
  writes(): Write[] {
    const out: Write[] = []
    for (const [key, v] of this.pending) out.push(v === REMOVED ? { state: this.name, op: 'delete', key } : { state: this.name, op: 'set', key, value: v })
    return out
  }
}
