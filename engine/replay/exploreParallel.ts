// Exploration on several cores: one shard per thread, all claiming states in
// one seen set they share (sharedSeen.ts); a shard expands the states it
// claimed first. Levels go in lock step — every shard expands its part of
// level d before any begins d + 1 — so the search stays breadth first and
// every trace it reports is a shortest one. Between levels, a shard with more
// than its share of the next level gives the surplus to one with less.
import { Worker } from 'node:worker_threads'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { boundsOf, outsideWords, pickFirst, stoppedWhy, traceOf, type ExploreOptions, type ExploreResult, type Move } from './explore.ts'
import type { Found, StateRef } from './searchTypes.ts'
import type { Evening, ShardReport, ShardSetup, ToShard } from './exploreWorker.ts'
import { SharedSeen } from './sharedSeen.ts'
import type { PreparedMoment } from './prepareMoment.ts'
import type { Fault } from './effectOutcomes.ts'
import type { KeptCell } from '../runtime/transformCell.ts'

export interface ParallelOptions extends ExploreOptions {
  /** Threads to use (default 2). */
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
}

interface Shard {
  worker: Worker
  next: () => Promise<any>
}

export async function exploreParallel(text: string, options: ParallelOptions = {}): Promise<ExploreResult> {
  const started = performance.now()
  const bounds = boundsOf(options)
  const count = Math.max(1, options.workers ?? 2)
  // A stop reaches the shards in the middle of a level: they look at this between batches.
  const stop = new Int32Array(new SharedArrayBuffer(4))
  const onAbort = () => Atomics.store(stop, 0, 1)
  const seenBuffers = SharedSeen.create()
  const seen = new SharedSeen(seenBuffers)
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
  const shardProgress = (shard: number, m: { states: number; transitions: number; heapFull?: boolean }) => {
    counts[shard] = { states: m.states, transitions: m.transitions }
    heapFull ||= m.heapFull === true
    options.onProgress?.({ states: counts.reduce((n, c) => n + c.states, 0), transitions: counts.reduce((n, c) => n + c.transitions, 0), depth })
  }
  const shards: Shard[] = ports.map((peers, shard) => {
    const worker = new Worker(new URL('./exploreWorker.boot.js', import.meta.url))
    const queue: any[] = []
    const takers: ((m: any) => void)[] = []
    const fail = (err: Error) => {
      const m = { type: 'error', message: err.message }
      takers.length ? takers.shift()!(m) : queue.push(m)
    }
    worker.on('message', (m) => {
      // A shard's counts in the middle of a level: progress only, no answer.
      if (m.type === 'progress') return shardProgress(shard, m)
      takers.length ? takers.shift()!(m) : queue.push(m)
    })
    worker.on('error', fail)
    worker.on('exit', (code) => code !== 0 && fail(new Error(`an exploration thread stopped (exit ${code})`)))
    const setup: ShardSetup = {
      text, path: options.path ?? '<notebook>', from: options.from ?? null, cells: options.cells, timeLimitMs: options.timeLimitMs, requests: options.requests, faults: options.faults, env: options.env,
      shard, shards: count, maxOutcomes: bounds.maxOutcomes, deadlock: options.deadlock ?? true, peers, stop, seen: seenBuffers,
    }
    worker.postMessage(setup, peers.filter((p): p is MessagePort => p !== null))
    return {
      worker,
      next: () => new Promise((resolve, reject) => {
        const settle = (m: any) => (m.type === 'error' ? reject(new Error(m.message)) : resolve(m))
        queue.length ? settle(queue.shift()) : takers.push(settle)
      }),
    }
  })
  const send = (s: Shard, m: ToShard) => s.worker.postMessage(m)
  const grow = () => {
    const slots = seen.grown()
    shards.forEach((s) => send(s, { type: 'table', slots }))
  }
  try {
    const found: Found[] = []
    let reports: ShardReport[] = []
    const collect = (replies: { report: ShardReport; found: Found[] }[]) => {
      reports = replies.map((r) => r.report)
      for (const r of replies) found.push(...r.found)
    }
    collect(await Promise.all(shards.map((s) => s.next())))
    const total = () => reports.reduce((n, r) => n + r.states, 0)
    let stoppedBy: ExploreResult['stoppedBy'] = null
    let first = true
    for (;;) {
      const frontier = first ? total() : reports.reduce((n, r) => n + r.frontier, 0)
      if (heapFull || options.signal?.aborted) {
        stoppedBy = heapFull ? 'memory' : stoppedWhy(options.signal!)
        break
      }
      if (!first) {
        if (reports.some((r) => r.full)) {
          stoppedBy = 'states'
          break
        }
        if (!frontier) break
        depth++
        if (depth >= bounds.maxDepth) {
          stoppedBy = 'depth'
          break
        }
      }
      // The states still allowed, for every shard to take from: the first to find one more is full.
      if (first) seen.allow(bounds.maxStates - total())
      const evenings = evenOut(reports.map((r) => (first ? 0 : r.frontier)))
      if (seen.wantsRoom) grow()
      shards.forEach((s, i) => send(s, { type: 'expand', nextLevel: !first, even: evenings[i]! }))
      let replies = await Promise.all(shards.map((s) => s.next()))
      // The seen set wants room: every shard has paused or finished its part of the level; it grows, they go on.
      while (replies.some((r) => r.type === 'paused')) {
        grow()
        replies = await Promise.all(shards.map((s, i) => (replies[i].type === 'paused' ? s.next() : replies[i])))
      }
      collect(replies)
      first = false
      reports.forEach((r, i) => shardProgress(i, r))
    }
    if (!stoppedBy && reports.some((r) => r.cutOutcomes)) stoppedBy = 'outcomes'
    const outside = reports.reduce((n, r) => n + r.outside, 0)
    const picked = pickFirst(found)
    const trails = await resolveTrails(shards, picked.map((f) => f.at))
    return {
      states: total(),
      transitions: reports.reduce((n, r) => n + r.transitions, 0),
      depth,
      exhausted: stoppedBy === null,
      stoppedBy,
      deadlocks: reports.reduce((n, r) => n + r.deadlocks, 0),
      outside,
      violations: picked.map(({ violation, at }) => ({ ...violation, trace: traceOf(at, (ref) => trails.get(refKey(ref))!) })),
      unexplored: [...new Set(reports.flatMap((r) => r.unexplored)), ...(outside ? [outsideWords(reports[0]!.constraints, outside)] : [])],
      elapsedMs: performance.now() - started,
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    for (const s of shards) {
      send(s, { type: 'close' })
      void s.worker.terminate()
    }
  }
}

const refKey = (r: StateRef) => `${r.shard}:${r.id}`

/** A level is left as it is unless a shard's part is this much over the even share. */
const UNEVEN = 1 / 16
/** Fewer states than this are not worth moving. */
const FEW = 16

/**
 * Who gives whom how many states before the next level, from each shard's
 * part of it: those over the even share give their surplus to those under
 * it, so no shard is both.
 */
export function evenOut(parts: readonly number[]): Evening[] {
  const evenings = parts.map((): Evening => ({ give: [], take: [] }))
  const share = parts.reduce((a, b) => a + b, 0) / parts.length
  const over = parts.map((p) => Math.floor(p - share))
  const under = parts.map((p) => Math.floor(share - p))
  if (!over.some((o) => o >= FEW && o > share * UNEVEN)) return evenings
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
async function resolveTrails(shards: Shard[], starts: StateRef[]) {
  const trails = new Map<string, { parent: StateRef | null; move: Move | null }>()
  let wanted = starts
  while (wanted.length) {
    const byShard = shards.map((): number[] => [])
    for (const ref of wanted) if (!trails.has(refKey(ref))) byShard[ref.shard]!.push(ref.id)
    const next: StateRef[] = []
    await Promise.all(byShard.map(async (ids, shard) => {
      if (!ids.length) return
      shards[shard]!.worker.postMessage({ type: 'trail', ids } satisfies ToShard)
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
