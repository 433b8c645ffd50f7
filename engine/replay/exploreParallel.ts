// Exploration on several cores: one shard per thread, all claiming states in
// one seen set they share (sharedSeen.ts); a shard expands the states it
// claimed first. Levels go in lock step — every shard expands its part of
// level d before any begins d + 1 — so the search stays breadth first and
// every trace it reports is a shortest one. Between levels, a shard with more
// than its share of the next level gives the surplus to one with less.
// Shard 0 runs in this thread, on the model compiled here, and starts at
// once; the other threads start meanwhile and join in at the first level
// wide enough to share (JOIN_AT): a small search never waits for a thread.
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { boundsOf, outsideWords, pickFirst, stoppedWhy, traceOf, type ExploreOptions, type ExploreResult, type Move } from './explore.ts'
import type { Found, StateRef } from './searchTypes.ts'
import type { Evening, ShardReport, ShardSetup } from './shardRunner.ts'
import { localShard, threadShard, type ShardHandle, type ShardProgress } from './shardHandles.ts'
import { SharedSeen } from './sharedSeen.ts'
import type { Model } from './model.ts'
import type { PreparedMoment } from './prepareMoment.ts'
import type { Fault } from './effectOutcomes.ts'
import type { KeptCell } from '../runtime/transformCell.ts'

export interface ParallelOptions extends ExploreOptions {
  /** Threads to use, this one included (default 2). */
  workers?: number
  path?: string
  /** Explore from this moment of a log (prepareMoment): the shards open no log. */
  from?: PreparedMoment
  timeLimitMs?: number
  /** The notebook's cells compiled already (each thread would compile them again). */
  cells?: KeptCell[]
  /** Requests clients() may send along one trace. */
  requests?: number
  /** The faults effects may get (ModelOptions.faults). */
  faults?: Fault[]
  /** What sys.env shows (ModelOptions.env). */
  env?: Record<string, string>
  /** This notebook's model, made with these options: shard 0 explores on it (else it makes its own). */
  model?: Model
  /** The threads that have started join in at a level of at least this many states (default JOIN_AT). */
  joinAt?: number
  /** The threads are started at once and waited for at that level, so every one takes part however small the search (tests). */
  waitToJoin?: boolean
}

/**
 * A thread joins in at a level of at least this many states: a level is
 * where the work is shared out, and a thread's start (its sandbox, a cold
 * memo, code not yet optimised) costs about as much as a few thousand states.
 */
export const JOIN_AT = 2048
/** The threads start at a level of this many states: started meanwhile, they are ready by the level they join in at. */
const START_AT = JOIN_AT / 8

export async function exploreParallel(text: string, options: ParallelOptions = {}): Promise<ExploreResult> {
  const started = performance.now()
  const bounds = boundsOf(options)
  const count = Math.max(1, options.workers ?? 2)
  const joinAt = options.joinAt ?? JOIN_AT
  // A stop reaches the shards in the middle of a level: they look at this between batches.
  const stop = new Int32Array(new SharedArrayBuffer(4))
  const onAbort = () => Atomics.store(stop, 0, 1)
  const seenBuffers = SharedSeen.create()
  const seen = new SharedSeen(seenBuffers)
  let slots = seenBuffers.slots
  options.signal?.addEventListener('abort', onAbort)
  if (options.signal?.aborted) onAbort()
  // A port between every pair of shards, so states given to even out a level do not pass through this thread.
  const ports: (MessagePort | null)[][] = Array.from({ length: count }, () => Array<MessagePort | null>(count).fill(null))
  for (let a = 0; a < count; a++) {
    for (let b = a + 1; b < count; b++) {
      const { port1, port2 } = new MessageChannel()
      ports[a]![b] = port1
      ports[b]![a] = port2
    }
  }
  // Each shard's counts as it last said them (between levels, or about every 100 ms within one).
  const counts = Array.from({ length: count }, () => ({ states: 0, transitions: 0 }))
  let depth = 0
  /** A shard's heap came near its limit: every shard was told to stop. */
  let heapFull = false
  const shardProgress = (shard: number, m: ShardProgress) => {
    counts[shard] = { states: m.states, transitions: m.transitions }
    heapFull ||= m.heapFull === true
    options.onProgress?.({ states: counts.reduce((n, c) => n + c.states, 0), transitions: counts.reduce((n, c) => n + c.transitions, 0), depth })
  }
  const setupOf = (shard: number): ShardSetup => ({
    text, path: options.path ?? '<notebook>', from: options.from ?? null, cells: options.cells, timeLimitMs: options.timeLimitMs, requests: options.requests, faults: options.faults, env: options.env,
    shard, shards: count, seed: shard === 0, maxOutcomes: bounds.maxOutcomes, deadlock: options.deadlock ?? true, peers: ports[shard]!, stop, seen: seenBuffers,
    frontierBytes: options.frontierBytes, spillDir: options.spillDir,
  })
  const shards: ShardHandle[] = [localShard(setupOf(0), (m) => shardProgress(0, m), options.model)]
  // The other threads start once a level reaches START_AT states: a small search starts none.
  const startThreads = () => {
    for (let i = shards.length; i < count; i++) shards.push(threadShard(setupOf(i), (m) => shardProgress(i, m)))
  }
  if (options.waitToJoin) startThreads()
  /** The shards taking part in the search: shard 0, and the threads that have joined in. */
  const joined = [0]
  const grow = () => {
    slots = seen.grown()
    for (const i of joined) shards[i]!.send({ type: 'table', slots })
  }
  try {
    const found: Found[] = []
    const reports: (ShardReport | null)[] = Array.from({ length: count }, () => null)
    const collect = (replies: { report: ShardReport; found: Found[] }[]) => {
      replies.forEach((r, k) => (reports[joined[k]!] = r.report))
      for (const r of replies) found.push(...r.found)
    }
    collect([await shards[0]!.next()])
    const all = () => reports.filter((r): r is ShardReport => r !== null)
    const total = () => all().reduce((n, r) => n + r.states, 0)
    let stoppedBy: ExploreResult['stoppedBy'] = null
    let first = true
    let spilled = 0
    for (;;) {
      const frontier = first ? total() : all().reduce((n, r) => n + r.frontier, 0)
      if (heapFull || options.signal?.aborted) {
        stoppedBy = heapFull ? 'memory' : stoppedWhy(options.signal!)
        break
      }
      if (!first) {
        if (all().some((r) => r.full)) {
          stoppedBy = 'states'
          break
        }
        if (!frontier) break
        depth++
        if (depth >= bounds.maxDepth) {
          stoppedBy = 'depth'
          break
        }
        // Threads that have started join in at a level wide enough to share: they take their part of it when it is evened out.
        if (frontier >= Math.min(START_AT, joinAt)) startThreads()
        if (frontier >= joinAt) await join(shards, joined, reports, slots, options.waitToJoin === true)
      }
      // The states still allowed, for every shard to take from: the first to find one more is full.
      if (first) seen.allow(bounds.maxStates - total())
      const evenings = evenOut(joined.map((i) => (first ? 0 : reports[i]!.frontier)), pacesOf(joined.map((i) => reports[i]!)))
      if (seen.wantsRoom) grow()
      joined.forEach((i, k) => shards[i]!.send({ type: 'expand', nextLevel: !first, depth, even: onShards(evenings[k]!, joined) }))
      let replies = await Promise.all(joined.map((i) => shards[i]!.next()))
      // The seen set wants room: every shard has paused or finished its part of the level; it grows, they go on.
      while (replies.some((r) => r.type === 'paused')) {
        grow()
        replies = await Promise.all(joined.map((i, k) => (replies[k].type === 'paused' ? shards[i]!.next() : replies[k])))
      }
      collect(replies)
      // A level some shard's part of went to a file counts once.
      if (!first && joined.some((i) => reports[i]!.spilled)) spilled++
      first = false
      joined.forEach((i) => shardProgress(i, reports[i]!))
    }
    if (!stoppedBy && all().some((r) => r.cutOutcomes)) stoppedBy = 'outcomes'
    const outside = all().reduce((n, r) => n + r.outside, 0)
    const picked = pickFirst(found)
    const trails = await resolveTrails(shards, picked.map((f) => f.at))
    return {
      states: total(),
      transitions: all().reduce((n, r) => n + r.transitions, 0),
      depth,
      exhausted: stoppedBy === null,
      stoppedBy,
      deadlocks: all().reduce((n, r) => n + r.deadlocks, 0),
      outside,
      violations: picked.map(({ violation, at }) => ({ ...violation, trace: traceOf(at, (ref) => trails.get(refKey(ref))!) })),
      unexplored: [...new Set(all().flatMap((r) => r.unexplored)), ...(outside ? [outsideWords(reports[0]!.constraints, outside)] : [])],
      elapsedMs: performance.now() - started,
      ...(spilled ? { spilled } : {}),
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    // A shard still in a level (another failed) leaves it at once, then lets its files go.
    Atomics.store(stop, 0, 1)
    await Promise.all(shards.map((s) => s.close()))
  }
}

/** The threads that have started (said they are ready; `wait`: every thread, once started) join in, each given the seen set as it is now. */
async function join(shards: ShardHandle[], joined: number[], reports: (ShardReport | null)[], slots: SharedArrayBuffer, wait: boolean): Promise<void> {
  for (let i = 1; i < shards.length; i++) {
    if (joined.includes(i) || !(wait || shards[i]!.ready)) continue
    reports[i] = (await shards[i]!.next()).report
    shards[i]!.send({ type: 'table', slots })
    joined.push(i)
  }
}

/** A thread's first level is slower than a warm one's, by about this much (its code is not optimised yet, its memo is cold). */
const COLD = 4

/** Each shard's pace over the level it last expanded; one that has expanded none yet is taken as COLD times slower than the others. */
function pacesOf(reports: readonly ShardReport[]): number[] {
  const known = reports.map((r) => (r.expanded >= FEW && r.busyMs > 0 ? r.expanded / r.busyMs : 0))
  const warm = known.filter((p) => p > 0)
  if (!warm.length) return reports.map(() => 1)
  const mean = warm.reduce((a, b) => a + b, 0) / warm.length
  return known.map((p) => p || mean / COLD)
}

/** An evening worked out among the shards that take part (by their place in `joined`), in shard numbers. */
function onShards(e: Evening, joined: readonly number[]): Evening {
  return { give: e.give.map((g) => ({ to: joined[g.to]!, count: g.count })), take: e.take.map((t) => joined[t]!) }
}

const refKey = (r: StateRef) => `${r.shard}:${r.id}`

/** A level is left as it is unless a shard's part is this much over the even share. */
const UNEVEN = 1 / 16
/** Fewer states than this are not worth moving. */
const FEW = 16

/**
 * Who gives whom how many states before the next level, from each shard's
 * part of it and its pace (states per millisecond: a thread that has just
 * started is slower): those over their share give their surplus to those
 * under it, so no shard is both. Equal paces by default.
 */
export function evenOut(parts: readonly number[], paces: readonly number[] = parts.map(() => 1)): Evening[] {
  const evenings = parts.map((): Evening => ({ give: [], take: [] }))
  const sum = paces.reduce((a, b) => a + b, 0)
  const shares = paces.map((p) => (parts.reduce((a, b) => a + b, 0) * p) / sum)
  const over = parts.map((p, i) => Math.floor(p - shares[i]!))
  const under = parts.map((p, i) => Math.floor(shares[i]! - p))
  if (!over.some((o, i) => o >= FEW && o > shares[i]! * UNEVEN)) return evenings
  for (let g = 0; g < parts.length; g++) {
    for (let t = 0; t < parts.length && over[g]! > 0; t++) {
      const count = Math.min(over[g]!, under[t]!)
      if (count <= 0) continue
      over[g]! -= count
      under[t]! -= count
      evenings[g]!.give.push({ to: t, count })
      evenings[t]!.take.push(g)
    }
  }
  return evenings
}

/** Follows parent links across shards, one round of questions per step back. */
async function resolveTrails(shards: ShardHandle[], starts: StateRef[]) {
  const trails = new Map<string, { parent: StateRef | null; move: Move | null }>()
  let wanted = starts
  while (wanted.length) {
    const byShard = shards.map((): number[] => [])
    for (const ref of wanted) if (!trails.has(refKey(ref))) byShard[ref.shard]!.push(ref.id)
    const next: StateRef[] = []
    await Promise.all(byShard.map(async (ids, shard) => {
      if (!ids.length) return
      shards[shard]!.send({ type: 'trail', ids })
      const { trails: answers } = await shards[shard]!.next()
      answers.forEach((t: { parent: StateRef | null; move: Move | null }, i: number) => {
        trails.set(`${shard}:${ids[i]}`, t)
        if (t.parent) next.push(t.parent)
      })
    }))
    wanted = next
  }
  return trails
}
