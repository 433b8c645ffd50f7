// `loom explore --save-branch` saves the violation a person asks for by the
// name of the test that failed, not only by its number in the report (the
// first one found is often a deadlock); a name no violation has is refused
// with the list of what was found.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

test('loom explore --save-branch --violation TEST saves the first violation of that test', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-pick-name-'))
  const nb = join(dir, 'two.loom.md')
  const db = join(dir, 'two.loom.db')
  // A deadlock is found first (after 1 move), the test only after 2.
  writeFileSync(nb, notebook({ s: "const n = state.var('n', 0)\nconst stop = state.var('stop', false)\nexport function step() {\n  if (stop.get() || n.get() >= 2) sys.abort('done')\n  if (sys.fork(2) === 1) stop.set(true)\n  else n.set(n.get() + 1)\n}\ntest('n stays below 2', () => n.get() < 2)" }))
  const report = loom('explore', nb)
  assert.match(report.stdout, /\n\[1\] ✗ deadlock after 1 transaction/)
  assert.match(report.stdout, /\n\[\d\] ✗ test 'n stays below 2' fails after 2 transactions/)

  const saved = loom('explore', nb, '--save-branch', 'small', '--violation', 'n stays below 2')
  assert.equal(saved.status, 1, saved.stderr)
  assert.match(saved.stdout, /saved violation \d of \d as branch 'small'/)
  const log = loom('log', db, '--branch', 'small')
  assert.match(log.stdout, /✗ test 'n stays below 2' failed/)

  const none = loom('explore', nb, '--save-branch', 'x', '--violation', 'no such test')
  assert.equal(none.status, 2)
  assert.match(none.stderr, /--violation 'no such test': no violation of a test named so; exploration found \d violations \(1: deadlock, \d: test 'n stays below 2'/)
  assert.doesNotMatch(none.stderr, /loom — notebooks that run/, 'not the whole help')
})
