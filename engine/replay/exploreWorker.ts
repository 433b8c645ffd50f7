// One shard of a parallel exploration, in its own thread: the notebook's code
// in a sandbox of its own, the states it was first to claim in the seen set
// every shard shares (sharedSeen.ts), and a port to every other shard to even
// out a level. The main thread paces the levels (exploreParallel.ts). It
// opens no log: a moment to explore from comes read already (it may run
// confined, DESIGN §9).
import { parentPort, type MessagePort } from 'node:worker_threads'
import { Model } from './model.ts'
import type { Fault } from './effectOutcomes.ts'
import type { PreparedMoment } from './prepareMoment.ts'
import type { KeptCell } from '../runtime/transformCell.ts'
import { Search } from './search.ts'
import { runLevel } from './levelBatches.ts'
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
  maxOutcomes: number
  /** Whether a state where nothing can move is reported (--no-deadlock: false). */
  deadlock: boolean
  peers: (MessagePort | null)[]
  /** Set to 1 by the main thread when the search is stopped: a level in progress is left where it is. */
  stop: Int32Array
  /** The seen set every shard claims states in. */
  seen: SeenBuffers
}

/** Before a level: states this shard gives to others (the last it found), and the shards it takes states from. */
export interface Evening {
  give: { to: number; count: number }[]
  take: number[]
}

export type ToShard =
  | { type: 'expand'; nextLevel: boolean; even: Evening }
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
}

const port = parentPort!
let search: Search
let model: Model
let seen: SharedSeen
let peers: (MessagePort | null)[] = []
let outbox: (Outgoing | null)[] = []
let inbox: (Incoming | null)[] = []
let stopped = () => false
let stop: Int32Array
/** The app before its start() commits, when this shard claims it: found and expanded, not counted (Model.uncounted). */
let uncounted = 0
/** Per peer: batches it sent that this shard has not taken yet, and who waits for the next. */
let batches: HandoffBatch[][] = []
const waiting: ((() => void) | null)[] = []
/** Who waits for the grown seen set. */
let grown: (() => void) | null = null

const report = (): ShardReport => ({
  states: search.states - uncounted, transitions: search.transitions, deadlocks: search.deadlocks, frontier: search.frontier,
  full: search.full, cutOutcomes: search.cutOutcomes, depth: search.depth, unexplored: [
    ...unexploredBy(model, { ttyUnfed: search.ttyUnfed, budgetReached: search.budgetReached, outside: 0, interrupted: search.interrupted }),
    ...(model.version.explore.liveness.length ? [livenessUnchecked('they are checked on one thread (leave out --workers)')] : []),
  ],
  outside: search.outside, constraints: model.version.explore.constraints.map((c) => c.name),
})

port.once('message', async (setup: ShardSetup) => {
  try {
    model = await Model.create(setup.text, { path: setup.path, timeLimitMs: setup.timeLimitMs, from: setup.from ?? undefined, cells: setup.cells, requests: setup.requests, faults: setup.faults, env: setup.env })
    seen = new SharedSeen(setup.seen)
    // The room left for states is the seen set's (one bound for every shard).
    search = new Search(model, setup.maxOutcomes, Infinity, { deadlock: setup.deadlock, shared: seen }, setup.shard)
    peers = setup.peers
    stop = setup.stop
    outbox = peers.map((p) => (p ? new Outgoing(model) : null))
    inbox = peers.map((p) => (p ? new Incoming(model) : null))
    batches = peers.map(() => [])
    // Asked between batches: a good moment to tell the main thread how far this shard is, about every 100 ms,
    // and whether its heap (each thread has its own) is near its limit: then every shard stops.
    let said = performance.now()
    const heap = heapRoom()
    stopped = () => {
      if (performance.now() - said > 100) {
        said = performance.now()
        const heapFull = heap.full()
        if (heapFull) Atomics.store(setup.stop, 0, 1)
        port.postMessage({ type: 'progress', states: search.states, transitions: search.transitions, heapFull })
      }
      // A seen set that wants room pauses the level too (every shard, so it can grow).
      return Atomics.load(setup.stop, 0) === 1 || seen.wantsRoom
    }
    peers.forEach((peer, from) => peer?.on('message', (batch: HandoffBatch) => arrived(from, batch)))
    // The start's tests are checked with the first level's work.
    search.seed()
    if (search.states) uncounted = model.uncounted
    port.postMessage({ type: 'ready', report: report(), found: search.found.splice(0) })
    port.on('message', (m: ToShard) => void handle(m))
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message })
  }
})

/** A peer's batch: its new values are learnt now, in the order batches arrive. */
function arrived(from: number, batch: HandoffBatch): void {
  inbox[from]!.learn(batch)
  batches[from]!.push(batch)
  waiting[from]?.()
}

async function batchFrom(from: number): Promise<HandoffBatch> {
  while (!batches[from]!.length) await new Promise<void>((resolve) => (waiting[from] = resolve))
  waiting[from] = null
  return batches[from]!.shift()!
}

/** Evens out the next level: gives the last states found away, takes others' in (they stay theirs: counted and checked there). */
async function even({ give, take }: Evening): Promise<void> {
  for (const { to, count } of give) {
    for (const s of search.giveAway(count)) outbox[to]!.add(s.world, s.shard, s.id)
    peers[to]!.postMessage(outbox[to]!.take(search.depth))
  }
  for (const from of take) {
    const batch = await batchFrom(from)
    for (const item of batch.items) search.adopt({ world: inbox[from]!.world(item), id: item.id, shard: item.shard })
  }
}

async function handle(m: ToShard): Promise<void> {
  switch (m.type) {
    case 'expand': {
      await even(m.even)
      if (m.nextLevel) search.nextLevel()
      for (;;) {
        runLevel(search, model, stopped)
        if (Atomics.load(stop, 0) === 1 || !seen.wantsRoom) break
        // Paused for the seen set to grow: the main thread grows it once every shard has paused or finished.
        port.postMessage({ type: 'paused' })
        await new Promise<void>((resolve) => (grown = resolve))
      }
      port.postMessage({ type: 'expanded', report: report(), found: search.found.splice(0) })
      return
    }
    case 'table':
      seen.use(m.slots)
      grown?.()
      grown = null
      return
    case 'trail':
      port.postMessage({ type: 'trail', trails: m.ids.map((id) => search.trail(id)) })
      return
    case 'close':
      port.close()
      for (const peer of peers) peer?.close()
      return
  }
}
