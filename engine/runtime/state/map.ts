// state.map: entries read and written per key. A deleted key keeps its
// version, so a transaction that read it missing sees when it is set again.
import type { Json } from '../values.ts'
import { canonicalText } from '../values.ts'
import type { SourceLocation, Write } from '../event.ts'
import { Cell, type SlotKind, type TxView } from './cell.ts'
import { MapKeys } from './mapKeys.ts'

/** An entry: its value (undefined: deleted, its version kept), and its canonical text once asked for (entries are shared between states). */
interface Entry {
  value: Json | undefined
  version: number
  text: string | undefined
}

export interface MapSlot {
  /** The keys in order, shared with other slots that have the same (never changed while shared). */
  readonly keys: MapKeys
  /** The entry at each position of `keys.names` (undefined where it is null). */
  readonly entries: readonly (Entry | undefined)[]
  /** Version of the last write to any key: what whole-map reads (keys, size…) depend on. */
  readonly version: number
  /** Its fingerprint's parts (MapPrint), worked out the first time they are asked for: the one field set after it is made. */
  print: MapPrint | null
}

/**
 * A map's fingerprint is made of two parts: the sum of its entries' hashes
 * (two 32-bit lanes, each modulo 2³²), which a write to a key changes by
 * that entry's hashes before and after alone, and a hash of the order of its
 * keys (code sees it through keys()), which such a write leaves as it was.
 * So the fingerprint of a map after a write to a key it has is worked out in
 * O(writes); only adding or deleting a key goes over every entry again.
 */
interface MapPrint {
  sum0: number
  sum1: number
  order0: number
  order1: number
}

/** The entry at `key`, or undefined. */
function entryOf(slot: MapSlot, key: string): Entry | undefined {
  const i = slot.keys.at(key)
  return i === undefined ? undefined : slot.entries[i]
}

/** Calls `f` with each key and its entry, deleted ones included, in the map's order. */
export function forEachEntry(slot: MapSlot, f: (key: string, entry: Entry) => void): void {
  const names = slot.keys.names
  for (let i = 0; i < names.length; i++) {
    const name = names[i]
    if (name !== null) f(name, slot.entries[i]!)
  }
}

/** A slot of `entries` by key, in order, as a snapshot or a fresh value gives them. */
function slotFrom(entries: Iterable<[string, Entry]>, version: number): MapSlot {
  const keys = new MapKeys()
  const list: Entry[] = []
  for (const [k, e] of entries) {
    const i = keys.at(k)
    if (i === undefined) {
      keys.push(k)
      list.push(e)
    } else list[i] = e
  }
  return { keys, entries: list, version, print: null }
}

/** Hashes of texts (keys, values' canonical texts): a remembered outcome's writes are tried in many states, with the same strings. */
const textHashes = new Map<string, [number, number]>()

function hashesOf(text: string): [number, number] {
  let h = textHashes.get(text)
  if (!h) {
    // A model's keys and values are few; a stream of new ones only starts the table over.
    if (textHashes.size >= 1 << 20) textHashes.clear()
    textHashes.set(text, (h = [textHash(text, 0x811c9dc5, 0x01000193), textHash(text, 0x9747b28c, 0x5bd1e995)]))
  }
  return h
}

function textHash(text: string, h: number, m: number): number {
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), m)
    h ^= h >>> 13
  }
  return fmix(h ^ text.length)
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  // Signed, as every fingerprint half (worldKeys.ts fmix): small integers wherever they are kept.
  return h ^ (h >>> 16)
}

/**
 * The canonical text and its hashes of values that are objects, by the
 * object (never changed once in state): worked out once, however many
 * entries of however many states hold it (a remembered outcome's writes are
 * applied in many states, with the same values).
 */
const valueTexts = new WeakMap<object, { text: string; hashes: [number, number] }>()

function valueInfo(value: object): { text: string; hashes: [number, number] } {
  let info = valueTexts.get(value)
  if (!info) {
    const text = canonicalText(value as Json)
    valueTexts.set(value, (info = { text, hashes: hashesOf(text) }))
  }
  return info
}

function valueHashesOf(value: Json): [number, number] {
  return typeof value !== 'object' || value === null ? hashesOf(canonicalText(value)) : valueInfo(value).hashes
}

function valueText(value: Json): string {
  return typeof value !== 'object' || value === null ? canonicalText(value) : valueInfo(value).text
}

/** An entry's hashes (of its key and its value's canonical text), lane 0 in entry[0] and lane 1 in entry[1]: no array made per call. */
const entry = [0, 0]

function entryHashes(key: string, value: Json): number[] {
  const k = hashesOf(key)
  const v = valueHashesOf(value)
  entry[0] = fmix((k[0] + Math.imul(v[0], 0x9e3779b1)) ^ 0x165667b1)
  entry[1] = fmix((k[1] + Math.imul(v[1], 0x85ebca77)) ^ 0x27d4eb2f)
  return entry
}

function printOf(slot: MapSlot): MapPrint {
  if (slot.print) return slot.print
  let sum0 = 0
  let sum1 = 0
  let order0 = 0x2545f491 | 0
  let order1 = 0x9e3779b9 | 0
  const names = slot.keys.names
  for (let i = 0; i < names.length; i++) {
    const k = names[i]
    const e = slot.entries[i]
    if (k === null || e!.value === undefined) continue
    const h = entryHashes(k, e!.value)
    sum0 = (sum0 + h[0]!) | 0
    sum1 = (sum1 + h[1]!) | 0
    const o = hashesOf(k)
    order0 = Math.imul(order0 ^ o[0], 0x01000193)
    order1 = Math.imul(order1 ^ o[1], 0x5bd1e995)
  }
  return (slot.print = { sum0, sum1, order0, order1 })
}

/**
 * The print after `writes` when each sets a key the map has (and no key twice): the order stays, the sum
 * moves by the entries written. Null otherwise (a key added or deleted: the order may change).
 */
function printAfter(slot: MapSlot, writes: readonly Write[]): MapPrint | null {
  const print = printOf(slot)
  return sumsAfter(slot, print, writes) ? { sum0: sums[0]!, sum1: sums[1]!, order0: print.order0, order1: print.order1 } : null
}

/** What sumsAfter works out (no object made per transition: most transitions tried make no new map). */
const sums = [0, 0]

/** The print's sums after `writes` into `sums`, when each sets a key the map has (and no key twice); else false. */
function sumsAfter(slot: MapSlot, print: MapPrint, writes: readonly Write[]): boolean {
  let sum0 = print.sum0
  let sum1 = print.sum1
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i]!
    if (w.op !== 'set' || !('key' in w)) return false
    const before = entryOf(slot, w.key)?.value
    if (before === undefined) return false
    for (let j = 0; j < i; j++) if ((writes[j] as { key?: string }).key === w.key) return false
    let h = entryHashes(w.key, before)
    sum0 = (sum0 - h[0]!) | 0
    sum1 = (sum1 - h[1]!) | 0
    h = entryHashes(w.key, w.value)
    sum0 = (sum0 + h[0]!) | 0
    sum1 = (sum1 + h[1]!) | 0
  }
  sums[0] = sum0
  sums[1] = sum1
  return true
}

const mapSlots: SlotKind<MapSlot> = {
  make(value, version) {
    return slotFrom(Object.entries((value ?? {}) as Record<string, Json>).map(([k, v]) => [k, { value: v, version, text: undefined }]), version)
  },
  apply(slot, writes, version, inPlace) {
    // The fingerprint follows the writes when it is known (before the entries change, in place or not).
    const print = !inPlace && slot.print ? printAfter(slot, writes) : null
    const entries = inPlace ? (slot.entries as (Entry | undefined)[]) : slot.entries.slice()
    let keys = slot.keys
    // The keys are changed only in a copy while another slot holds them (this one, or one made from it).
    let own = inPlace && !keys.shared
    for (const w of writes) {
      if (w.op !== 'set' && w.op !== 'delete') continue
      const key = (w as { key: string }).key
      const entry: Entry = { value: w.op === 'set' ? (w as { value: Json }).value : undefined, version, text: undefined }
      let i = keys.at(key)
      // Like a JS Map: a key set again after a delete goes to the end (as the transaction's own view had it); a new key too.
      if (i !== undefined && (w.op === 'delete' || entries[i]!.value !== undefined)) {
        entries[i] = entry
        continue
      }
      if (!own) {
        keys = keys.copy()
        own = true
      }
      if (i !== undefined) entries[i] = undefined
      i = i === undefined ? keys.push(key) : keys.moveToEnd(key, i)
      entries[i] = entry
    }
    if (own && keys.sparse) keys.compact(entries)
    // The slot made shares the keys with the one before: from now on, neither changes them in place.
    if (keys === slot.keys && !inPlace) keys.shared = true
    return { keys, entries, version, print }
  },
  value(slot) {
    const out: Record<string, Json> = {}
    forEachEntry(slot, (k, e) => {
      if (e.value === undefined) return
      // A key named __proto__ is a key like any other: assigned, it would set the object's prototype and vanish from every view of the state.
      if (k === '__proto__') Object.defineProperty(out, k, { value: e.value, enumerable: true, writable: true, configurable: true })
      else out[k] = e.value
    })
    return out
  },
  read: (slot, key) => (key === undefined ? mapSlots.value(slot) : entryOf(slot, key)?.value),
  /** Entries in their order, which code can observe through keys(). */
  canonical(slot) {
    let out = '{'
    forEachEntry(slot, (k, e) => {
      if (e.value !== undefined) out += JSON.stringify(k) + ':' + valueText(e.value) + ','
    })
    return out + '}'
  },
  fingerprint(slot, writes, out) {
    let print = printOf(slot)
    let sum0 = print.sum0
    let sum1 = print.sum1
    if (writes?.length) {
      if (sumsAfter(slot, print, writes)) {
        sum0 = sums[0]!
        sum1 = sums[1]!
      } else {
        print = printOf(mapSlots.apply(slot, writes, 0, false))
        sum0 = print.sum0
        sum1 = print.sum1
      }
    }
    out[0] = fmix((sum0 + Math.imul(print.order0, 0x9e3779b1)) | 0)
    out[1] = fmix((sum1 + Math.imul(print.order1, 0xc2b2ae35)) | 0)
  },
  versionOf: (slot, key) => (key === undefined ? slot.version : (entryOf(slot, key)?.version ?? 0)),
  save(slot) {
    const entries: [string, number, Json?][] = []
    forEachEntry(slot, (k, e) => void entries.push(e.value === undefined ? [k, e.version] : [k, e.version, e.value]))
    return { version: slot.version, entries }
  },
  load(saved, load) {
    if (!('entries' in saved)) throw new Error('a snapshot of a map without entries')
    return slotFrom(saved.entries.map(([k, version, value]) => [k, { value: value === undefined ? undefined : load(value), version, text: undefined }]), saved.version)
  },
}

/** The canonical text of the entry at `key`, or undefined when there is none: worked out once per entry, which states share. */
export function entryText(slot: MapSlot, key: string): string | undefined {
  const e = entryOf(slot, key)
  if (!e || e.value === undefined) return undefined
  return (e.text ??= valueText(e.value))
}

const DELETED = Symbol('deleted')

export class MapCell extends Cell<MapSlot> {
  readonly kind = 'map'
  private pending = new Map<string, Json | typeof DELETED>()
  /** Per key: the transaction that last recorded a read of it (no set emptied per transaction: clearing one allocates). */
  private readBy = new Map<string, number>()
  private readAll = false
  private seenTx = 0
  constructor(id: number, name: string, at: SourceLocation | null, initial: Record<string, Json>, version: number) {
    super(id, name, at, mapSlots, mapSlots.make(initial, version))
  }
  private begin(tx: TxView): void {
    if (this.seenTx === tx.id) return
    this.seenTx = tx.id
    // Only between transactions, and only once it is big: a stream of new keys read.
    if (this.readBy.size > 4096) this.readBy.clear()
    this.readAll = false
  }
  private readKey(tx: TxView, key: string): void {
    if (!tx.tracks) return
    this.begin(tx)
    if (this.readAll || this.readBy.get(key) === tx.id) return
    this.readBy.set(key, tx.id)
    tx.reads.push({ state: this.name, key, version: entryOf(this.slot, key)?.version ?? 0 })
  }
  private readWhole(tx: TxView): void {
    if (!tx.tracks) return
    this.begin(tx)
    if (this.readAll) return
    this.readAll = true
    tx.reads.push({ state: this.name, version: this.slot.version })
  }
  get(tx: TxView, key: string): Json | undefined {
    if (this.wTx === tx.id && this.pending.has(key)) {
      const v = this.pending.get(key)!
      return v === DELETED ? undefined : v
    }
    this.readKey(tx, key)
    return entryOf(this.slot, key)?.value
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
    const slot = this.slot
    const overlay = this.wTx === tx.id ? this.pending : null
    forEachEntry(slot, (k, e) => {
      // A key deleted before this transaction and set again in it comes after the others (below), once.
      if (e.value === undefined) return
      const v = overlay?.has(k) ? overlay.get(k)! : e.value
      if (v !== DELETED && v !== undefined) out.push([k, v])
    })
    if (overlay) for (const [k, v] of overlay) if (v !== DELETED && entryOf(slot, k)?.value === undefined) out.push([k, v])
    return out
  }
  writes(): Write[] {
    const out: Write[] = []
    for (const [key, v] of this.pending) {
      out.push(v === DELETED ? { state: this.name, op: 'delete', key } : { state: this.name, op: 'set', key, value: v })
    }
    return out
  }
}
