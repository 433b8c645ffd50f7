// An event whose stored bytes are no longer JSON (a byte flipped in its
// encoding): `loom replay --verify` names the event and exits 1, and the
// confined process that re-executes events, refused the damaged read, says
// so in a line — no stack trace, which reads as Loom crashing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { notebook } from '../helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })

test('an event that is not JSON any more: verify names it and exits 1, with no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-unreadable-'))
  const nb = join(dir, 'count.loom.md')
  writeFileSync(nb, notebook({ c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }))
  assert.equal(loom(['run', nb, '--steps', '3']).status, 0)
  const db = join(dir, 'count.loom.db')
  // The first event's first byte: `{` → `#`, as a flipped bit might.
  const d = new Database(db)
  const row = d.prepare('SELECT branch, bodies FROM chunks WHERE first = 1').get() as { branch: number; bodies: string }
  assert.equal(row.bodies[0], '{')
  d.prepare('UPDATE chunks SET bodies = ? WHERE branch = ? AND first = 1').run(`#${row.bodies.slice(1)}`, row.branch)
  d.close()
  const r = loom(['replay', db, '--verify'])
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, /verify failed at event 1 \(unreadable\): event 1 of branch 'main' does not match its hash/)
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace')
  assert.doesNotMatch(r.stderr, /Error:/)
})
