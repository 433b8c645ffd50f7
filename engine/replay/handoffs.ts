// States one thread of a parallel exploration gives another to expand, when
// a level is uneven, in few bytes. Each pair of threads keeps a table per
// cell of the values it has sent: a value crosses once, as JSON, and from
// then on a state is a row of numbers into those tables. Ports deliver in
// order, so the receiver grows its tables as batches arrive and makes a
// state's values from them without parsing anything it has seen before.
import type { Slot } from '../runtime/store.ts'
import { flagsOf, worldOf, type Situation, type SituationData, type World } from './worlds.ts'

/** What the tables need of exploration's worlds (Worlds). */
export interface HandoffWorlds {
  readonly cells: readonly unknown[]
  /** A cell's slot as JSON, to be loaded in another thread. */
  slotJson(cell: number, slot: Slot): string
  /** A slot from `slotJson`, and the number of its canonical text here. */
  loadSlot(cell: number, json: string): { slot: Slot; key: number }
  situation(clock: number, delivered: number, tty: string, sent: number): Situation
}

/** One state moved to another thread: rows of the pair's tables, and whose state it is. */
export interface Handoff {
  /** started (1) and halted (2). */
  flags: number
  /** Row of the situations table. */
  at: number
  /** Per cell: row of that cell's table. */
  cells: number[]
  /** The thread whose state it is (found, counted and checked there), and its id in that thread. */
  shard: number
  id: number
}

/** What crosses a port when a level is evened out: the tables' new rows, then the states. */
export interface HandoffBatch {
  depth: number
  /** New rows, in order: [cell, its slot's JSON]. */
  values: [number, string][]
  situations: SituationData[]
  items: Handoff[]
}

/** The sending side of one pair of threads. */
export class Outgoing {
  /** Per cell: the row each value (by its key here) has in the receiver's table. */
  private readonly rows: Map<number, number>[]
  private readonly situations = new Map<number, number>()
  private batch: HandoffBatch

  constructor(private readonly worlds: HandoffWorlds) {
    this.rows = worlds.cells.map(() => new Map())
    this.batch = { depth: 0, values: [], situations: [], items: [] }
  }

  /** Hands over a state: its values new to the receiver as JSON, the others as rows. */
  add(world: World, shard: number, id: number): void {
    const b = this.batch
    const cells = new Array<number>(world.keys.length)
    for (let i = 0; i < cells.length; i++) {
      const rows = this.rows[i]!
      let row = rows.get(world.keys[i]!)
      if (row === undefined) {
        rows.set(world.keys[i]!, (row = rows.size))
        b.values.push([i, this.worlds.slotJson(i, world.slots[i]!)])
      }
      cells[i] = row
    }
    const at = world.at
    let row = this.situations.get(at.key)
    if (row === undefined) {
      this.situations.set(at.key, (row = this.situations.size))
      b.situations.push({ clock: at.clock, delivered: at.delivered, tty: at.tty, sent: at.sent })
    }
    b.items.push({ flags: flagsOf(world.started, world.halted), at: row, cells, shard, id })
  }

  /** The batch so far; a new one begins. */
  take(depth: number): HandoffBatch {
    const b = this.batch
    b.depth = depth
    this.batch = { depth: 0, values: [], situations: [], items: [] }
    return b
  }
}

/** The receiving side of one pair: the sender's tables as they grew. */
export class Incoming {
  private readonly json: string[][]
  private readonly loaded: ({ slot: Slot; key: number } | undefined)[][]
  private readonly situations: Situation[] = []

  constructor(private readonly worlds: HandoffWorlds) {
    this.json = worlds.cells.map(() => [])
    this.loaded = worlds.cells.map(() => [])
  }

  /** Grows the tables by a batch's new rows: call for every batch, in the order they arrive. */
  learn(batch: HandoffBatch): void {
    for (const [cell, json] of batch.values) this.json[cell]!.push(json)
    for (const s of batch.situations) this.situations.push(this.worlds.situation(s.clock, s.delivered, s.tty, s.sent))
  }

  /** The state, its values made here (each once per pair). */
  world(item: Handoff): World {
    const slots = item.cells.map((row, i) => this.value(i, row).slot)
    const keys = item.cells.map((row, i) => this.value(i, row).key)
    return worldOf(slots, keys, (item.flags & 1) !== 0, (item.flags & 2) !== 0, this.situations[item.at]!)
  }

  private value(cell: number, row: number): { slot: Slot; key: number } {
    const loaded = this.loaded[cell]!
    let v = loaded[row]
    if (!v) {
      const json = this.json[cell]![row]
      if (json === undefined) throw new Error(`a state handed over names value ${row} of cell ${cell}, which never arrived`)
      v = loaded[row] = this.worlds.loadSlot(cell, json)
    }
    return v
  }
}
