// What a search has found so far, as its report reads it: counts, flags and
// the first violation of each kind. A piece of search work the time limit
// cuts off is undone (search.ts resume): the tally is put back with it.
import type { Found } from './searchTypes.ts'

export class SearchTally {
  /** States this search owns. */
  states = 0
  transitions = 0
  deadlocks = 0
  /** The level being expanded: every state in it is this many transactions from the start. */
  depth = 0
  /** A transaction had more choice sequences than were tried. */
  cutOutcomes = false
  /** A transaction waited for tty input and no recorded input was left to give it. */
  ttyUnfed = false
  /** clients() had sent all the requests it may along some trace (--requests). */
  budgetReached = false
  /** States found outside a constraint (test.constraint): checked, not expanded. */
  outside = 0
  /** New states this search may still add; once one more is found, it is full. Sharing a seen set, its room counts too. */
  quota: number
  full = false
  /** Levels that went to a temporary file (frontier.ts). */
  spilled = 0
  /**
   * Pieces of work the time limit cut off in the search's own code (a
   * machine too busy, or stopped, for the limit's length) that could not be
   * undone (another thread or the state graph had been told of them): its
   * counts are in doubt. Those it could undo were done again (`resume`).
   */
  interrupted = 0
  readonly found: Found[] = []
  private readonly reported = new Set<string>()
  /** The tally before the piece of work under way (fields, not an object per piece). */
  private readonly tallied = { states: 0, transitions: 0, deadlocks: 0, outside: 0, quota: 0, found: 0, full: false }

  constructor(quota: number) {
    this.quota = quota
  }

  /** Records the first (so shallowest) violation of each kind. */
  protected report(violation: Found['violation'], at: Found['at'], depth: number, key: string): void {
    if (this.reported.has(key)) return
    // Found first: undoing drops the keys of what it drops (restoreTally).
    this.found.push({ violation, at: { shard: at.shard, id: at.id }, depth, key })
    this.reported.add(key)
  }

  /** Remembers the tally before a piece of work changes it. */
  protected saveTally(): void {
    const m = this.tallied
    m.states = this.states
    m.transitions = this.transitions
    m.deadlocks = this.deadlocks
    m.outside = this.outside
    m.quota = this.quota
    m.found = this.found.length
    m.full = this.full
  }

  /** Puts the tally back as `saveTally` found it (flags only ever set are left: a piece done again sets them the same way). */
  protected restoreTally(): void {
    const m = this.tallied
    this.states = m.states
    this.transitions = m.transitions
    this.deadlocks = m.deadlocks
    this.outside = m.outside
    this.quota = m.quota
    for (const f of this.found.splice(m.found)) this.reported.delete(f.key)
    this.full = m.full
  }
}
