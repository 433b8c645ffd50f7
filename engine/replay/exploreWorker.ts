// One shard of a parallel exploration, in its own thread: the notebook's code
// in a sandbox of its own, the states whose hash falls to this shard, and a
// port to every other shard for the states it finds for them. The main
// thread paces the levels (exploreParallel.ts). It opens no log: a moment
// to explore from comes read already (it may run confined, DESIGN §9).
import { parentPort, type MessagePort } from 'node:worker_threads'
import { Model } from './model.ts'
import type { Fault } from './effectOutcomes.ts'
import type { PreparedMoment } from './prepareMoment.ts'
import type { KeptCell } from '../runtime/transformCell.ts'
import { Search } from './search.ts'
import { runLevel } from './levelBatches.ts'
import type { HandoffBatch } from './handoffs.ts'
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
}

export type ToShard =
  | { type: 'expand'; quota: number; nextLevel: boolean }
  | { type: 'receive' }
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
let peers: (MessagePort | null)[] = []
let stopped = () => false
/** The app before its start() commits, when this shard owns it: found and expanded, not counted (Model.uncounted). */
let uncounted = 0
/** Batches from other shards, by level, until this shard takes them in. */
const batches = new Map<number, HandoffBatch[]>()
let waiting: (() => void) | null = null

const report = (): ShardReport => ({
  states: search.states - uncounted, transitions: search.transitions, deadlocks: search.deadlocks, frontier: search.frontier,
  full: search.full, cutOutcomes: search.cutOutcomes, depth: search.depth, unexplored: [
    ...unexploredBy(model, { ttyUnfed: search.ttyUnfed, budgetReached: search.budgetReached, outside: 0 }),
    ...(model.version.explore.liveness.length ? [livenessUnchecked('they are checked on one thread (leave out --workers)')] : []),
  ],
  outside: search.outside, constraints: model.version.explore.constraints.map((c) => c.name),
})

port.once('message', async (setup: ShardSetup) => {
  try {
    model = await Model.create(setup.text, { path: setup.path, timeLimitMs: setup.timeLimitMs, from: setup.from ?? undefined, cells: setup.cells, requests: setup.requests, faults: setup.faults, env: setup.env })
    search = new Search(model, setup.maxOutcomes, 0, { deadlock: setup.deadlock }, setup.shard, setup.shards)
    peers = setup.peers
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
      return Atomics.load(setup.stop, 0) === 1
    }
    peers.forEach((peer, from) => peer?.on('message', (batch: HandoffBatch) => take(from, batch)))
    // The start's tests are checked with the first level's work.
    search.seed()
    if (search.states) uncounted = model.uncounted
    port.postMessage({ type: 'ready', report: report(), found: search.found.splice(0) })
    port.on('message', (m: ToShard) => void handle(m))
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message })
  }
})

/** A peer's batch for the level it was expanding (which this shard may not have reached yet); its new values are learnt now, in the order batches arrive. */
function take(from: number, batch: HandoffBatch): void {
  search.learn(from, batch)
  let list = batches.get(batch.depth)
  if (!list) batches.set(batch.depth, (list = []))
  list[from] = batch
  waiting?.()
}

async function handle(m: ToShard): Promise<void> {
  switch (m.type) {
    case 'expand': {
      if (m.nextLevel) search.nextLevel()
      search.quota = m.quota
      runLevel(search, model, stopped)
      // Every peer gets exactly one batch per level, empty or not, so it knows when it has them all.
      peers.forEach((peer, s) => peer?.postMessage(search.handedTo(s)))
      port.postMessage({ type: 'expanded' })
      return
    }
    case 'receive': {
      const expected = peers.filter(Boolean).length
      const have = () => (batches.get(search.depth) ?? []).filter(Boolean).length
      while (have() < expected) await new Promise<void>((resolve) => (waiting = resolve))
      waiting = null
      const list = batches.get(search.depth)!
      batches.delete(search.depth)
      list.forEach((batch, from) => batch && search.receive(from, batch))
      runLevel(search, model, stopped)
      port.postMessage({ type: 'received', report: report(), found: search.found.splice(0) })
      return
    }
    case 'trail':
      port.postMessage({ type: 'trail', trails: m.ids.map((id) => search.trail(id)) })
      return
    case 'close':
      port.close()
      for (const peer of peers) peer?.close()
      return
  }
}
