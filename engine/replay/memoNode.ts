// One node of a memo's trie (memo.ts): a read, branching on the value read;
// a choice, branching on the answer; or the end, with the outcome. One class
// for the three, so a walk finds each field at the same place in every node
// (a walk of PaxosCommit's step passes about 90 reads per state explored).
import type { Outcome } from './memo.ts'

export const READ = 0
export const CHOOSE = 1
export const END = 2

/** The `next` of a node that is no choice: never written. */
const NO_NEXT: readonly (MemoNode | undefined)[] = Object.freeze([])

export class MemoNode {
  /** A read: the cell, the key read (undefined: the whole cell), and what the world looks the key up by (MemoWorld.probeOf). */
  cell = 0
  key: string | undefined = undefined
  probe = 0
  /**
   * The first two values read here and where each leads, kept in the node:
   * most reads see one or two (a set element there or not), and comparing
   * costs less than a Map lookup. Any further value is in `more`.
   */
  private v0: string | number | undefined = undefined
  private n0: MemoNode | undefined = undefined
  private v1: string | number | undefined = undefined
  private n1: MemoNode | undefined = undefined
  private more: Map<string | number, MemoNode> | null = null
  /**
   * A choice: among how many answers, and where each leads. Only a choice
   * has an array of its own (most nodes are reads), made by Array.from: an
   * array literal's allocation site, pretenured once the trie lives on,
   * would throw away the optimised code that makes nodes (worlds.ts WorldValue).
   */
  n = 0
  next = NO_NEXT as (MemoNode | undefined)[]
  /** The end: the outcome. */
  outcome: Outcome | null = null

  private constructor(readonly at: typeof READ | typeof CHOOSE | typeof END) {}

  static read(cell: number, key: string | undefined, probe: number): MemoNode {
    const node = new MemoNode(READ)
    node.cell = cell
    node.key = key
    node.probe = probe
    return node
  }

  static choose(n: number): MemoNode {
    const node = new MemoNode(CHOOSE)
    node.n = n
    node.next = Array.from({ length: n })
    return node
  }

  static end(outcome: Outcome): MemoNode {
    const node = new MemoNode(END)
    node.outcome = outcome
    return node
  }

  /** Where reading `value` here leads (a read node). */
  after(value: string | number): MemoNode | undefined {
    if (value === this.v0) return this.n0
    if (value === this.v1) return this.n1
    return this.more?.get(value)
  }

  /** Reading `value` here leads to `node` (a read node). */
  lead(value: string | number, node: MemoNode): void {
    if (this.v0 === undefined || value === this.v0) {
      this.v0 = value
      this.n0 = node
    } else if (this.v1 === undefined || value === this.v1) {
      this.v1 = value
      this.n1 = node
    } else (this.more ??= new Map()).set(value, node)
  }
}
