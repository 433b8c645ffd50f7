// state.var: one value, replaced by each set.
import type { Json } from '../values.ts'
import type { SourceLocation, Write } from '../event.ts'
import { Cell, valueSlots, type TxView, type ValueSlot } from './cell.ts'

const varSlots = valueSlots<Json>((value, w) => (w.op === 'set' && !('key' in w) ? w.value : value))

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
