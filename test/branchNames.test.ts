// Renaming and deleting branches from the command line: a rename is a label
// (the stored name is in every event's hash), a delete archives and never
// erases what was acknowledged.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { openSession } from '../engine/replay/session.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-branch-names-'))
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const COUNTER = { c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }

async function history(): Promise<string> {
  const nb = join(dir, 'counter.loom.md')
  writeFileSync(nb, notebook(COUNTER))
  const db = join(dir, `counter-${Date.now()}-${Math.random().toString(36).slice(2)}.loom.db`)
  const s = await openSession(nb, { db })
  await s.engine.run({ steps: 8 })
  s.log.close()
  assert.equal(loom(['fork', db, '--at', '4', '--name', 'try']).status, 0)
  assert.equal(loom(['fork', db, '--at', '2', '--from', 'try', '--name', 'inner']).status, 0)
  return db
}

const names = (db: string) => (JSON.parse(loom(['branches', db, '--json']).stdout) as { name: string; label?: string }[]).map((b) => b.label ?? b.name)

test('loom branch --rename shows a branch under its new name everywhere a name is typed, and the log still verifies', async () => {
  const db = await history()
  const r = loom(['branch', db, '--rename', 'main', 'trunk', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { name: 'main', label: 'trunk' })
  assert.deepEqual(names(db), ['trunk', 'try', 'inner'])
  const text = loom(['branches', db]).stdout
  assert.match(text, /\* trunk {2}9 events \(stored as 'main'\)/)
  assert.match(text, /try {2}4 events, forked from 'trunk' at 4/)
  // The new name reads the same history; the chain is unchanged, so verify passes.
  assert.equal(JSON.parse(loom(['state', db, '--branch', 'trunk', '--at', '5', '--json']).stdout).n, 4)
  assert.equal(loom(['replay', db, '--verify', '--branch', 'trunk']).status, 0)
  // A name in use is refused; renaming back to the stored name drops the label.
  const taken = loom(['branch', db, '--rename', 'trunk', 'try'])
  assert.equal(taken.status, 2)
  assert.match(taken.stderr, /branch 'try' already exists/)
  assert.equal(loom(['branch', db, '--rename', 'trunk', 'main']).status, 0)
  assert.deepEqual(names(db), ['main', 'try', 'inner'])
})

test('loom branch --delete archives: refused for the live branch and a parent, the events stay verified, --restore brings it back', async () => {
  const db = await history()
  const live = loom(['branch', db, '--delete', 'main'])
  assert.equal(live.status, 2)
  assert.match(live.stderr, /branch 'main' is the live branch; promote another first/)
  const parent = loom(['branch', db, '--delete', 'try'])
  assert.equal(parent.status, 2)
  assert.match(parent.stderr, /branch 'try' has branches forked from it \(inner\); delete those first/)

  const del = loom(['branch', db, '--delete', 'inner', '--json'])
  assert.equal(del.status, 0, del.stderr)
  assert.deepEqual(JSON.parse(del.stdout), { deleted: 'inner', name: 'inner', archived: true, events: 0 })
  const words = loom(['branch', db, '--delete', 'try'])
  assert.equal(words.status, 0, words.stderr)
  assert.match(words.stdout, /deleted branch 'try': archived, not erased — it has no events of its own; loom branches .* --restore try brings it back/)
  assert.deepEqual(names(db), ['main'])
  assert.match(loom(['branches', db]).stdout, /archived: try, inner; --restore NAME brings one back/)
  // Nothing acknowledged is gone: the archived branch still reads and verifies.
  assert.equal(JSON.parse(loom(['state', db, '--branch', 'try', '--json']).stdout).n, 3)
  assert.equal(loom(['replay', db, '--verify', '--branch', 'try']).status, 0)
  assert.equal(loom(['branch', db, '--restore', 'try']).status, 0)
  assert.deepEqual(names(db), ['main', 'try'])
  const again = loom(['branch', db, '--restore', 'try'])
  assert.equal(again.status, 2)
  assert.match(again.stderr, /branch 'try' is not deleted; there is nothing to restore/)
})

test('loom branches says "1 event" of a branch forked at its first event, not "1 events"', async () => {
  const db = await history()
  assert.equal(loom(['fork', db, '--at', '1', '--name', 'first']).status, 0)
  const text = loom(['branches', db]).stdout
  assert.match(text, /first {2}1 event, forked from 'main' at 1\n/)
  assert.match(text, /main {2}9 events\n/)
})
