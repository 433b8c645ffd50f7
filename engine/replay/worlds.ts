// Exploration's states as values: a World is immutable, shares every cell it
// did not change with its parent, and has a small number for a key. Worlds
// does the arithmetic on them (apply an outcome's writes, key, hash, move
// between threads) with the store's own cell code, so exploration and a live
// run cannot disagree on what a write does.
import { trustValue } from '../runtime/values.ts'
import type { Cell, Slot } from '../runtime/store.ts'
import type { Write } from '../runtime/event.ts'
import type { MethodName } from '../runtime/compile.ts'
import { canonicalText } from '../runtime/values.ts'
import type { MemoWorld, Outcome } from './memo.ts'
import { Lanes, Texts, Tuples } from './worldKeys.ts'
import { Symmetry } from './symmetry.ts'
import { elementHashOf, hasElement, type SetSlot } from '../runtime/state/set.ts'
import { entryText, type MapSlot } from '../runtime/state/map.ts'

/** One state of the app. Never changed once made; unchanged cells are shared between worlds. */
export interface World {
  /** Per cell id: the slot the cell holds, shared with every world where that cell is the same. */
  readonly slots: readonly Slot[]
  /** Per cell id: its value's canonical text, as a number (equal texts, equal numbers). */
  readonly keys: readonly number[]
  /** Whether `start` has committed (until then it is the only transaction). */
  readonly started: boolean
  /** Whether a transaction called sys.halt (then nothing more happens). */
  readonly halted: boolean
  /** Where it stands besides its state: the clock, the inputs delivered, tty input unread, client requests sent. */
  readonly at: Situation
}

/**
 * Worlds are made by `new`, never as object literals: a literal's allocation
 * site that V8 decides to pretenure (worlds live on into the next level)
 * throws away all the optimised code that allocates there, early in every
 * search; a class instance has no such site.
 */
class WorldValue implements World {
  constructor(
    readonly slots: readonly Slot[],
    readonly keys: readonly number[],
    readonly started: boolean,
    readonly halted: boolean,
    readonly at: Situation,
  ) {}
}

/** A world of these parts. */
export function worldOf(slots: readonly Slot[], keys: readonly number[], started: boolean, halted: boolean, at: Situation): World {
  return new WorldValue(slots, keys, started, halted, at)
}

/** The same world at another situation. */
export function worldAt(world: World, at: Situation): World {
  return new WorldValue(world.slots, world.keys, world.started, world.halted, at)
}

/**
 * What besides state tells two worlds apart. The clock is in it because a
 * transaction may read it (sys.time.now) and awaits compare with it; it only
 * ever jumps to a deadline some transaction awaits, so it adds states only
 * where time matters. Shared between worlds: equal situations, one object.
 */
export interface Situation {
  readonly clock: number
  /** Bit i (2 ** i) set: recorded input i was delivered. */
  readonly delivered: number
  /** Tty input delivered and not read yet. */
  readonly tty: string
  /** Requests clients() has sent along the way here. */
  readonly sent: number
  /** Its canonical text as a number (Texts): part of the world's key. */
  readonly key: number
}

/** A Situation as plain data (what crosses between threads). */
export type SituationData = Pick<Situation, 'clock' | 'delivered' | 'tty' | 'sent'>

/** Whether recorded input `i` was delivered. */
export function delivered(at: Situation, i: number): boolean {
  return Math.floor(at.delivered / 2 ** i) % 2 === 1
}

/** What an outcome does to the cells it writes: their writes, and each one's key after by its key before (a class, as WorldValue: kept as long as the outcome). */
class Effect {
  // Array.of, not [] literals: a literal's allocation site would be pretenured as a world's (WorldValue).
  // Each array is made with its first element, so that it has the kind of elements it keeps from the start.
  readonly cells: number[]
  readonly writes: Write[][]
  readonly after: Map<number, number>[]

  /** The effect of no write (`id` -1), or of `write` to cell `id` so far. */
  constructor(id: number, write?: Write) {
    this.cells = id < 0 ? Array.of() : Array.of(id)
    this.writes = id < 0 ? Array.of() : Array.of(Array.of(write!))
    this.after = id < 0 ? Array.of() : Array.of(new Map())
  }

  /** Adds `write`, to cell `id`. */
  add(id: number, write: Write): void {
    const j = this.cells.indexOf(id)
    if (j >= 0) return void this.writes[j]!.push(write)
    this.cells.push(id)
    this.writes.push(Array.of(write))
    this.after.push(new Map())
  }
}

/** What the transitions from one world share (Worlds.baseOf): its cells' fingerprint halves, its own fingerprint and key (-1: not looked up yet). */
interface WorldBase {
  world: World | null
  h1s: number[]
  h2s: number[]
  h1: number
  h2: number
  key: number
}

export class Worlds implements MemoWorld<World> {
  private readonly texts: Texts
  private readonly tuples = new Tuples()
  private readonly lanes = new Lanes()
  private readonly situations = new Map<number, Situation>()
  private readonly effects = new WeakMap<object, Effect>()
  private readonly lastCells: number[] = []
  private readonly lastH1: number[] = []
  private readonly lastH2: number[] = []
  private readonly scratch = [0, 0]
  private readonly base: WorldBase = { world: null, h1s: [], h2s: [], h1: 0, h2: 0, key: -1 }
  /** Values declared symmetric (test.symmetric): a world's key, canonical key and hash are its orbit's representative's. */
  private symmetry: Symmetry | null = null

  constructor(
    private readonly store: { readonly cells: readonly Cell[]; readonly byName: ReadonlyMap<string, Cell> },
    /** JSON of the sandbox's realm: rebuilt values must be made there. */
    private readonly realmJson: () => JSON,
    /**
     * Keep every value's canonical text (a set's too, instead of its fingerprint), for what must read a
     * value back from its number (symmetry renames values): more memory, the same keys otherwise.
     */
    options: { keepTexts?: boolean } = {},
  ) {
    this.texts = new Texts(options.keepTexts)
  }

  /** From now on, worlds equal up to a permutation of each group of values are one world. */
  permuting(groups: readonly (readonly string[])[]): Symmetry {
    return (this.symmetry = new Symmetry(groups, this.cells.map((c) => c.kind), this.texts))
  }

  get cells(): readonly Cell[] {
    return this.store.cells
  }

  valueOf(world: World, cell: number, key: string | undefined, probe: number): string | number {
    if (key === undefined) return world.keys[cell]!
    const c = this.cells[cell]!
    // A set's element is its key: whether it is there says all (looked up by the hash the read was remembered with).
    if (c.kind === 'set') return hasElement(world.slots[cell] as SetSlot, key, probe) ? 1 : '~'
    if (c.kind === 'map') return entryText(world.slots[cell] as MapSlot, key) ?? '~'
    const v = c.slots.read(world.slots[cell]!, key)
    return v === undefined ? '~' : canonicalText(v)
  }

  probeOf(cell: number, key: string | undefined): number {
    return key !== undefined && this.cells[cell]!.kind === 'set' ? elementHashOf(key) : 0
  }

  cellId(name: string): number {
    return this.store.byName.get(name)!.id
  }

  /** The one Situation object for these values. */
  situation(clock: number, delivered: number, tty: string, sent: number): Situation {
    const key = this.texts.number(`\u0002${clock}|${delivered}|${sent}|${tty}`)
    let at = this.situations.get(key)
    if (!at) this.situations.set(key, (at = { clock, delivered, tty, sent, key }))
    return at
  }

  /** The world the store holds now (slots shared with the store's cells). */
  current(started: boolean, halted: boolean, at: Situation): World {
    const slots = this.cells.map((cell) => cell.share())
    return worldOf(slots, this.keysOf(slots), started, halted, at)
  }

  /** A cell's slot as JSON: what another thread needs to rebuild it (handoffs.ts). */
  slotJson(cell: number, slot: Slot): string {
    return JSON.stringify(this.cells[cell]!.slots.save(slot))
  }

  /** A slot from `slotJson`, its values made in the sandbox's realm, and the number of its canonical text here. */
  loadSlot(cell: number, json: string): { slot: Slot; key: number } {
    const slots = this.cells[cell]!.slots
    const slot = slots.load(this.realmJson().parse(json), trustValue)
    return { slot, key: this.slotKey(slots, slot, null) }
  }

  /** The same world with the clock moved on to `time` (a deadline some transaction awaits). */
  clockMoved(world: World, time: number): World {
    const at = world.at
    return worldAt(world, this.situation(time, at.delivered, at.tty, at.sent))
  }

  /** The world a committed transaction leaves behind: `world` with its writes applied. */
  after(world: World, tx: { writes: readonly Write[]; halt: boolean }, method: MethodName, at: Situation = world.at): World {
    const started = world.started || method === 'start'
    if (!tx.writes.length && !tx.halt && started === world.started && at === world.at) return world
    const slots = world.slots.slice()
    const keys = world.keys.slice()
    const effect = this.effectOf(tx)
    for (let j = 0; j < effect.cells.length; j++) {
      const id = effect.cells[j]!
      slots[id] = this.cells[id]!.slots.apply(slots[id]!, effect.writes[j]!, 0, false)
      keys[id] = this.cellAfter(world, effect, j, slots[id])
    }
    return worldOf(slots, keys, started, world.halted || tx.halt, at)
  }

  /**
   * The key of the world `outcome` leads to from `world`, without making that
   * world: most transitions reach a state seen before, and for those the
   * search needs only this — so a written cell whose kind has a fingerprint
   * is not even given a number (one probe of a big table less per transition).
   */
  nextKey(world: World, outcome: Outcome, method: MethodName, at: Situation = world.at): number {
    if (this.symmetry) return this.keyOfParts(this.nextCells(world, outcome, method), at, this.lastCells)
    const l = this.nextLanes(world, outcome, method, at)
    // Many transitions lead back to the world they start from (a message sent again): its key is at hand, no probe of the table.
    const base = this.base
    if (l.h1 === base.h1 && l.h2 === base.h2) return base.key >= 0 ? base.key : (base.key = this.tuples.number(l.h1, l.h2))
    return this.tuples.number(l.h1, l.h2)
  }

  /** The same world's fingerprint (`fingerprint`) instead of its key: what threads sharing a seen set agree on. */
  nextFingerprint(world: World, outcome: Outcome, method: MethodName, at: Situation): Lanes {
    if (this.symmetry) return this.fingerprintOfParts(this.nextCells(world, outcome, method), at, this.lastCells)
    return this.nextLanes(world, outcome, method, at)
  }

  /** The cells' keys after `outcome` (in lastCells), and the flags after: what symmetry needs (it renames by number). */
  private nextCells(world: World, outcome: Outcome, method: MethodName): number {
    const effect = this.effectOf(outcome)
    const keys = world.keys
    for (let i = 0; i < keys.length; i++) {
      const j = effect.cells.indexOf(i)
      this.lastCells[i] = j < 0 ? keys[i]! : this.cellAfter(world, effect, j)
    }
    return flagsOf(world.started || method === 'start', world.halted || outcome.halt)
  }

  /** The fingerprint of the world after `outcome` (`fingerprint`), each written cell's halves worked out without numbering them. */
  private nextLanes(world: World, outcome: Outcome, method: MethodName, at: Situation): Lanes {
    const effect = this.effectOf(outcome)
    const t = this.texts
    const keys = world.keys
    const h1 = this.lastH1
    const h2 = this.lastH2
    const base = this.baseOf(world)
    for (let i = 0; i < keys.length; i++) {
      h1[i] = base.h1s[i]!
      h2[i] = base.h2s[i]!
    }
    for (let j = 0; j < effect.cells.length; j++) {
      const id = effect.cells[j]!
      const kind = this.cells[id]!.slots
      if (kind.fingerprint && !t.keeps) {
        kind.fingerprint(world.slots[id]!, effect.writes[j]!, this.scratch)
        h1[id] = this.scratch[0]!
        h2[id] = this.scratch[1]!
      } else {
        const n = this.cellAfter(world, effect, j)
        h1[id] = t.hash(n)
        h2[id] = t.second(n)
      }
    }
    const l = this.lanes.begin(flagsOf(world.started || method === 'start', world.halted || outcome.halt)).add(t.hash(at.key)).add(t.second(at.key))
    for (let i = 0; i < keys.length; i++) l.add(h1[i]!).add(h2[i]!)
    return l.end(keys.length * 2 + 3)
  }

  /**
   * The world whose transitions are being worked out: its cells' halves
   * (looked up once, not once per transition: a big table's entries are far
   * apart in memory) and its own fingerprint.
   */
  private baseOf(world: World): WorldBase {
    const base = this.base
    if (base.world === world) return base
    const t = this.texts
    const keys = world.keys
    for (let i = 0; i < keys.length; i++) {
      base.h1s[i] = t.hash(keys[i]!)
      base.h2s[i] = t.second(keys[i]!)
    }
    const l = this.fingerprintOfParts(flagsOf(world.started, world.halted), world.at, keys)
    base.world = world
    base.h1 = l.h1
    base.h2 = l.h2
    base.key = -1
    return base
  }

  /** A number equal for two worlds exactly when no transaction could tell them apart. */
  key(world: World): number {
    return this.keyOfParts(flagsOf(world.started, world.halted), world.at, world.keys)
  }

  /**
   * A world's 64-bit fingerprint, made of its cells' text fingerprints (not
   * of this thread's numbers for them), so every thread makes the same one:
   * the key of the seen set threads share (sharedSeen.ts). Read it before
   * the next call.
   */
  fingerprint(world: World): Lanes {
    return this.fingerprintOfParts(flagsOf(world.started, world.halted), world.at, world.keys)
  }

  /**
   * A world's key from its parts: the flags (started 1, halted 2), its
   * situation and each cell's key — the number of its fingerprint (without
   * symmetry, which renames values by number: then of the list of numbers).
   */
  keyOfParts(flags: number, at: Situation, cells: readonly number[]): number {
    if (!this.symmetry) {
      const l = this.fingerprintOfParts(flags, at, cells)
      return this.tuples.number(l.h1, l.h2)
    }
    cells = this.symmetry.representative(cells)
    const t = this.tuples.begin(flags).add(at.key)
    for (let i = 0; i < cells.length; i++) t.add(cells[i]!)
    return t.end(cells.length + 2)
  }

  private fingerprintOfParts(flags: number, at: Situation, cells: readonly number[]): Lanes {
    if (this.symmetry) cells = this.symmetry.representative(cells)
    const t = this.texts
    const l = this.lanes.begin(flags).add(t.hash(at.key)).add(t.second(at.key))
    for (let i = 0; i < cells.length; i++) l.add(t.hash(cells[i]!)).add(t.second(cells[i]!))
    return l.end(cells.length * 2 + 3)
  }

  private keysOf(slots: readonly Slot[]): number[] {
    return slots.map((slot, i) => this.slotKey(this.cells[i]!.slots, slot, null))
  }

  /** The number of a slot's value (or of what `writes` make of it): by its kind's fingerprint where it has one, else by its canonical text. */
  private slotKey<S extends Slot>(kind: Cell<S>['slots'], slot: S, writes: readonly Write[] | null): number {
    if (kind.fingerprint && !this.texts.keeps) {
      kind.fingerprint(slot, writes, this.scratch)
      return this.texts.fingerprinted(this.scratch[0]!, this.scratch[1]!)
    }
    return this.texts.number(kind.canonical(writes ? kind.apply(slot, writes, 0, false) : slot))
  }

  /** The writes of an outcome (or a transaction) grouped by cell, worked out once per outcome. */
  private effectOf(outcome: { writes: readonly Write[] }): Effect {
    let effect = this.effects.get(outcome)
    if (!effect) {
      const writes = outcome.writes
      effect = writes.length ? new Effect(this.cellId(writes[0]!.state), writes[0]!) : new Effect(-1)
      for (let i = 1; i < writes.length; i++) effect.add(this.cellId(writes[i]!.state), writes[i]!)
      this.effects.set(outcome, effect)
    }
    return effect
  }

  /** The key of written cell j after the effect: equal keys are equal slots, so it depends only on the key before. */
  private cellAfter(world: World, effect: Effect, j: number, slot?: Slot): number {
    const id = effect.cells[j]!
    const kind = this.cells[id]!.slots
    // A fingerprint after is cheap: remembering it by the key before would cost more memory than it saves.
    // The slot made already carries it (its kind's apply keeps it up to date): nothing is worked out again.
    if (kind.fingerprint && !this.texts.keeps) return slot ? this.slotKey(kind, slot, null) : this.slotKey(kind, world.slots[id]!, effect.writes[j]!)
    const before = world.keys[id]!
    let after = effect.after[j]!.get(before)
    if (after === undefined) {
      const slots = this.cells[id]!.slots
      after = this.texts.number(slots.canonical(slot ?? slots.apply(world.slots[id]!, effect.writes[j]!, 0, false)))
      effect.after[j]!.set(before, after)
    }
    return after
  }
}

/** started (1) and halted (2), as a world's key and a handed-over state carry them. */
export function flagsOf(started: boolean, halted: boolean): number {
  return (started ? 1 : 0) + (halted ? 2 : 0)
}

/** What a memo's name needs besides the method: the clock and tty input, where they are not the start's. */
export function memoSuffix(at: Situation, start: number): string {
  return at.clock === start && !at.tty ? '' : `@${at.clock}:${at.tty}`
}
