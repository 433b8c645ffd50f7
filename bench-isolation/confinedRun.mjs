// The counter sample on its durable log: `loom run` confined (cells in the bwrap'd, permission-model process,
// SQLite in the launcher over the socket pair) against the same engine in one process (bench/durable.ts).
// Rate = 200,000 steps / (time of a 201,000-step run - time of a 1,000-step run), each on a fresh log.
// usage: node bench-isolation/confinedRun.mjs [confined|inprocess] [--no-fsync] [env LOOM_NO_OS_SANDBOX=1]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
const REPO = resolve(import.meta.dirname, '..')
const mode = process.argv[2] ?? 'confined'
const extra = process.argv.slice(3)
const dir = mkdtempSync(join(tmpdir(), 'loom-conf-'))
let n = 0
function wall(steps) {
  const t0 = performance.now()
  execFileSync(process.execPath, [join(REPO, 'bin/loom.js'), 'run', join(REPO, 'samples/counter.loom.md'), '--db', join(dir, `r${++n}.loom.db`), '--steps', String(steps), '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  return performance.now() - t0
}
try {
  if (mode === 'confined') {
    const small = wall(1000), big = wall(201_000)
    console.log(JSON.stringify({ mode, extra, startMs: Math.round(small), stepsPerSecond: Math.round(200_000 / ((big - small) / 1000)) }))
  } else {
    const { durableLoom } = await import('../bench/durable.ts')
    const ms = await durableLoom(dir, 20_000, 200_000)
    console.log(JSON.stringify({ mode, stepsPerSecond: Math.round(200_000 / (ms / 1000)) }))
  }
} finally { rmSync(dir, { recursive: true, force: true }) }
