// Where a search is (the levels, the state being expanded, the states found
// but not yet checked, the choice sequence being tried) and how to put it
// back: a piece of work the time limit cuts off anywhere, perhaps half-way
// through the search's own bookkeeping, is undone to the mark made before it
// and done again (search.ts advance), so that counts stay exact on a machine
// too busy or stopped.
import { EveryChoiceAgent } from '../runtime/agent.ts'
import type { Action } from './model.ts'
import type { World } from './worlds.ts'
import type { Frontier } from './frontier.ts'
import { StateIds } from './stateIds.ts'
import { Trails } from './trails.ts'
import { SearchTally } from './searchTally.ts'
import type { Move } from './explore.ts'
import type { Expanding, StateRef } from './searchTypes.ts'

export class SearchPosition extends SearchTally {
  protected readonly seen = new StateIds()
  /** Per state id: the state it was first reached from, and how. */
  protected readonly trails = new Trails()
  protected level!: Frontier
  protected next!: Frontier
  protected cur: Expanding | null = null
  /** States found but not yet checked against the tests (each by an `advance` of its own, under the time limit); one transaction and the moves that are none may find three. */
  protected readonly unchecked: { world: World; id: number; depth: number }[] = []
  protected checking: { id: number; depth: number } | null = null
  protected readonly agent = new EveryChoiceAgent()
  /** clients() is being called to list a state's transactions. */
  protected listing = false
  /** A constraint is being checked on the state being expanded. */
  protected constraining = false
  /** The search as it stood before the piece of work under way (`mark`; fields, not an object per piece): what a piece cut off is undone to. */
  protected marked = false
  private readonly saved = {
    unchecked: 0, head: undefined as { world: World; id: number; depth: number } | undefined, checking: null as { id: number; depth: number } | null, cur: null as Expanding | null, actions: null as Action[] | null, index: 0, leaves: 0,
  }
  /** Keys put in the seen set since `mark`. */
  protected readonly added: number[] = []
  /** Since `mark`, another thread (the shared seen set) or the observer was told something: undoing cannot take that back. */
  protected told = false
  /** Pieces undone in a row: one that never fits in the time limit is not undone forever. */
  protected undone = 0

  /** Remembers the search as it stands, before a piece of work changes it. */
  protected mark(): void {
    this.marked = false
    this.saveTally()
    const m = this.saved
    m.unchecked = this.unchecked.length
    // (Not read past the end: V8 looks that up on the prototype chain.)
    m.head = m.unchecked ? this.unchecked[0] : undefined
    m.checking = this.checking
    // What a piece done again sets the same way (flags only ever set, the soonest wake, an effect waited for) is not kept.
    const cur = (m.cur = this.cur)
    if (cur) {
      m.actions = cur.actions
      m.index = cur.index
      m.leaves = cur.leaves
    }
    this.level.mark()
    this.next.mark()
    this.agent.mark()
    if (this.added.length) this.added.length = 0
    this.told = false
    this.marked = true
  }

  /**
   * The time limit cut the work off with no transaction to blame (a machine
   * too busy, or stopped, for the limit's length), wherever it was, perhaps
   * half-way through the search's own bookkeeping: the piece of work is
   * undone, so that resuming does it again, whole. Called outside `exec.run`.
   */
  resume(): void {
    if (!this.marked) return // cut before the piece changed anything, or after it was done
    this.marked = false
    // Another thread, or the state graph, was told of it; or it never fits in the limit: it cannot be undone and done again.
    if (this.told || ++this.undone > 3) return void this.interrupted++
    const m = this.saved
    for (const key of this.added) this.seen.unset(key)
    this.restoreTally()
    this.trails.truncate(this.states)
    if (m.head && this.unchecked[0] !== m.head) this.unchecked.unshift(m.head)
    this.unchecked.length = m.unchecked
    this.checking = m.checking
    this.listing = this.constraining = false
    const cur = (this.cur = m.cur)
    if (cur) {
      cur.actions = m.actions
      cur.index = m.index
      cur.leaves = m.leaves
    }
    this.level.rewind()
    this.next.rewind()
    this.agent.rewind()
  }

  /** How a state of this search was first reached. */
  trail(id: number): { parent: StateRef | null; move: Move | null } {
    return this.trails.trail(id)
  }
}
