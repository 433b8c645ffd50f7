// state.counter: a number that only adds, so concurrent adds never conflict.
import type { SourceLocation, Write } from '../event.ts'
import { Cell, valueSlots, type TxView, type ValueSlot } from './cell.ts'

type CounterSlot = ValueSlot<number>

const counterSlots = valueSlots<number>((value, w) => (w.op === 'add' ? value + w.value : value))

export class CounterCell extends Cell<CounterSlot> {
  readonly kind = 'counter'
  private delta = 0
  constructor(id: number, name: string, at: SourceLocation | null, initial: number, version: number) {
    super(id, name, at, counterSlots, counterSlots.make(initial, version))
  }
  get(tx: TxView): number {
    this.read(tx, this.slot.version)
    return this.slot.value + (this.wTx === tx.id ? this.delta : 0)
  }
  /** Adds never read, so concurrent adds never conflict. */
  add(tx: TxView, n: number): void {
    if (this.touch(tx)) this.delta = 0
    this.delta += n
  }
  writes(): Write[] {
    return [{ state: this.name, op: 'add', value: this.delta }]
  }
}
