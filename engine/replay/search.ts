// The breadth-first search behind `explore`, as a resumable machine: each
// `advance` does one small piece of work (one transaction, one state's test
// check), so a batch cut off by the time limit loses nothing, and a level is
// finished before the next begins. On several cores, each thread's search
// expands the states it was first to claim in the seen set they share
// (sharedSeen.ts); states move between threads only to even out the levels.
import type { MethodName } from '../runtime/compile.ts'
import type { Transaction } from '../runtime/transaction.ts'
import type { Action, Model } from './model.ts'
import type { World } from './worlds.ts'
import { outcomeOf } from './memo.ts'
import { Frontier } from './frontier.ts'
import { Moves } from './moves.ts'
import { freeMoves } from './freeMoves.ts'
import { SearchPosition } from './searchPosition.ts'
import type { Leaves, Outcome } from './memo.ts'
import type { Move, Violation } from './explore.ts'
import { FRONTIER_BYTES, type Expanding, type Queued, type SearchOptions, type StateRef } from './searchTypes.ts'
export type { Found, Queued, SearchObserver, SearchOptions, StateRef } from './searchTypes.ts'

export class Search extends SearchPosition {
  private readonly moves: Moves

  constructor(
    private readonly model: Model,
    private readonly maxOutcomes: number,
    quota: number,
    private readonly options: SearchOptions = {},
    readonly shard = 0,
  ) {
    super(quota)
    this.moves = new Moves(model)
    this.level = this.frontierOf()
    this.next = this.frontierOf()
  }

  /** Adds the starting state (sharing a seen set: if this search claims it). */
  seed(): void {
    const root = this.model.root
    if (this.options.shared && !this.claim(root)) return
    this.level.push({ world: root, id: this.add(root, null, null, this.model.key(root), 0), shard: this.shard })
  }

  /** States found for the next level. */
  get frontier(): number {
    return this.next.length
  }

  /** True when this level's work is done (or the search is full), every state found checked. */
  get idle(): boolean {
    return !this.unchecked.length && (this.full || (!this.cur && this.level.done))
  }

  /** Up to `count` of the next level's states, taken away to be expanded by another thread. */
  giveAway(count: number): Queued[] {
    return this.next.takeAway(count)
  }

  /** Another thread's state of the next level, to be expanded here (it stays that thread's: counted and checked there). */
  adopt(state: Queued): void {
    this.next.push(state)
  }

  /** Moves to the next level (a walk: to one of its states); returns how many states it has. */
  nextLevel(): number {
    const walk = this.options.walk
    if (walk) {
      this.level = this.frontierOf()
      if (this.next.length) this.level.push(this.next.at(walk(this.next.length)))
      this.seen.clear()
    } else {
      this.level.close()
      this.level = this.next
    }
    this.marked = false
    if (this.level.spilled) this.spilled++
    this.next = this.frontierOf()
    this.depth++
    return this.level.length
  }

  /** A walk starts again from the starting state (already found and checked: state 0). */
  restart(): void {
    this.marked = false
    this.level.close()
    this.level = this.frontierOf()
    this.level.push({ world: this.model.root, id: 0, shard: this.shard })
    this.next = this.frontierOf()
    this.depth = 0
    this.seen.clear()
  }

  /**
   * Does one piece of work; false when the level's work is done. Call inside
   * `exec.run`. Cut off anywhere by the time limit, it can be undone (`resume`).
   */
  advance(): boolean {
    this.mark()
    const more = this.step()
    this.marked = false
    this.undone = 0
    return more
  }

  private step(): boolean {
    if (this.unchecked.length) {
      const { world, id, depth } = this.unchecked[0]!
      this.checking = { id, depth }
      // Cut off before the end, the check runs again: the tests checked already are remembered.
      for (const f of this.model.brokenTests(world)) {
        this.report({ kind: 'test', test: f.test, message: f.message, location: f.location }, { shard: this.shard, id }, depth, `test:${f.test}`)
      }
      if (this.options.observer) this.told = true
      this.options.observer?.state(id, world, depth)
      this.unchecked.shift()
      this.checking = null
      return true
    }
    if (this.full) return false
    if (!this.cur && !this.begin()) return false
    const cur = this.cur!
    if (!cur.actions) {
      this.list(cur)
      return !this.full
    }
    const action = cur.actions[cur.index]!
    // A transaction about to be tried under its first choice sequence, every outcome remembered: all of them in one go.
    const all = cur.leaves ? null : this.model.remembered(cur.world, action, this.maxOutcomes)
    if (!all) this.settle(cur, action, this.model.outcome(cur.world, action, this.agent))
    else this.takeAll(cur, action, all)
    return !this.full
  }

  /** Takes in every outcome of a transaction found in one walk of its memo, then moves to the next transaction. */
  private takeAll(cur: Expanding, action: Action, all: Leaves): void {
    for (let i = 0; i < all.count; i++) {
      const tx = all.list[i]!
      // Each outcome that reaches the model begins a piece of its own: a piece cut off is undone only back to it,
      // the agent on its sequence (moved there only here: most outcomes, waits, begin no piece).
      if (i && !tx.failure) {
        this.agent.follow(all.list[i - 1]!.choices)
        this.mark()
      }
      this.take(cur, action, tx)
      if (this.full) return
    }
    // The walk gave every sequence: the last was the last one.
    if (all.count) this.nextAction(cur)
  }

  /** Lists the transactions of the state being expanded: the app's own, recorded inputs, what clients() sends. */
  private list(cur: Expanding): void {
    // A state outside a constraint is not expanded: nothing moves from it, and it is no deadlock.
    this.constraining = true
    const outside = this.model.tests.outside(cur.world)
    this.constraining = false
    if (outside.length) return this.leaveOutside(cur, outside)
    const own = this.model.actionsAt(cur.world)
    let actions = own
    if (this.model.clientsMay(cur.world)) {
      this.listing = true
      const clients = this.model.clientMoves(cur.world, this.maxOutcomes)
      this.listing = false
      if (clients.problem) this.reportClients(cur, clients.problem.message, clients.problem.location)
      if (clients.cut) this.cutOutcomes = true
      if (clients.actions.length) actions = own.concat(clients.actions)
    } else if (this.model.version.methods.clients && this.model.version.methods.http && this.model.running(cur.world) && !cur.world.halted) this.budgetReached = true
    cur.actions = actions
    if (!actions.length) this.end(cur)
  }

  private reportClients(cur: Expanding, message: string, location: Violation['location']): void {
    this.report({ kind: 'error', test: 'clients() runs without an error', message, location }, cur, this.depth, 'error:clients')
  }

  /** A state outside a constraint: counted, not expanded; a constraint that fails other than by returning false is an error there. */
  private leaveOutside(cur: Expanding, outside: { test: string; message: string; location: Violation['location'] }[]): void {
    this.outside++
    if (this.options.observer) this.told = true
    this.options.observer?.outside(cur.id)
    this.cur = null
    for (const c of outside) {
      if (c.message !== 'returned false') this.report({ kind: 'error', test: `constraint '${c.test}' runs without an error`, message: c.message, location: c.location }, cur, this.depth, `constraint:${c.test}`)
    }
  }

  /** A transaction (or test) ran past its time limit on its own (see `Executor.run`); the search goes on past it. */
  overran(tx: Transaction | null): boolean {
    // Cut off in the search's own code: the piece is undone and done again.
    if (!tx) return (this.resume(), true)
    // The search goes on from here, not from the piece's start.
    this.marked = false
    if (this.constraining && this.cur) {
      this.constraining = false
      this.leaveOutside(this.cur, [{ test: tx.method ?? 'constraint', message: tx.failure!.reason, location: null }])
      return true
    }
    if (this.listing && this.cur) {
      // clients() ran past its time limit: this state's transactions are the app's own.
      this.listing = false
      this.reportClients(this.cur, `clients() ${tx.failure!.reason}`, this.model.app.methodAt.clients ?? null)
      this.cur.actions = this.model.actionsAt(this.cur.world)
      if (!this.cur.actions.length) this.end(this.cur)
      return true
    }
    tx.failure!.location = this.model.app.methodAt[tx.method as MethodName] ?? null
    if (tx.kind === 'test' && this.checking) {
      // A test overran: that state's later tests go unchecked.
      this.report({ kind: 'test', test: tx.method!, message: tx.failure!.reason, location: null }, { shard: this.shard, id: this.checking.id }, this.checking.depth, `test:${tx.method}`)
      this.unchecked.shift()
      this.checking = null
    } else if (this.cur?.actions) this.settle(this.cur, this.cur.actions[this.cur.index]!, outcomeOf(tx))
    return true
  }

  /** Sharing a seen set (the local `seen` is then unused): whether this search was first to claim the state. */
  private claim(world: World): boolean {
    this.told = true
    const f = this.model.fingerprint(world)
    return this.options.shared!.claim(f.h1, f.h2)
  }

  /** Starts expanding the next state of the level; false when there is none. */
  private begin(): boolean {
    const entry = this.level.take()
    if (!entry) return false
    this.agent.reset()
    this.cur = { world: entry.world, id: entry.id, shard: entry.shard, actions: null, index: 0, leaves: 0, committed: false, external: false, wake: 0, ttyWait: false, cut: false, effects: null }
    return true
  }

  /** A new level: a random walk's levels stay in memory (a state of one is picked at random). */
  private frontierOf(): Frontier {
    // A walk's levels stay in memory (it picks one state of a level at random).
    return new Frontier(this.model, this.options.walk ? Infinity : (this.options.frontierBytes ?? FRONTIER_BYTES), this.shard, this.options.spillDir)
  }

  /** Lets go of the levels' temporary files: call when the search ends, however it ends. */
  close(): void {
    this.level.close()
    this.next.close()
  }

  /** Takes in one transaction's outcome and moves the agent to the next choice sequence (or the next transaction). */
  private settle(cur: Expanding, action: Action, tx: Outcome): void {
    this.take(cur, action, tx)
    if (this.full) return
    if (!this.agent.next(tx.choices.length)) this.nextAction(cur)
    else if (cur.leaves >= this.maxOutcomes) {
      // The rest of this transaction's choices go unexplored: the search can no longer be exhaustive.
      this.cutOutcomes = true
      cur.cut = true
      this.nextAction(cur)
    }
  }

  /** Takes in one transaction's outcome: the state it leads to, or what its failure says. */
  private take(cur: Expanding, action: Action, tx: Outcome): void {
    cur.leaves++
    if (!tx.failure) {
      cur.committed = true
      this.transitions++
      const at = this.model.situationAfter(cur.world, action, tx)
      const shared = this.options.shared
      // Most transitions reach a state seen before: nothing is made for those. A memo leaf's choices are never changed: the move can share them.
      if (shared) {
        this.told = true
        const f = this.model.nextFingerprint(cur.world, tx, action.method, at)
        if (shared.claim(f.h1, f.h2)) this.addNext(this.model.after(cur.world, tx, action.method, at), cur, this.moves.of(cur.world, action, tx.choices, tx.made), -1)
      } else {
        const key = this.model.nextKey(cur.world, tx, action.method, at)
        if (!this.seen.has(key)) this.addNext(this.model.after(cur.world, tx, action.method, at), cur, this.moves.of(cur.world, action, tx.choices, tx.made), key)
        const to = this.options.observer && this.seen.get(key)
        if (to !== undefined) {
          this.told = true
          this.options.observer!.edge(cur.id, to, () => this.moves.of(cur.world, action, tx.choices, tx.made))
        }
      }
      if (this.full) return
    } else if (tx.failure.aborted) {
      cur.external ||= tx.external
      if (tx.wakeAt > cur.world.at.clock && (!cur.wake || tx.wakeAt < cur.wake)) cur.wake = tx.wakeAt
      cur.ttyWait ||= tx.waitsForInput
      if (tx.wantsEffect) (cur.effects ??= new Map()).set(tx.wantsEffect.hash, tx.wantsEffect)
    } else {
      const failing = this.moves.of(cur.world, action, tx.choices.slice())
      const method = action.method
      const message = `${method}() ${tx.failure.reason.startsWith('ran past') ? '' : 'throws: '}${tx.failure.reason}`
      const where = tx.failure.location ? `${tx.failure.location.cell}:${tx.failure.location.line}` : tx.failure.reason
      this.report({ kind: 'error', test: `${method}() runs without an error`, message, location: tx.failure.location, failing }, cur, this.depth, `error:${method}@${where}`)
    }
    if (tx.failure) this.withoutHandler(cur, action)
  }

  /** An outcome whose effect(result) failed is recorded without it, as live: tried next, once. */
  private withoutHandler(cur: Expanding, action: Action): void {
    const bare = this.model.withoutHandler(action)
    if (!bare || cur.actions![cur.index + 1]?.memo === bare.memo) return
    cur.actions = cur.actions!.slice()
    cur.actions.splice(cur.index + 1, 0, bare)
  }

  private nextAction(cur: Expanding): void {
    cur.index++
    cur.leaves = 0
    this.agent.reset()
    if (cur.index >= cur.actions!.length) this.end(cur)
  }

  /** Every transaction of a state tried: then the moves that are no transaction, and whether it is a deadlock. */
  private end(cur: Expanding): void {
    this.cur = null
    // Time passing, recorded input typed, an effect answered (freeMoves.ts): a state with any of them is no deadlock.
    const moved = freeMoves(this.model, cur, this.takeFreeMove) > 0
    if (cur.ttyWait && this.model.nextTty(cur.world) < 0) this.ttyUnfed = true
    const tried = cur.actions!.length > 0
    if (tried && !cur.cut && !cur.committed && !moved && !cur.external && !this.model.takesInput) {
      this.deadlocks++
      if (this.options.observer) this.told = true
      this.options.observer?.deadlock?.(cur.id)
      if (this.options.deadlock === false) return
      const method = cur.actions![0]!.method
      const message = `every way ${method}() can go waits, and nothing outside the app can change that (an app that is simply finished calls sys.halt(); --no-deadlock does not report states where nothing can move)`
      this.report({ kind: 'deadlock', test: 'no deadlock', message, location: this.model.app.methodAt[method] ?? null }, cur, this.depth, 'deadlock')
    }
  }

  /** freeMoves' `take`, made once: whether the search has room for more. */
  private readonly takeFreeMove = (cur: Expanding, world: World, move: Move): boolean => (this.freeMove(cur, world, move), !this.full)

  private freeMove(cur: Expanding, world: World, move: Move): void {
    this.transitions++
    const shared = this.options.shared
    const key = shared ? -1 : this.model.key(world)
    if (shared ? this.claim(world) : !this.seen.has(key)) this.addNext(world, cur, move, key)
    const to = this.options.observer && this.seen.get(key)
    if (to !== undefined) {
      this.told = true
      this.options.observer!.edge(cur.id, to, () => move)
    }
  }

  /** Adds a state of the next level, unless this search is full. */
  private addNext(world: World, parent: StateRef, move: Move, key: number): void {
    if (this.options.shared) this.told = true
    if (this.quota <= 0 || this.options.shared?.take() === false) {
      this.full = true
      this.cur = null
      return
    }
    this.quota--
    this.next.push({ world, id: this.add(world, parent, move, key, this.depth + 1), shard: this.shard })
  }

  private add(world: World, parent: StateRef | null, via: Move | null, key: number, depth: number): number {
    // Seen before counted: a batch cut off by the time limit at the call leaves neither done.
    const id = this.states
    if (!this.options.shared) {
      this.added.push(key)
      this.seen.set(key, id)
    }
    this.states++
    this.trails.push(parent, via)
    this.unchecked.push({ world, id, depth })
    return id
  }
}
