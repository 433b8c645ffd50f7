// The durable target alone (`node --import tsx bench/durableRatio.ts`): Loom's
// steps per second on its durable log — in one process, and through `loom run`
// with the cells confined — against plain SQLite inserts, without the
// long-history part of npm run bench (which takes minutes). `--reps N`: timed
// runs of each (the fastest counts); `--json`: the figures as JSON.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fastest, perSecond } from './timing.ts'
import { sqliteInserts } from './sqlite.ts'
import { confinedLoom, durableLoom } from './durable.ts'
import { TARGETS } from './durableReport.ts'

const args = process.argv.slice(2)
const reps = Math.max(1, Number(args[args.indexOf('--reps') + 1]) || 3)
const steps = 200_000
const rows = 50_000
const dir = mkdtempSync(tmpdir() + '/loom-ratio-')
try {
  const loom = perSecond(steps, await fastest(() => durableLoom(dir, 20_000, steps), { reps, budgetMs: 20_000 }))
  const confined = perSecond(steps, await fastest(() => confinedLoom(dir, 20_000, steps), { reps, budgetMs: 30_000 }))
  const insert = perSecond(rows, await fastest(() => sqliteInserts(dir, rows, 'NORMAL'), { reps: 2, budgetMs: 10_000 }))
  const verdict = (r: number) => `${r.toFixed(2)}x (target ${TARGETS.ratioToInsert}x) ${r >= TARGETS.ratioToInsert ? 'ok' : 'MISSED'}`
  if (args.includes('--json')) console.log(JSON.stringify({ inProcess: Math.round(loom), confined: Math.round(confined), insert: Math.round(insert), ratio: loom / insert, confinedRatio: confined / insert }))
  else {
    const int = (n: number) => Math.round(n).toLocaleString('en-US')
    console.log(`plain sqlite ${int(insert)} inserts/s`)
    console.log(`durable loom, one process: ${int(loom)} steps/s, ${verdict(loom / insert)}`)
    console.log(`durable loom run, confined: ${int(confined)} steps/s, ${verdict(confined / insert)} (${((100 * confined) / loom).toFixed(0)}% of one process)`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
