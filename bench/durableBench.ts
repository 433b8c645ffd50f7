// Measures every durable-log figure in one go, in a fresh temporary directory
// that is removed afterwards (the full run builds a 1,000,000-event history).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fastest, perSecond } from './timing.ts'
import { sqliteInserts, sqliteUpdates } from './sqlite.ts'
import { confinedLoom, durableLoom } from './durable.ts'
import { buildHistoryBundled } from './bundledHistory.ts'
import { osSandbox } from '../engine/host/osSandbox.ts'
import { bytesPerEvent, randomSeeks, verifyRate } from './history.ts'
import { settledHeapMB } from './memory.ts'
import { servedSeeks } from './servedSeeks.ts'
import { SAMPLE } from './loom.ts'
import type { DurableFigures } from './durableReport.ts'

export async function measureDurable(quick: boolean, progress: (what: string) => unknown): Promise<DurableFigures> {
  const reps = quick ? 1 : 3
  const warmSteps = 20_000
  const steps = 200_000
  const rows = quick ? 20_000 : 50_000
  const fullSyncRows = quick ? 1_000 : 3_000
  const historySteps = quick ? 100_000 : 1_000_000
  const seeks = quick ? 1_000 : 10_000
  /** Seeking stops here even if not every planned seek is done, so the run stays bounded. */
  const seekBudgetMs = quick ? 15_000 : 120_000
  const servedCount = quick ? 300 : 1_000
  const dir = mkdtempSync(tmpdir() + '/loom-bench-')
  try {
    progress(`loom on its durable log, ${steps.toLocaleString('en-US')} steps`)
    const loomMs = await fastest(() => durableLoom(dir, warmSteps, steps), { reps, budgetMs: 20_000 })
    progress(`loom run (cells confined, ${osSandbox().kind === 'bwrap' ? 'bubblewrap' : 'no OS sandbox'}), ${steps.toLocaleString('en-US')} steps`)
    const confinedMs = await fastest(() => confinedLoom(dir, warmSteps, steps), { reps, budgetMs: 30_000 })
    progress('plain sqlite, one INSERT / one UPDATE per transaction')
    const sqliteRep = { reps: quick ? 1 : 2, budgetMs: 10_000 }
    const insert = perSecond(rows, await fastest(() => sqliteInserts(dir, rows, 'NORMAL'), sqliteRep))
    const update = perSecond(rows, await fastest(() => sqliteUpdates(dir, rows), sqliteRep))
    const insertFullSync = perSecond(fullSyncRows, await fastest(() => sqliteInserts(dir, fullSyncRows, 'FULL'), sqliteRep))
    progress(`a history of ${historySteps.toLocaleString('en-US')} durable steps`)
    const { db, ...built } = await buildHistoryBundled(dir, historySteps)
    progress(`${seeks.toLocaleString('en-US')} random seeks into it`)
    // The garbage the sections before left (engines of 10,000s of steps) is collected first: else a seek's max
    // is whichever one a collection of it happens to land in, on either side (up to 2x from run to run).
    await settledHeapMB()
    const seek = randomSeeks(db, historySteps, seeks, seekBudgetMs)
    progress(`${servedCount} seeks as the window asks for them, through loom serve's engine process`)
    const servedSeek = await servedSeeks(SAMPLE, db, historySteps, servedCount)
    progress('replay --verify over all of it')
    const verifyEventsPerSecond = await verifyRate(db)
    return {
      reps,
      warmSteps,
      steps,
      stepsPerSecond: perSecond(steps, loomMs),
      confined: { stepsPerSecond: perSecond(steps, confinedMs), os: osSandbox().kind },
      sqlite: { insert, update, insertFullSync, rows, fullSyncRows },
      history: { ...built, bytesPerEvent: bytesPerEvent(db, built.events), seek, seekBudgetMs, servedSeek, verifyEventsPerSecond },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
