// How exploration tells worlds apart without comparing text: each cell's
// canonical text gets a number, and a world's list of cells gets one too.

/** The first size of the tables here (and of the search's per-state arrays, stateIds.ts and trails.ts). */
export const INITIAL = 16

/**
 * Numbers for worlds: a world is its flags, its situation and its cells, and
 * gets one number for that list — by the 64-bit fingerprint (two 32-bit lanes
 * of Murmur3's mixing, seeded apart) of the list of their fingerprints (of
 * their numbers where symmetry renames values), one probe of a flat table per
 * transition instead of a hash table per cell. As for texts, two lists with
 * one fingerprint would be one world: below n² / 2⁶⁵ for n distinct worlds.
 */
export class Tuples {
  private readonly table = new Fingerprints()
  private readonly lanes = new Lanes()
  /** Starts a list with its first number. */
  begin(first: number): this {
    this.lanes.begin(first)
    return this
  }
  /** Adds the list's next number. */
  add(n: number): this {
    this.lanes.add(n)
    return this
  }
  /** The number of the list begun and added to. */
  end(length: number): number {
    const l = this.lanes.end(length)
    return this.table.number(l.h1, l.h2)
  }
  /** The number of a list whose fingerprint was worked out elsewhere (Lanes). */
  number(h1: number, h2: number): number {
    return this.table.number(h1, h2)
  }
}

/** A list of numbers' 64-bit fingerprint (two 32-bit lanes of Murmur3's mixing, seeded apart), without numbering it. */
export class Lanes {
  h1 = 0
  h2 = 0
  begin(first: number): this {
    this.h1 = step(0x2545f491, first)
    this.h2 = step(0x9e3779b9, first)
    return this
  }
  add(n: number): this {
    this.h1 = step(this.h1, n)
    this.h2 = step(this.h2, n)
    return this
  }
  /** Ends the list: its fingerprint is then (h1, h2). */
  end(length: number): this {
    this.h1 = fmix(this.h1 ^ length)
    this.h2 = fmix(this.h2 ^ length)
    return this
  }
}

function step(h: number, n: number): number {
  let k = Math.imul(n, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  h ^= Math.imul(k, 0x1b873593)
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/**
 * Fingerprint halves are kept signed (int32): a small integer in every field
 * and array that holds them. Unsigned, half of them would be doubles, and the
 * first one stored would change the shape of the objects holding them —
 * throwing away code the JIT had just optimised, early in every search.
 */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/**
 * Numbers for canonical texts: worlds compare and hash short lists of
 * numbers, not long texts. A text is known by its 64-bit fingerprint (two
 * independent 32-bit hashes), and the text itself is not kept: a model's
 * cell values are most of its memory otherwise (PaxosCommit's set of
 * messages is ~500 characters a state). Two different texts with one
 * fingerprint would be taken for one: with n distinct texts that happens
 * with probability below n² / 2⁶⁵ (5·10⁻⁸ for 1.4 million texts).
 */
export class Texts {
  private readonly table = new Fingerprints()
  /** Small to begin with: the first growth comes within a search's first states, before the JIT has optimised the code that reads this field (a field first reassigned later throws that code away, mid-search). */
  private hashes = new Int32Array(INITIAL)
  private seconds = new Int32Array(INITIAL)
  /** How many numbers have their halves stored. */
  private stored = 0
  /** With `keep`, the texts themselves, by number: for what must read a value back (symmetry renames values). */
  private readonly kept: string[] | null

  constructor(keep = false) {
    this.kept = keep ? [] : null
  }

  /** Whether `text(n)` gives the text itself, not its fingerprint. */
  get keeps(): boolean {
    return this.kept !== null
  }

  number(text: string): number {
    let h1 = 0x811c9dc5
    let h2 = 0x9747b28c
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193)
      h2 = Math.imul(h2 ^ c, 0x5bd1e995)
      h2 ^= h2 >>> 13
    }
    h2 = Math.imul(h2 ^ (h2 >>> 15), 0x85ebca6b) ^ text.length
    const n = this.fingerprinted(h1, h2)
    if (this.kept && this.kept[n] === undefined) this.kept[n] = text
    return n
  }
  /** The number of a value known by its fingerprint (a kind's own, SlotKind.fingerprint), not by its text. */
  fingerprinted(h1: number, h2: number): number {
    h1 |= 0
    h2 |= 0
    const n = this.table.number(h1, h2)
    // By what is stored, not by whether the table just grew: a call cut off between the two is made again.
    if (n >= this.stored) {
      if (n >= this.hashes.length) this.hashes = grown(this.hashes)
      if (n >= this.seconds.length) this.seconds = grown(this.seconds)
      this.hashes[n] = h1
      this.seconds[n] = h2
      this.stored = n + 1
    }
    return n
  }
  /** The text (with `keep`), or its fingerprint as a short text: equal in every thread for equal texts. */
  text(n: number): string {
    return this.kept?.[n] ?? (this.hashes[n]! >>> 0).toString(36) + '.' + (this.seconds[n]! >>> 0).toString(36)
  }
  /** The text's hash (FNV-1a): equal texts hash equally in every thread. */
  hash(n: number): number {
    return this.hashes[n]!
  }
  /** The other half of the text's fingerprint (with `hash`, the same in every thread). */
  second(n: number): number {
    return this.seconds[n]!
  }
}

/**
 * A table from 64-bit fingerprints (two 32-bit halves) to the numbers 0, 1,
 * 2… in the order they were first seen: open addressing over one flat typed
 * array, a slot's three words side by side (one cache line read per probe of
 * a table far bigger than the cache), at most half full — no object per entry.
 */
export class Fingerprints {
  size = 0
  /** Small to begin with, as Texts' arrays. */
  private mask = INITIAL - 1
  /** Per slot: the two halves, then the entry's number plus one (0: an empty slot). */
  private slots = new Int32Array(3 * INITIAL)

  /** The number of fingerprint (h1, h2): the one it was given, or the next one. */
  number(h1: number, h2: number): number {
    // Halves given as unsigned are the same halves.
    h1 |= 0
    h2 |= 0
    const slots = this.slots
    let i = slotOf(h1, h2) & this.mask
    for (;;) {
      const at = i * 3
      const id = slots[at + 2]!
      if (id === 0) break
      if (slots[at] === h1 && slots[at + 1] === h2) return id - 1
      i = (i + 1) & this.mask
    }
    const at = i * 3
    slots[at] = h1
    slots[at + 1] = h2
    slots[at + 2] = ++this.size
    if (this.size * 2 > this.mask) this.grow()
    return this.size - 1
  }

  /**
   * Doubles the table. Built aside and put in place at the end: the time
   * limit that guards a batch covers this code too, and cut off half-way
   * (a long copy on a loaded machine) it must leave the table as it was —
   * a table that lost entries would take states seen for new ones.
   */
  private grow(): void {
    const old = this.slots
    const mask = this.mask * 2 + 1
    const slots = new Int32Array(3 * (mask + 1))
    for (let j = 0; j < old.length; j += 3) {
      if (!old[j + 2]) continue
      let i = slotOf(old[j]!, old[j + 1]!) & mask
      while (slots[i * 3 + 2]) i = (i + 1) & mask
      slots[i * 3] = old[j]!
      slots[i * 3 + 1] = old[j + 1]!
      slots[i * 3 + 2] = old[j + 2]!
    }
    this.slots = slots
    this.mask = mask
  }
}

/**
 * Where a fingerprint goes in the table: both halves mixed through a
 * finalizer, so that halves which happen to be related (one a multiple of
 * the other) do not all land in one run of slots.
 */
export function slotOf(h1: number, h2: number): number {
  let x = h1 ^ Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return x ^ (x >>> 16)
}

function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2)
  b.set(a)
  return b
}
