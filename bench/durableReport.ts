// The durable-log figures (Loom's SQLite log against plain SQLite, and a long
// history's seek, verify, size and heap) as a table section and as JSON.
import type { BuiltBundled } from './bundledHistory.ts'
import type { Seeks } from './history.ts'
import type { ServedSeeks } from './servedSeeks.ts'
import { columns, int, times } from './report.ts'

export const TARGETS = { ratioToInsert: 3, seekP99Ms: 20, verifyEventsPerSecond: 100_000, heapGrowthMB: 50 }

export interface DurableFigures {
  reps: number
  warmSteps: number
  steps: number
  stepsPerSecond: number
  /** The same through `loom run`: cells in a confined process (OS sandbox `os`), SQLite in the launcher. */
  confined: { stepsPerSecond: number; os: 'bwrap' | 'none' }
  /** Plain SQLite rows per second, one transaction each, and how many rows were timed. */
  sqlite: { insert: number; update: number; insertFullSync: number; rows: number; fullSyncRows: number }
  history: Omit<BuiltBundled, 'db'> & { bytesPerEvent: number; seek: Seeks; seekBudgetMs: number; servedSeek: ServedSeeks; verifyEventsPerSecond: number }
}

/** '100k', '1M', '1,000,001' → short labels for event counts. */
function short(n: number): string {
  if (n >= 1e6 && n % 1e6 <= 10) return `${Math.floor(n / 1e6)}M`
  if (n >= 1e3 && n % 1e3 <= 10) return `${Math.floor(n / 1e3)}k`
  return String(n)
}

function judge(d: DurableFigures) {
  const h = d.history
  const growth = h.heap.late.mb - h.heap.early.mb
  const { running, early, late } = h.kinds
  return {
    /** What the history holds above the engine once it runs: objects (heap snapshots), at the early and late readings. */
    own: { early: early.objectsMB - running.objectsMB, late: late.objectsMB - running.objectsMB },
    /** What V8 made meanwhile to run the engine (code, shapes), which is not the history's. */
    v8: { early: early.v8MB - running.v8MB, late: late.v8MB - running.v8MB },
    ratioToInsert: d.stepsPerSecond / d.sqlite.insert,
    ratioToUpdate: d.stepsPerSecond / d.sqlite.update,
    growth,
    targets: {
      ratio3x: d.stepsPerSecond / d.sqlite.insert >= TARGETS.ratioToInsert,
      seekP99Under20ms: h.seek.p99Ms < TARGETS.seekP99Ms,
      verify100k: h.verifyEventsPerSecond >= TARGETS.verifyEventsPerSecond,
      memoryFlat: growth < TARGETS.heapGrowthMB,
    },
  }
}

const ms3 = (n: number) => Number(n.toFixed(3))
const one = (n: number) => Number(n.toFixed(1))

export function durableJson(d: DurableFigures): object {
  const h = d.history
  const j = judge(d)
  return {
    method: {
      statistic: 'best',
      reps: d.reps,
      warmUpSteps: d.warmSteps,
      steps: d.steps,
      loomLog: 'SQLite WAL, synchronous=FULL: one transaction and fsync per group commit',
      sqlite: 'better-sqlite3, WAL, synchronous=NORMAL (FULL for sqliteInsertFullSyncPerSecond), one autocommitted statement per transaction, fresh file',
      sqliteRows: { normal: d.sqlite.rows, fullSync: d.sqlite.fullSyncRows },
      seekBudgetMs: h.seekBudgetMs,
      heapUsed: 'a process of its own that builds the history with the engine bundled as loom run runs it (bench/bundledHistory.ts), read once a garbage collection frees nothing more (heapCollected)',
      historyHeap: "the program's values in heap snapshots at each reading, less those once the engine runs; what V8 made meanwhile to run the engine (optimized code, feedback, shapes) is v8GrowthMB, not the history's (bench/heapKinds.ts)",
      heapCollected: h.heap.collected,
    },
    stepsPerSecond: Math.round(d.stepsPerSecond),
    confinedRun: { stepsPerSecond: Math.round(d.confined.stepsPerSecond), osSandbox: d.confined.os, ratioToInsert: Number((d.confined.stepsPerSecond / d.sqlite.insert).toPrecision(4)), ofInProcess: Number((d.confined.stepsPerSecond / d.stepsPerSecond).toPrecision(4)) },
    sqliteInsertPerSecond: Math.round(d.sqlite.insert),
    sqliteUpdatePerSecond: Math.round(d.sqlite.update),
    sqliteInsertFullSyncPerSecond: Math.round(d.sqlite.insertFullSync),
    ratioToInsert: Number(j.ratioToInsert.toPrecision(4)),
    ratioToUpdate: Number(j.ratioToUpdate.toPrecision(4)),
    history: {
      events: h.events,
      buildStepsPerSecond: Math.round(h.buildStepsPerSecond),
      bytesPerEvent: one(h.bytesPerEvent),
      seek: { count: h.seek.count, planned: h.seek.planned, p50Ms: ms3(h.seek.p50Ms), p99Ms: ms3(h.seek.p99Ms), maxMs: ms3(h.seek.maxMs), cpuP99Ms: ms3(h.seek.cpuP99Ms), cpuMaxMs: ms3(h.seek.cpuMaxMs) },
      servedSeek: { count: h.servedSeek.count, p50Ms: ms3(h.servedSeek.p50Ms), p99Ms: ms3(h.servedSeek.p99Ms) },
      verifyEventsPerSecond: Math.round(h.verifyEventsPerSecond),
      // The process's heap, its engine's code included, and what the history holds above the engine once it runs.
      heapUsedMB: { atOpen: one(h.heap.open.mb), [`at${short(h.heap.running.events)}`]: one(h.heap.running.mb), [`at${short(h.heap.early.events)}`]: one(h.heap.early.mb), [`at${short(h.heap.late.events)}`]: one(h.heap.late.mb), growth: one(j.growth) },
      historyHeapMB: { [`at${short(h.heap.early.events)}`]: ms3(j.own.early), [`at${short(h.heap.late.events)}`]: ms3(j.own.late) },
      v8GrowthMB: { [`at${short(h.heap.early.events)}`]: ms3(j.v8.early), [`at${short(h.heap.late.events)}`]: ms3(j.v8.late) },
    },
    targets: j.targets,
  }
}

/** MB as KB to a tenth: the history's own heap is a few hundred bytes either way. */
const kb = (mb: number) => (Math.round(mb * 10240) / 10 || 0).toFixed(1)

const met = (ok: boolean) => (ok ? 'met' : 'NOT met')

export function durableTable(d: DurableFigures): string {
  const h = d.history
  const j = judge(d)
  const s = d.sqlite
  const rows: string[][] = [['scenario', 'ops', 'ops/s', 'Loom ÷ it']]
  rows.push(['loom, durable committed steps (sync FULL: fsync per group commit)', int(d.steps), int(d.stepsPerSecond), ''])
  rows.push([`loom run: cells confined (${d.confined.os === 'bwrap' ? 'bubblewrap' : 'no OS sandbox'}), SQLite in the launcher`, int(d.steps), int(d.confined.stepsPerSecond), ''])
  rows.push(['sqlite, one INSERT per transaction (WAL, sync NORMAL)', int(s.rows), int(s.insert), times(j.ratioToInsert)])
  rows.push(['sqlite, one UPDATE per transaction (WAL, sync NORMAL)', int(s.rows), int(s.update), times(j.ratioToUpdate)])
  rows.push(['sqlite, one INSERT per transaction (WAL, sync FULL)', int(s.fullSyncRows), int(s.insertFullSync), times(d.stepsPerSecond / s.insertFullSync)])
  rows.push(['loom, durable steps building the history below', int(h.steps), int(h.buildStepsPerSecond), ''])
  const seeks = h.seek.count < h.seek.planned
    ? `${int(h.seek.count)} of ${int(h.seek.planned)} planned seeks (stopped at the ${int(h.seekBudgetMs / 1000)} s budget)`
    : `${int(h.seek.count)} seeks`
  const early = `${h.heap.early.mb.toFixed(1)} MB at ${int(h.heap.early.events)} events`
  const late = `${h.heap.late.mb.toFixed(1)} MB at ${int(h.heap.late.events)}`
  const extra = int(h.heap.late.events - h.heap.early.events)
  return [
    `Durable log: counter sample on Loom's SQLite log; best of up to ${d.reps} fresh logs, ${int(d.warmSteps)} warm-up steps each; plain SQLite: better-sqlite3, fresh file, autocommit`,
    '',
    ...columns(rows),
    '',
    `history of ${int(h.events)} events (built with engine.run, then reopened read-only):`,
    `  log size            ${h.bytesPerEvent.toFixed(1)} bytes/event (${(h.bytesPerEvent * h.events / 2 ** 20).toFixed(1)} MB)`,
    `  seek p50/p99/max    ${h.seek.p50Ms.toFixed(2)} / ${h.seek.p99Ms.toFixed(2)} / ${h.seek.maxMs.toFixed(2)} ms over ${seeks} to seeded-random events`,
    `  seek CPU p99/max    ${h.seek.cpuP99Ms.toFixed(2)} / ${h.seek.cpuMaxMs.toFixed(2)} ms (user + system: without the waits for a core a loaded machine adds)`,
    `  seek, served p50/p99 ${h.servedSeek.p50Ms.toFixed(2)} / ${h.servedSeek.p99Ms.toFixed(2)} ms over ${int(h.servedSeek.count)} state requests to loom serve's engine process (the log read through its link)`,
    `  replay --verify     ${int(h.verifyEventsPerSecond)} events/s (hash chain + re-execution, ok)`,
    `  heap used (bundled) ${h.heap.open.mb.toFixed(1)} MB with the engine open, ${early}, ${late} (growth ${j.growth.toFixed(1)} MB${h.heap.collected ? ', after gc' : ', gc not available: noisy'})`,
    `  history's own heap  ${kb(j.own.early)} KB at ${int(h.heap.early.events)} events, ${kb(j.own.late)} KB at ${int(h.heap.late.events)}: values (heap snapshots) above the engine once it runs (${h.heap.running.mb.toFixed(1)} MB at ${int(h.heap.running.events)} events, ${h.heap.open.mb.toFixed(1)} MB as it opened)`,
    `  V8's, meanwhile     +${j.v8.early.toFixed(2)} MB at ${int(h.heap.early.events)} events, +${j.v8.late.toFixed(2)} MB at ${int(h.heap.late.events)}: code and shapes as V8 optimizes more of the engine (in the heap used above, not the history's)`,
    '',
    `target durable steps ≥ ${TARGETS.ratioToInsert}× plain SQLite's one INSERT per transaction: ${met(j.targets.ratio3x)} (${times(j.ratioToInsert)})`,
    `cost of isolation: loom run confined does ${int(d.confined.stepsPerSecond)} steps/s, ${(100 * d.confined.stepsPerSecond / d.stepsPerSecond).toFixed(0)}% of the engine in one process, ${times(d.confined.stepsPerSecond / s.insert)} plain SQLite's INSERT (${d.confined.stepsPerSecond / s.insert >= TARGETS.ratioToInsert ? 'meets' : 'BELOW'} the ${TARGETS.ratioToInsert}× target)`,
    `target seek p99 < ${TARGETS.seekP99Ms} ms at ${int(h.events)} events: ${met(j.targets.seekP99Under20ms)} (${h.seek.p99Ms.toFixed(2)} ms)`,
    `target replay --verify ≥ ${int(TARGETS.verifyEventsPerSecond)} events/s: ${met(j.targets.verify100k)} (${int(h.verifyEventsPerSecond)} events/s)`,
    `target heap flat (< ${TARGETS.heapGrowthMB} MB growth over ${extra} more events): ${met(j.targets.memoryFlat)} (${j.targets.memoryFlat ? 'flat, ' : ''}${j.growth >= 0 ? '+' : ''}${j.growth.toFixed(1)} MB)`,
  ].join('\n')
}
