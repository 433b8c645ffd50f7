// The agent answers a transaction's open questions (`sys.fork`, `bag.take`).
// Exploration and the agent panel plug in here; headless runs use the fair
// scheduler below, and replay uses the choices the log recorded.
import type { Choice } from './event.ts'

export interface Agent {
  /** Picks a value in 0..n-1 for the `index`-th choice of the transaction. */
  choose(n: number, index: number): number
}

/** Thrown when replayed code asks a question the recording did not answer. */
export class ChoiceMismatch extends Error {}

/** Answers with recorded choices, in order, and insists the questions match. */
export class ReplayAgent implements Agent {
  constructor(private readonly choices: readonly Choice[]) {}
  choose(n: number, index: number): number {
    const c = this.choices[index]
    if (!c) throw new ChoiceMismatch(`the code made choice #${index + 1} (among ${n}) that the recorded event does not have`)
    if (c.n !== n) throw new ChoiceMismatch(`choice #${index + 1} was among ${c.n} when recorded, now among ${n}`)
    return c.value
  }
}

/**
 * Answers with a recording where it still fits (same question at the same
 * place) and fairly where it does not: how new code re-enacts an old history.
 */
export class PreferRecordedAgent implements Agent {
  private readonly fair: FairAgent
  constructor(private readonly choices: readonly Choice[], seed: number) {
    this.fair = new FairAgent(seed)
  }
  choose(n: number, index: number): number {
    const c = this.choices[index]
    return c && c.n === n ? c.value : this.fair.choose(n, index)
  }
}

/**
 * The fair scheduler's agent. Each choice starts from a pseudo-random pick
 * (stable for a given seed, so runs repeat), and when the transaction aborts
 * `next()` moves to the next untried sequence of choices, depth first. A step
 * therefore only waits when every way it could go aborts — a philosopher who
 * finds a fork taken does not stop the others from eating.
 */
export class FairAgent implements Agent {
  private readonly frames: { n: number; first: number; k: number }[] = []
  private readonly prefix: number[] = []
  constructor(private seed: number) {}

  /** Starts afresh with a new seed (one agent serves every step of a loop). */
  reset(seed: number): this {
    this.seed = seed
    this.frames.length = 0
    this.prefix.length = 0
    return this
  }

  choose(n: number, index: number): number {
    if (index < this.prefix.length) {
      const frame = this.frames[index]!
      if (frame.n === n) return this.prefix[index]!
      // The tree changed shape under this prefix; start afresh from here.
      this.frames.length = index
      this.prefix.length = index
    }
    const first = mix(this.seed, index) % n
    this.frames.push({ n, first, k: 0 })
    this.prefix.push(first)
    return first
  }

  /**
   * Advances to the next untried sequence, given how many choices the last
   * run made; false when every sequence was tried.
   */
  next(made: number): boolean {
    if (this.frames.length > made) {
      this.frames.length = made
      this.prefix.length = made
    }
    while (this.frames.length) {
      const top = this.frames[this.frames.length - 1]!
      if (++top.k < top.n) {
        this.prefix[this.frames.length - 1] = (top.first + top.k) % top.n
        this.prefix.length = this.frames.length
        return true
      }
      this.frames.pop()
      this.prefix.pop()
    }
    return false
  }
}

/** The number a notebook's seed string gives the agents (FNV-1a of its characters, mixed). */
export function seedNumber(seed: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193)
  return mix(h >>> 0, 0)
}

/** A 32-bit integer hash of two integers (murmur3's finaliser), for stable pseudo-random picks. */
export function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x165667b1, 0xc2b2ae35)) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Walks every sequence of choices a transaction can make, one run at a time:
 * all zeros first, then like a mixed-radix counter over the choices the last
 * run made (each run asks the same questions as the last up to where their
 * answers differ). Exploration and the choice tree use it.
 */
export class EveryChoiceAgent implements Agent {
  private readonly values: number[] = []
  private readonly ns: number[] = []
  /** How many of `values` are the current prefix (a count, so no array is ever shortened). */
  private size = 0
  /** Counts the sequences: each `next` or `reset` begins a new one. */
  sequence = 0
  /** How many leading answers this sequence shares with the one before (0 after `reset`): a memo walk resumes after them. */
  kept = 0

  reset(): this {
    this.size = 0
    this.sequence++
    this.kept = 0
    return this
  }

  choose(n: number, index: number): number {
    if (index < this.size) return this.values[index]!
    this.values[this.size] = 0
    this.ns[this.size++] = n
    return 0
  }

  /** The sequence `mark` saw: its answers and their ranges, its size and `kept`. */
  private readonly marked: number[] = []
  private readonly markedNs: number[] = []
  private markSize = 0
  private markKept = 0

  /** Remembers the current sequence, for `rewind` (exploration undoing a piece of work the time limit cut off). */
  mark(): void {
    for (let i = 0; i < this.size; i++) {
      this.marked[i] = this.values[i]!
      this.markedNs[i] = this.ns[i]!
    }
    this.markSize = this.size
    this.markKept = this.kept
  }

  /** Back to the sequence `mark` saw, as a new sequence: a memo walk left half-way does not resume from it. */
  rewind(): void {
    for (let i = 0; i < this.markSize; i++) {
      this.values[i] = this.marked[i]!
      this.ns[i] = this.markedNs[i]!
    }
    this.size = this.markSize
    this.kept = this.markKept
    this.sequence += 2
  }

  /** Moves past a sequence answered elsewhere (a remembered outcome's `choices`), as if run here: then as `next`. */
  follow(choices: readonly Choice[]): boolean {
    for (let i = 0; i < choices.length; i++) {
      this.values[i] = choices[i]!.value
      this.ns[i] = choices[i]!.n
    }
    this.size = choices.length
    return this.next(choices.length)
  }

  /** Moves to the next sequence after a run that made `made` choices; false when every sequence was run. */
  next(made: number): boolean {
    for (let i = Math.min(made, this.size) - 1; i >= 0; i--) {
      if (this.values[i]! + 1 < this.ns[i]!) {
        this.values[i]!++
        this.size = i + 1
        this.sequence++
        this.kept = i
        return true
      }
    }
    return false
  }
}
