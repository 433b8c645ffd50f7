// state.map: entries read and written per key. A deleted key keeps its
// version, so a transaction that read it missing sees when it is set again.
import type { Json } from '../values.ts'
import { canonicalText } from '../values.ts'
import type { SourceLocation, Write } from '../event.ts'
import { Cell, type SlotKind, type TxView } from './cell.ts'

type Entries = Map<string, { value: Json | undefined; version: number }>

export interface MapSlot {
  readonly entries: Entries
  /** Version of the last write to any key: what whole-map reads (keys, size…) depend on. */
  readonly version: number
}

const mapSlots: SlotKind<MapSlot> = {
  make(value, version) {
    const entries: Entries = new Map()
    for (const [k, v] of Object.entries((value ?? {}) as Record<string, Json>)) entries.set(k, { value: v, version })
    return { entries, version }
  },
  apply(slot, writes, version, inPlace) {
    const entries = inPlace ? slot.entries : new Map(slot.entries)
    for (const w of writes) {
      if (w.op === 'set' && 'key' in w) {
        // Like a JS Map: a key set again after a delete goes to the end (as the transaction's own view had it).
        if (entries.get(w.key)?.value === undefined) entries.delete(w.key)
        entries.set(w.key, { value: w.value, version })
      } else if (w.op === 'delete') entries.set(w.key, { value: undefined, version })
    }
    return { entries, version }
  },
  value(slot) {
    const out: Record<string, Json> = {}
    for (const [k, e] of slot.entries) if (e.value !== undefined) out[k] = e.value
    return out
  },
  read: (slot, key) => (key === undefined ? mapSlots.value(slot) : slot.entries.get(key)?.value),
  /** Entries in their order, which code can observe through keys(). */
  canonical(slot) {
    let out = '{'
    for (const [k, e] of slot.entries) if (e.value !== undefined) out += JSON.stringify(k) + ':' + canonicalText(e.value) + ','
    return out + '}'
  },
  versionOf: (slot, key) => (key === undefined ? slot.version : (slot.entries.get(key)?.version ?? 0)),
  save(slot) {
    const entries: [string, number, Json?][] = []
    for (const [k, e] of slot.entries) entries.push(e.value === undefined ? [k, e.version] : [k, e.version, e.value])
    return { version: slot.version, entries }
  },
  load(saved, load) {
    if (!('entries' in saved)) throw new Error('a snapshot of a map without entries')
    const entries: Entries = new Map()
    for (const [k, version, value] of saved.entries) entries.set(k, { value: value === undefined ? undefined : load(value), version })
    return { entries, version: saved.version }
  },
}

const DELETED = Symbol('deleted')

export class MapCell extends Cell<MapSlot> {
  readonly kind = 'map'
  private pending = new Map<string, Json | typeof DELETED>()
  private readKeys = new Set<string>()
  private readAll = false
  private seenTx = 0
  constructor(id: number, name: string, at: SourceLocation | null, initial: Record<string, Json>, version: number) {
    super(id, name, at, mapSlots, mapSlots.make(initial, version))
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
    tx.reads.push({ state: this.name, key, version: this.slot.entries.get(key)?.version ?? 0 })
  }
  private readWhole(tx: TxView): void {
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
    return this.slot.entries.get(key)?.value
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
    const entries = this.slot.entries
    const overlay = this.wTx === tx.id ? this.pending : null
    for (const [k, e] of entries) {
      // A key deleted before this transaction and set again in it comes after the others (below), once.
      if (e.value === undefined) continue
      const v = overlay?.has(k) ? overlay.get(k)! : e.value
      if (v !== DELETED && v !== undefined) out.push([k, v])
    }
    if (overlay) for (const [k, v] of overlay) if (v !== DELETED && entries.get(k)?.value === undefined) out.push([k, v])
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
