// Reading a long durable history back: bytes per event on disk, the latency of
// seeks to random moments, and `replay --verify`'s rate over the whole branch.
import { existsSync, statSync } from 'node:fs'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { seek } from '../engine/replay/seek.ts'
import { verifyBranch } from '../engine/replay/replay.ts'

/** The log's bytes on disk (with its write-ahead file, if one is left) per event. */
export function bytesPerEvent(db: string, events: number): number {
  const size = (path: string) => (existsSync(path) ? statSync(path).size : 0)
  return (size(db) + size(`${db}-wal`)) / events
}

/** xorshift32: the same seeks on every run. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x = (x ^ (x << 13)) >>> 0
    x = (x ^ (x >>> 17)) >>> 0
    x = (x ^ (x << 5)) >>> 0
    return x / 2 ** 32
  }
}

export interface Seeks {
  count: number
  planned: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /**
   * The same seeks' CPU time (user + system, the process's), p99 and max: on a shared machine a seek's wall
   * time also holds however long it waited for a core, which decides the max; its CPU time does not.
   */
  cpuP99Ms: number
  cpuMaxMs: number
}

/** Nearest-rank percentile of ascending `sorted`. */
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!

/**
 * Times `planned` seeks to seeded-random events of branch main (stopping early
 * once `budgetMs` of seeking has gone by), checking each state: the counter
 * history holds count = steps - (head - seq) after event seq.
 */
export function randomSeeks(db: string, steps: number, planned: number, budgetMs: number): Seeks {
  const log = SqliteLog.open(db, { create: false })
  try {
    const head = log.branchInfo('main')!.head
    const next = seeded(0x100a)
    const times: number[] = []
    const cpu: number[] = []
    let spent = 0
    while (times.length < planned && spent < budgetMs) {
      const seq = 1 + Math.floor(next() * head)
      const c0 = process.cpuUsage()
      const t0 = performance.now()
      const state = seek(log, { branch: 'main', seq })
      const ms = performance.now() - t0
      const c = process.cpuUsage(c0)
      const count = Object.values(state)[0]?.value ?? 0
      if (count !== Math.max(0, steps - (head - seq))) throw new Error(`seek to event ${seq}: count is ${JSON.stringify(count)}`)
      times.push(ms)
      cpu.push((c.user + c.system) / 1000)
      spent += ms
    }
    times.sort((a, b) => a - b)
    cpu.sort((a, b) => a - b)
    return {
      count: times.length, planned, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), maxMs: times[times.length - 1]!,
      cpuP99Ms: percentile(cpu, 0.99), cpuMaxMs: cpu[cpu.length - 1]!,
    }
  } finally {
    log.close()
  }
}

/** Verifies branch main (hash chain and re-execution of every event), as `loom replay --verify` does; returns events per second. */
export async function verifyRate(db: string): Promise<number> {
  const log = SqliteLog.open(db, { create: false })
  try {
    const t0 = performance.now()
    const result = await verifyBranch(log, 'main')
    const ms = performance.now() - t0
    if (!result.ok) throw new Error(`replay --verify failed at event ${result.failure?.seq}: ${result.failure?.what}`)
    if (result.events !== log.head) throw new Error(`replay --verify checked ${result.events} of ${log.head} events`)
    return result.events / (ms / 1000)
  } finally {
    log.close()
  }
}
