// A notebook whose log holds acknowledged events that can no longer be read:
// three steps run for real, then the file's first page overwritten, as a disk
// might (SQLite no longer reads it as a database, and its heads file records
// events the log no longer has).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { notebook } from './helpers.ts'

export function damagedCounterLog(prefix: string): { dir: string; nb: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const nb = join(dir, 'count.loom.md')
  writeFileSync(nb, notebook({ c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }))
  const run = spawnSync(process.execPath, ['bin/loom.js', 'run', nb, '--steps', '3'], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  const db = join(dir, 'count.loom.db')
  const bytes = readFileSync(db)
  bytes.fill(0x5a, 0, 100)
  writeFileSync(db, bytes)
  return { dir, nb, db }
}
