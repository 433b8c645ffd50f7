// state.var: one value, replaced by each set.
import type { Json } from '../values.ts'
import { canonicalText } from '../values.ts'
import type { SourceLocation, Write } from '../event.ts'
import { Cell, savedValue, type SlotKind, type TxView, type ValueSlot } from './cell.ts'

export const varSlots: SlotKind<ValueSlot> = {
  make: (value, version) => ({ value, version }),
  apply(slot, writes, version) {
    let value = slot.value
    for (const w of writes) if (w.op === 'set' && !('key' in w)) value = w.value
    return { value, version }
  },
  value: (slot) => slot.value,
  read: (slot) => slot.value,
  canonical: (slot) => canonicalText(slot.value),
  versionOf: (slot) => slot.version,
  save: (slot) => ({ version: slot.version, value: slot.value }),
  load: (saved, load) => ({ value: load(savedValue(saved)), version: saved.version }),
}

export class VarCell extends Cell<ValueSlot> {
  readonly kind = 'var'
  private pending: Json = null
  constructor(id: number, name: string, at: SourceLocation | null, initial: Json, version: number) {
    super(id, name, at, varSlots, varSlots.make(initial, version))
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
}
