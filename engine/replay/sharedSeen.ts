// The states every thread of a parallel exploration has seen, in one table
// they all share: open addressing over 64-bit fingerprints in a
// SharedArrayBuffer. A thread claims a state by writing its fingerprint into
// an empty slot with compare-and-exchange, and the thread that claims a state
// is the one that expands it: no thread hands a state to another just to ask
// "seen?". The table grows between batches, while every thread waits.
import { slotOf } from './worldKeys.ts'

/** Header words: the states claimed, 1 once the table wants to grow, and how many more states the search may add. */
const COUNT = 0
const GROW = 1
const ROOM = 2
/** Grown past half full: probes stay short. */
const GROW_AT = 0.5
/**
 * Past this, a claim fails (an error, never a wrong count): threads keep
 * claiming for one batch after the table asked to grow, and a batch adds
 * far fewer than the room between half and this.
 */
const FULL_AT = 0.9375
/** A half that is 0 marks an empty slot, so a 0 half is stored as this (it merges two of 2³² values: the bound moves by under 10⁻⁹). */
const ZERO_HI = 0x5bd1e995 | 0
const ZERO_LO = 0x27d4eb2f | 0

/** What a thread is given: the table's words and its header, both shared. */
export interface SeenBuffers {
  slots: SharedArrayBuffer
  head: SharedArrayBuffer
}

export class SharedSeen {
  private words: Int32Array
  private mask: number
  private limit: number
  private readonly head: Int32Array

  constructor(buffers: SeenBuffers) {
    this.head = new Int32Array(buffers.head)
    this.words = new Int32Array(buffers.slots)
    this.mask = 0
    this.limit = 0
    this.use(buffers.slots)
  }

  /** A new empty table with room for `slots` fingerprints (a power of two). */
  static create(slots = 2 ** 17): SeenBuffers {
    return { slots: new SharedArrayBuffer(slots * 8), head: new SharedArrayBuffer(12) }
  }

  /** States claimed so far, by every thread. */
  get size(): number {
    return Atomics.load(this.head, COUNT)
  }

  /** Whether the table asked to grow: every thread stops claiming until it has (`grown`). */
  get wantsRoom(): boolean {
    return Atomics.load(this.head, GROW) === 1
  }

  /** Lets the threads add `states` more, in all (--max-states is one bound for all of them). */
  allow(states: number): void {
    Atomics.store(this.head, ROOM, Math.min(states, 2 ** 31 - 1))
  }

  /** Whether one more state may be added (then it is counted against the room left). */
  take(): boolean {
    return Atomics.sub(this.head, ROOM, 1) > 0
  }

  /** True when this call is the first, in any thread, to see the state with fingerprint (h1, h2). */
  claim(h1: number, h2: number): boolean {
    const hi = h1 | 0 || ZERO_HI
    const lo = h2 | 0 || ZERO_LO
    const words = this.words
    let i = slotOf(hi, lo) & this.mask
    for (;;) {
      const at = i * 2
      let seen = Atomics.load(words, at)
      if (seen === 0) {
        seen = Atomics.compareExchange(words, at, 0, hi)
        if (seen === 0) {
          Atomics.store(words, at + 1, lo)
          const count = Atomics.add(this.head, COUNT, 1) + 1
          if (count > this.limit) this.full(count)
          return true
        }
      }
      if (seen === hi && this.low(at + 1) === lo) return false
      i = (i + 1) & this.mask
    }
  }

  /** Takes the words of a grown table (`grown`, made while every thread waited). */
  use(slots: SharedArrayBuffer): void {
    this.words = new Int32Array(slots)
    this.mask = this.words.length / 2 - 1
    this.limit = Math.floor((this.mask + 1) * GROW_AT)
  }

  /** A table twice the size with every fingerprint of this one; call only while no thread claims. */
  grown(): SharedArrayBuffer {
    const old = this.words
    const slots = new SharedArrayBuffer(old.byteLength * 2)
    const words = new Int32Array(slots)
    const mask = words.length / 2 - 1
    for (let j = 0; j < old.length; j += 2) {
      const hi = old[j]!
      if (hi === 0) continue
      const lo = old[j + 1]!
      let i = slotOf(hi, lo) & mask
      while (words[i * 2] !== 0) i = (i + 1) & mask
      words[i * 2] = hi
      words[i * 2 + 1] = lo
    }
    this.use(slots)
    Atomics.store(this.head, GROW, 0)
    return slots
  }

  /** A slot's low half: the thread that claimed it writes it just after the high one. */
  private low(at: number): number {
    for (let spins = 0; ; spins++) {
      const lo = Atomics.load(this.words, at)
      if (lo !== 0) return lo
      // The claiming thread was paused between its two writes: sleep a little rather than spin.
      if (spins > 64) Atomics.wait(this.words, at, 0, 1)
    }
  }

  private full(count: number): void {
    Atomics.store(this.head, GROW, 1)
    if (count > (this.mask + 1) * FULL_AT) {
      throw new Error(`the seen set shared by the exploration threads filled up before it could grow (${count} states): explore with fewer --workers, or on one thread`)
    }
  }
}
