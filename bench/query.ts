// Questions over a whole history (`loom query`, retroactive logging): how
// many events a second a predicate is evaluated over a long branch of the
// counter sample, beside `replay --verify`'s rate over the same branch, and
// how long re-enacting 100,000 events with a sys.log line added takes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { queryBranch } from '../engine/replay/query.ts'
import { retroLogs } from '../engine/replay/retroLog.ts'
import { buildHistory } from './durable.ts'
import { verifyRate } from './history.ts'
import { SAMPLE } from './loom.ts'

export interface QueryFigures {
  /** Events in the branch the predicate and verify ran over (1,000,000; 100,000 with --quick). */
  events: number
  queryEventsPerSecond: number
  verifyEventsPerSecond: number
  retro: { events: number; seconds: number; eventsPerSecond: number; lines: number }
}

const RETRO_STEPS = 100_000

export async function measureQuery(quick: boolean, progress: (what: string) => unknown): Promise<QueryFigures> {
  const steps = quick ? 100_000 : 1_000_000
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-query-'))
  try {
    progress(`a history of ${steps.toLocaleString('en-US')} steps of the counter, for loom query`)
    const { db, events } = await buildHistory(dir, steps)
    progress('loom query over all of it, and replay --verify over the same branch')
    const log = SqliteLog.open(db, { create: false })
    // As loom query does: the expression in an evaluator process of its own, started within the time measured
    // (a checkout from before it, under --base, evaluates in its own process).
    const spawner = (await import('../engine/host/evaluatorSpawn.ts').catch(() => null)) as typeof import('../engine/host/evaluatorSpawn.ts') | null
    const evaluator = spawner?.spawnedEvaluator()
    let queryEventsPerSecond: number
    try {
      const t0 = performance.now()
      const r = await queryBranch(log, 'count.get() % 100000 === 0', { branch: 'main', evaluator: evaluator! })
      const ms = performance.now() - t0
      if (r.evaluated !== events || r.count !== steps / 100_000 + 1) throw new Error(`loom query evaluated ${r.evaluated} of ${events} events, ${r.count} matches`)
      queryEventsPerSecond = events / (ms / 1000)
    } finally {
      evaluator?.end()
      log.close()
    }
    const verifyEventsPerSecond = await verifyRate(db)
    progress(`retroactive logging over ${RETRO_STEPS.toLocaleString('en-US')} steps`)
    const small = mkdtempSync(join(dir, 'retro-'))
    const built = await buildHistory(small, RETRO_STEPS)
    const text = readFileSync(SAMPLE, 'utf8').replace('count.set(count.get() + 1)', "count.set(count.get() + 1)\n  if (count.get() % 10000 === 0) sys.log('count', count.get())")
    if (!text.includes("sys.log('count'")) throw new Error(`the counter sample (${SAMPLE}) changed: no count.set(…) to add a log line after`)
    const retroLog = SqliteLog.open(built.db, { create: false })
    try {
      const t0 = performance.now()
      const r = await retroLogs(retroLog, 'main', SAMPLE, { text })
      const seconds = (performance.now() - t0) / 1000
      if (r.lines !== RETRO_STEPS / 10_000 || r.diverged) throw new Error(`retroactive logging printed ${r.lines} lines, ${r.diverged} events diverged`)
      return { events, queryEventsPerSecond, verifyEventsPerSecond, retro: { events: r.inputs, seconds, eventsPerSecond: r.inputs / seconds, lines: r.lines } }
    } finally {
      retroLog.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function queryTable(q: QueryFigures, quick: boolean): string {
  const int = (n: number) => Math.round(n).toLocaleString('en-US')
  return [
    `History questions (counter sample, ${int(q.events)} events${quick ? '; --quick: the full run uses 1,000,000' : ''}):`,
    `  loom query (a predicate after every event)  ${int(q.queryEventsPerSecond)} events/s`,
    `  replay --verify over the same branch         ${int(q.verifyEventsPerSecond)} events/s   (query is ${(q.queryEventsPerSecond / q.verifyEventsPerSecond).toFixed(1)}× verify)`,
    `  retroactive logging (replay --code --logs)   ${int(q.retro.events)} events in ${q.retro.seconds.toFixed(1)} s (${int(q.retro.eventsPerSecond)} events/s, ${q.retro.lines} lines)`,
  ].join('\n')
}
