// The counter sample on its durable log: `loom run` confined (cells in the bwrap'd, permission-model process,
// SQLite in the launcher over the socket pair) against the same engine in one process (bench/durable.ts).
// Confined: one run of 220,001 steps; the rate is taken from the log itself — 200,000 events between the
// commit times of events 20,002 and 220,002 (after 20,000 warm steps, as bench/durable.ts warms).
// usage: node --import tsx bench-isolation/confinedRun.mjs [confined|inprocess] [--no-fsync] [env LOOM_NO_OS_SANDBOX=1]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
const REPO = resolve(import.meta.dirname, '..')
const mode = process.argv[2] ?? 'confined'
const extra = process.argv.slice(3)
const dir = mkdtempSync(join(tmpdir(), 'loom-conf-'))
try {
  if (mode === 'confined') {
    const db = join(dir, 'run.loom.db')
    const t0 = performance.now()
    execFileSync(process.execPath, [join(REPO, 'bin/loom.js'), 'run', join(REPO, 'samples/counter.loom.md'), '--db', db, '--steps', '220001', '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
    const wallMs = performance.now() - t0
    const { SqliteLog } = await import('../engine/replay/sqliteLog.ts')
    const log = SqliteLog.open(db)
    const a = log.event('main', 20_002), b = log.event('main', 220_002)
    log.close()
    console.log(JSON.stringify({ mode, extra, wallMs: Math.round(wallMs), stepsPerSecond: Math.round(200_000 / ((b.time - a.time) / 1000)) }))
  } else {
    const { durableLoom } = await import('../bench/durable.ts')
    const ms = await durableLoom(dir, 20_000, 200_000)
    console.log(JSON.stringify({ mode, stepsPerSecond: Math.round(200_000 / (ms / 1000)) }))
  }
} finally { rmSync(dir, { recursive: true, force: true }) }
