// A table of Loom's own missing a column it writes (one changed byte in the
// schema: attempts.data read as attempts.lata): `loom run` refuses to add to
// the log at open, saying which table and column and that the history still
// reads — it used to fail at its first aborted attempt with a stack trace
// and SQLite's "table attempts has no column named data". `loom log` and
// `loom replay --verify` read the events as before.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { notebook } from '../helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })

test('a column of attempts renamed in the schema: run refuses at open naming it, log and verify read the history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-schema-columns-'))
  const nb = join(dir, 'queue.loom.md')
  // Each step after the third aborts (an attempt is written beside the log).
  writeFileSync(nb, notebook({ c: "const n = state.var('n', 0)\nexport function step() { if (n.get() >= 3) sys.abort('full'); n.set(n.get() + 1) }" }))
  assert.equal(loom(['run', nb]).status, 0)
  const db = join(dir, 'queue.loom.db')
  const d = new Database(db)
  d.unsafeMode(true)
  d.pragma('writable_schema = ON')
  d.prepare("UPDATE sqlite_master SET sql = replace(sql, 'data TEXT', 'lata TEXT') WHERE name = 'attempts'").run()
  d.close()
  const r = loom(['run', nb])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /^loom: .*queue\.loom\.db: its table attempts has no column data \(the file is damaged, or was not written by Loom\), so Loom will not add to it — loom log and loom replay --verify still read it\n$/)
  assert.equal(loom(['log', db]).status, 0)
  assert.equal(loom(['replay', db, '--verify']).status, 0)
})
