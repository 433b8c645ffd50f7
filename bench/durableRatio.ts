// The durable target alone (`node --import tsx bench/durableRatio.ts`): Loom's
// steps per second on its durable log against plain SQLite inserts, without
// the long-history part of npm run bench (which takes minutes).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fastest, perSecond } from './timing.ts'
import { sqliteInserts } from './sqlite.ts'
import { durableLoom } from './durable.ts'
import { TARGETS } from './durableReport.ts'

const steps = 200_000
const rows = 50_000
const dir = mkdtempSync(tmpdir() + '/loom-ratio-')
try {
  const loom = perSecond(steps, await fastest(() => durableLoom(dir, 20_000, steps), { reps: 3, budgetMs: 20_000 }))
  const insert = perSecond(rows, await fastest(() => sqliteInserts(dir, rows, 'NORMAL'), { reps: 2, budgetMs: 10_000 }))
  const ratio = loom / insert
  console.log(`durable loom ${Math.round(loom).toLocaleString('en-US')} steps/s, plain sqlite ${Math.round(insert).toLocaleString('en-US')} inserts/s: ${ratio.toFixed(2)}x (target ${TARGETS.ratioToInsert}x) ${ratio >= TARGETS.ratioToInsert ? 'ok' : 'MISSED'}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
