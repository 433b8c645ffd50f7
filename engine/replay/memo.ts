// Exploration meets the same transaction in the same situation over and over:
// a philosopher picking up a fork does the same whatever the meal counts are.
// A transaction is a function of the values it reads and the answers to its
// choices — replay already rests on that — so its outcome is kept in a trie
// walked in the order the transaction asked: read this state (or map key),
// branch on its value; make a choice, branch on the answer. A walk that
// reaches a leaf has the outcome without running any cell code.
import type { Agent } from '../runtime/agent.ts'
import type { Choice, Write, SourceLocation } from '../runtime/event.ts'
import type { Transaction } from '../runtime/transaction.ts'
import { CHOOSE, END, READ, MemoNode as Node } from './memoNode.ts'

export interface Outcome {
  committed: boolean
  writes: Write[]
  choices: Choice[]
  halt: boolean
  tty: string
  /** Why it did not commit (or, for a test, why the test fails); null when it did (or the test holds). */
  failure: { reason: string; aborted: boolean; location: SourceLocation | null } | null
  /** An abort that waits for time, tty input or a safe read's response: something outside the app could let it through. */
  external: boolean
  /** For an abort on sys.time.await: the time it waits for (0: none). */
  wakeAt: number
  /** For an abort: it waits for tty input. */
  waitsForInput: boolean
  /** Characters of tty input it read. */
  ttyRead: number
  /** For an abort: the effect it waits for (its outcome is a move of exploration's), or null. */
  wantsEffect: Transaction['wantsEffect']
  /** The ids of the actions it made (a saved trace maps them to the ids its own events make), or null. */
  made: readonly string[] | null
}


/** Outcomes Memo.every found: the first `count` of `list`. */
export interface Leaves {
  readonly list: Outcome[]
  count: number
}

/** An agent that numbers its sequences of answers and says how many leading answers the last two share (EveryChoiceAgent). */
interface ResumableAgent extends Agent {
  readonly sequence: number
  readonly kept: number
}

/** The same transaction read or chose differently in the same situation: it keeps state outside `state`. */
export class NondeterminismError extends Error {}

export interface MemoWorld<W> {
  /** The canonical text of a cell's value (or of one map entry) in a world; `probe` is what `probeOf` gave for that read. */
  valueOf(world: W, cell: number, key: string | undefined, probe: number): string | number
  cellId(name: string): number
  /** What a read of `key` in `cell` can look the key up by, worked out once per read remembered (a set element's hash). */
  probeOf(cell: number, key: string | undefined): number
}

/**
 * Lookups over which a memo weighs whether it pays: one that finds fewer than
 * one outcome in MEMO_PAYS of them is switched off (a test that reads the
 * whole state meets each state once, and its memo only grows). Counted, not
 * timed, so the same search always switches at the same point.
 */
export const MEMO_WINDOW = 1024
export const MEMO_PAYS = 10

export class Memo<W> {
  private root: Node | undefined
  /** Lookups and hits in the current window. */
  private finds = 0
  private hits = 0
  /** It did not pay for itself: it no longer keeps or finds anything. */
  off = false
  /** The last walk: its world, agent and sequence, and the choice nodes it passed, by choice index. */
  private lastWorld: W | null = null
  private lastAgent: unknown = null
  private lastSequence = -2
  private readonly path: Node[] = []
  private walked = 0

  constructor(private readonly what: string, private readonly worlds: MemoWorld<W>) {}

  /**
   * The outcome recorded for this world and these answers, or null. Asks
   * `agent` the questions the transaction asked. With an EveryChoiceAgent on
   * the sequence right after the last find's, in the same world, the walk
   * resumes at the first choice whose answer changed: the reads before it
   * read the same values, so they are not looked up again for every leaf.
   */
  find(world: W, agent: Agent | ResumableAgent): Outcome | null {
    if (this.off) return null
    let node = this.root
    let index = 0
    const sequence = (agent as ResumableAgent).sequence
    if (sequence !== undefined && world === this.lastWorld && agent === this.lastAgent && sequence === this.lastSequence + 1) {
      // The deepest choice walked whose answer and those before it are unchanged.
      index = Math.min((agent as ResumableAgent).kept, this.walked - 1)
      if (index >= 0) node = this.path[index]
      else index = 0
    }
    this.lastWorld = world
    this.lastAgent = agent
    this.lastSequence = sequence ?? -2
    this.walked = 0
    let found: Outcome | null = null
    while (node) {
      if (node.at === END) {
        found = node.outcome
        this.hits++
        break
      }
      if (node.at === CHOOSE) {
        this.path[index] = node
        this.walked = index + 1
        node = node.next[agent.choose(node.n, index++)]
      } else node = node.after(this.worlds.valueOf(world, node.cell, node.key, node.probe))
    }
    this.weigh(1)
    return found
  }

  /** Counts lookups (`hits` of them found already): a window that found too few switches the memo off. */
  private weigh(finds: number): void {
    if ((this.finds += finds) < MEMO_WINDOW) return
    if (this.hits * MEMO_PAYS < this.finds) {
      this.off = true
      this.root = undefined
    }
    this.finds = this.hits = 0
  }

  /** The outcomes `every` found (read them before the next call); the array is never shortened, so it is never grown again. */
  private readonly leaves: Leaves = { list: [], count: 0 }

  /**
   * Every outcome of the transaction in `world`, in the order an
   * EveryChoiceAgent tries its choice sequences (depth first, answers in
   * order), when each sequence's outcome is remembered and there are at most
   * `max`; else null (then `find` them one by one, running those missing).
   * One walk of the trie for all of a state's choices: each read is looked
   * up once, not once per sequence that passes it.
   */
  every(world: W, max: number): Leaves | null {
    if (this.off || !this.root) return null
    this.lastWorld = null
    const leaves = this.leaves
    leaves.count = 0
    if (!this.gather(this.root, world, max)) return null
    this.hits += leaves.count
    this.weigh(leaves.count)
    return leaves
  }

  private gather(node: Node | undefined, world: W, max: number): boolean {
    while (node) {
      if (node.at === END) {
        const leaves = this.leaves
        if (leaves.count >= max) return false
        leaves.list[leaves.count++] = node.outcome!
        return true
      }
      if (node.at !== CHOOSE) node = node.after(this.worlds.valueOf(world, node.cell, node.key, node.probe))
      else {
        if (node.n < 1) return false
        for (let i = 0; i < node.n; i++) if (!this.gather(node.next[i], world, max)) return false
        return true
      }
    }
    return false
  }

  /** Records the outcome of `tx`, just run in `world`. */
  add(world: W, tx: Transaction, outcome: Outcome): void {
    if (this.off) return
    const reads = tx.reads
    const choices = tx.choices
    const before = tx.readsBeforeChoice ?? []
    let node = this.root
    // Where a missing node goes: under `parent` (null: the root), by the answer or value `via`. No closure
    // per step: the first states of a search run (and record) almost every transaction.
    let parent: Node | null = null
    let via: string | number = 0
    let r = 0
    let c = 0
    while (r < reads.length || c < choices.length) {
      if (c < choices.length && before[c] === r) {
        const choice = choices[c++]!
        if (!node) node = this.attach(parent, via, Node.choose(choice.n))
        else if (node.at !== CHOOSE || node.n !== choice.n) throw this.nondeterministic()
        parent = node
        via = choice.value
        node = node.next[choice.value]
      } else {
        const read = reads[r++]!
        const cell = this.worlds.cellId(read.state)
        if (!node) node = this.attach(parent, via, Node.read(cell, read.key, this.worlds.probeOf(cell, read.key)))
        else if (node.at !== READ || node.cell !== cell || node.key !== read.key) throw this.nondeterministic()
        parent = node
        via = this.worlds.valueOf(world, cell, read.key, node.probe)
        node = node.after(via)
      }
    }
    if (!node) this.attach(parent, via, Node.end(outcome))
    else if (node.at !== END) throw this.nondeterministic()
  }

  /** Puts `node` under `parent` by `via` (a choice's answer, or the value read), or at the root. */
  private attach(parent: Node | null, via: string | number, node: Node): Node {
    if (!parent) this.root = node
    else if (parent.at === CHOOSE) parent.next[via as number] = node
    else parent.lead(via, node)
    return node
  }

  private nondeterministic(): NondeterminismError {
    return new NondeterminismError(
      `${this.what} is not deterministic: run twice in the same state with the same choices, it read or chose differently. ` +
        'Keep everything that changes in `state` (a top-level object that a method changes is not transactional)',
    )
  }
}

/**
 * The outcome a memo keeps of a transaction just run. Made by `new`, not as
 * an object literal: kept for good, a literal's allocation site would be
 * pretenured mid-search, throwing away the optimised code that makes them
 * (worlds.ts WorldValue).
 */
export function outcomeOf(tx: Transaction): Outcome {
  return new KeptOutcome(tx)
}

class KeptOutcome implements Outcome {
  readonly committed: boolean
  readonly writes: Write[]
  readonly choices: Choice[]
  readonly halt: boolean
  readonly tty: string
  readonly failure: Outcome['failure']
  readonly external: boolean
  readonly wakeAt: number
  readonly waitsForInput: boolean
  readonly ttyRead: number
  readonly wantsEffect: Transaction['wantsEffect']
  readonly made: readonly string[] | null

  constructor(tx: Transaction) {
    this.committed = !tx.failure
    this.writes = tx.writes
    this.choices = tx.choices
    this.halt = tx.halt
    this.tty = tx.tty
    this.failure = tx.failure
    // Waiting for the world (a read's response, an action's outcome) is not a deadlock: exploration does not answer it.
    this.external = tx.wakeAt > 0 || tx.waitsForInput || tx.wantsEffect !== null || tx.waitsForAction
    this.wakeAt = tx.wakeAt
    this.waitsForInput = tx.waitsForInput
    this.ttyRead = tx.ttyRead.length
    this.wantsEffect = tx.wantsEffect
    this.made = tx.made
  }
}
