// One shard of a parallel exploration: the notebook's code in a sandbox of
// its own, the states it was first to claim in the seen set every shard
// shares (sharedSeen.ts), and a port to every other shard to even out a
// level. The main thread paces the levels (exploreParallel.ts). A shard runs
// in a thread of its own (exploreWorker.ts) or in the main thread, on the
// model the main thread compiled already (localShard.ts): that one starts at
// once, warm, while the threads start.
import type { MessagePort } from 'node:worker_threads'
import { Model } from './model.ts'
import type { Fault } from './effectOutcomes.ts'
import type { PreparedMoment } from './prepareMoment.ts'
import type { KeptCell } from '../runtime/transformCell.ts'
import { Search } from './search.ts'
import { levelBatches, runLevel } from './levelBatches.ts'
import { Incoming, Outgoing, type HandoffBatch } from './handoffs.ts'
import { SharedSeen, type SeenBuffers } from './sharedSeen.ts'
import { livenessUnchecked, unexploredBy } from './explore.ts'
import { heapRoom } from './heapRoom.ts'

export interface ShardSetup {
  text: string
  path: string
  from: PreparedMoment | null
  /** The notebook's cells compiled already: the thread need not start a compiler. */
  cells?: KeptCell[]
  timeLimitMs?: number
  requests?: number
  faults?: Fault[]
  env?: Record<string, string>
  shard: number
  shards: number
  /** Whether this shard adds the starting state (one shard does: the others join the search at a later level). */
  seed: boolean
  maxOutcomes: number
  /** Whether a state where nothing can move is reported (--no-deadlock: false). */
  deadlock: boolean
  peers: (MessagePort | null)[]
  /** Set to 1 by the main thread when the search is stopped: a level in progress is left where it is. */
  stop: Int32Array
  /** The seen set every shard claims states in. */
  seen: SeenBuffers
  /** Bytes a level of this shard may take in memory before the rest goes to a file (SearchOptions.frontierBytes). */
  frontierBytes?: number
  /** Where that file is made (a confined process's scratch folder). */
  spillDir?: string
}

/** Before a level: states this shard gives to others (the last it found), and the shards it takes states from. */
export interface Evening {
  give: { to: number; count: number }[]
  take: number[]
}

export type ToShard =
  /** Expand level `depth` (a shard that sat out the levels before takes part from this one). */
  | { type: 'expand'; nextLevel: boolean; depth: number; even: Evening }
  /** The seen set, grown: the shard goes on with the level it paused (or takes it for the next). */
  | { type: 'table'; slots: SharedArrayBuffer }
  | { type: 'trail'; ids: number[] }
  | { type: 'close' }

export interface ShardReport {
  states: number
  transitions: number
  deadlocks: number
  frontier: number
  full: boolean
  cutOutcomes: boolean
  depth: number
  /** What this shard saw go unexplored (unexploredBy), but the states outside a constraint: summed over shards. */
  unexplored: string[]
  outside: number
  /** The constraints' names (test.constraint). */
  constraints: string[]
  /** States this shard expanded in the level, and the milliseconds it took (not waiting for its peers): its pace. */
  expanded: number
  busyMs: number
  /** Whether this shard's part of the level it last expanded went to a file. */
  spilled: boolean
}

export class ShardRunner {
  /** The app before its start() commits, when this shard claims it: found and expanded, not counted (Model.uncounted). */
  private uncounted = 0
  private spilled = false
  private readonly outbox: (Outgoing | null)[]
  private readonly inbox: (Incoming | null)[]
  /** Per peer: batches it sent that this shard has not taken yet, and who waits for the next. */
  private readonly batches: HandoffBatch[][]
  private readonly waiting: ((() => void) | null)[] = []
  /** Who waits for the grown seen set. */
  private grown: (() => void) | null = null
  private said = performance.now()
  private readonly heap = heapRoom()
  private busyMs = 0
  private expanded = 0

  private constructor(
    private readonly setup: ShardSetup,
    private readonly model: Model,
    private readonly seen: SharedSeen,
    private readonly search: Search,
    /** Answers to the main thread. */
    private readonly post: (m: unknown) => void,
    /** In the main thread: a level is run in batches with the event loop's turns between them (a stop, a peer's states). */
    private readonly local: boolean,
  ) {
    const peers = setup.peers
    this.outbox = peers.map((p) => (p ? new Outgoing(model) : null))
    this.inbox = peers.map((p) => (p ? new Incoming(model) : null))
    this.batches = peers.map(() => [])
    peers.forEach((peer, from) => peer?.on('message', (batch: HandoffBatch) => this.arrived(from, batch)))
  }

  /**
   * Starts a shard: on `model` when given (this notebook's, made with the same options), else on one of
   * its own. `local`: it runs in the main thread.
   */
  static async start(setup: ShardSetup, post: (m: unknown) => void, { model, local = false }: { model?: Model; local?: boolean } = {}): Promise<ShardRunner> {
    model ??= await Model.create(setup.text, { path: setup.path, timeLimitMs: setup.timeLimitMs, from: setup.from ?? undefined, cells: setup.cells, requests: setup.requests, faults: setup.faults, env: setup.env })
    const seen = new SharedSeen(setup.seen)
    // The room left for states is the seen set's (one bound for every shard).
    const search = new Search(model, setup.maxOutcomes, Infinity, { deadlock: setup.deadlock, shared: seen, frontierBytes: setup.frontierBytes, spillDir: setup.spillDir }, setup.shard)
    const runner = new ShardRunner(setup, model, seen, search, post, local)
    // The start's tests are checked with the first level's work.
    if (setup.seed) {
      search.seed()
      if (search.states) runner.uncounted = model.uncounted
    }
    post({ type: 'ready', report: runner.report(), found: search.found.splice(0) })
    return runner
  }

  async handle(m: ToShard): Promise<void> {
    switch (m.type) {
      case 'expand': {
        await this.even(m.even)
        const search = this.search
        // A shard that sat out the levels before joins at this one.
        if (m.nextLevel) search.depth = m.depth - 1
        const spilledBefore = search.spilled
        this.expanded = m.nextLevel ? search.nextLevel() : search.states
        this.spilled = search.spilled > spilledBefore
        const started = performance.now()
        for (;;) {
          await this.runLevel()
          if (Atomics.load(this.setup.stop, 0) === 1 || !this.seen.wantsRoom) break
          // Paused for the seen set to grow: the main thread grows it once every shard has paused or finished.
          this.post({ type: 'paused' })
          await new Promise<void>((resolve) => (this.grown = resolve))
        }
        this.busyMs = performance.now() - started
        this.post({ type: 'expanded', report: this.report(), found: search.found.splice(0) })
        return
      }
      case 'table':
        this.seen.use(m.slots)
        this.grown?.()
        this.grown = null
        return
      case 'trail':
        this.post({ type: 'trail', trails: m.ids.map((id) => this.search.trail(id)) })
        return
      case 'close':
        this.search.close()
        for (const peer of this.setup.peers) peer?.close()
        return
    }
  }

  private async runLevel(): Promise<void> {
    if (!this.local) return runLevel(this.search, this.model, this.stopped)
    for (const _ of levelBatches(this.search, this.model)) {
      if (this.stopped()) return
      await new Promise(setImmediate)
    }
  }

  /**
   * Asked between batches: whether this shard's heap (each thread has its own) is near its limit, then every
   * shard stops; and about every 100 ms, a good moment to tell the main thread how far this shard is.
   */
  private readonly stopped = (): boolean => {
    const heapFull = this.heap.full()
    if (heapFull) Atomics.store(this.setup.stop, 0, 1)
    if (heapFull || performance.now() - this.said > 100) {
      this.said = performance.now()
      this.post({ type: 'progress', states: this.search.states - this.uncounted, transitions: this.search.transitions, heapFull })
    }
    // A seen set that wants room pauses the level too (every shard, so it can grow).
    return Atomics.load(this.setup.stop, 0) === 1 || this.seen.wantsRoom
  }

  private report(): ShardReport {
    const { search, model } = this
    return {
      states: search.states - this.uncounted, transitions: search.transitions, deadlocks: search.deadlocks, frontier: search.frontier,
      full: search.full, cutOutcomes: search.cutOutcomes, depth: search.depth, unexplored: [
        ...unexploredBy(model, { ttyUnfed: search.ttyUnfed, budgetReached: search.budgetReached, outside: 0, interrupted: search.interrupted }),
        ...(model.version.explore.liveness.length ? [livenessUnchecked('they are checked on one thread (leave out --workers)')] : []),
      ],
      outside: search.outside, constraints: model.version.explore.constraints.map((c) => c.name), expanded: this.expanded, busyMs: this.busyMs, spilled: this.spilled,
    }
  }

  /** A peer's batch: its new values are learnt now, in the order batches arrive. */
  private arrived(from: number, batch: HandoffBatch): void {
    this.inbox[from]!.learn(batch)
    this.batches[from]!.push(batch)
    this.waiting[from]?.()
  }

  private async batchFrom(from: number): Promise<HandoffBatch> {
    while (!this.batches[from]!.length) await new Promise<void>((resolve) => (this.waiting[from] = resolve))
    this.waiting[from] = null
    return this.batches[from]!.shift()!
  }

  /** Evens out the next level: gives the last states found away, takes others' in (they stay theirs: counted and checked there). */
  private async even({ give, take }: Evening): Promise<void> {
    for (const { to, count } of give) {
      for (const s of this.search.giveAway(count)) this.outbox[to]!.add(s.world, s.shard, s.id)
      this.setup.peers[to]!.postMessage(this.outbox[to]!.take(this.search.depth))
    }
    for (const from of take) {
      const batch = await this.batchFrom(from)
      for (const item of batch.items) this.search.adopt({ world: this.inbox[from]!.world(item), id: item.id, shard: item.shard })
    }
  }
}
