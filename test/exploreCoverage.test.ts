// `loom explore --coverage`: which lines of each cell exploration ran —
// statements that never ran are named by cell and line, in words and in --json.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const dir = mkdtempSync(join(tmpdir(), 'loom-coverage-'))
const NB = join(dir, 'branches.loom.md')
// n goes 0 → 1 → 2 and stays; the branch for 5 never runs, nor the throw, nor the else on line 4 of #step.
writeFileSync(NB, notebook({
  state: `const n = state.var('n', 0)`,
  step: `export function step() {
  const c = sys.fork(2)
  if (c === 0) n.set(Math.min(n.get() + 1, 2))
  else if (n.get() === 5) n.set(0)
  if (n.get() > 9) {
    throw new Error('unreachable')
  }
}`,
  tests: `test('n stays below 3', () => {
  if (n.get() < 3) return true
  return false
})`,
}))

test('--coverage names the lines exploration never ran, per cell, and a branch on a line that never ran; --json has the same', () => {
  const r = loom(['explore', NB, '--coverage'])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^coverage: 6 of 9 lines with statements ran \(66%\)$/m)
  assert.match(r.stdout, /^ {2}#state: 1\/1$/m)
  assert.match(r.stdout, /^ {2}#step: 3\/5 — never ran: line 6; partly \(a statement on it never ran\): line 4$/m)
  assert.match(r.stdout, /^ {2}#tests: 2\/3 — never ran: line 3$/m)
  const json = JSON.parse(loom(['explore', NB, '--coverage', '--json']).stdout)
  assert.deepEqual(json.coverage, [
    { cell: 'state', lines: 1, run: 1, missed: [], partly: [] },
    { cell: 'step', lines: 5, run: 3, missed: [6], partly: [4] },
    { cell: 'tests', lines: 3, run: 2, missed: [3], partly: [] },
  ])
  assert.deepEqual([json.states, json.transitions], [3, 6], 'the instrumented code explores the same states')
  assert.equal(JSON.parse(loom(['explore', NB, '--json']).stdout).coverage, undefined, 'only when asked for')
})

test('every line runs once a test looks past the bound: 100%, and a trace found with --coverage saves and replays with the app\'s own code', () => {
  const nb = join(dir, 'full.loom.md')
  writeFileSync(nb, notebook({ s: "const n = state.var('n', 0)\nexport function step() {\n  n.set(n.get() + 1)\n}\ntest('n stays below 2', () => n.get() < 2)" }))
  const db = join(dir, 'full.loom.db')
  // The counter never ends: a depth bound keeps the search to the few states the test needs (a million otherwise).
  const r = loom(['explore', nb, '--coverage', '--depth', '4', '--save-branch', 'two', '--db', db])
  assert.equal(r.status, 1)
  assert.match(r.stdout, /^coverage: 3 of 3 lines with statements ran \(100%\)$/m)
  assert.doesNotMatch(r.stdout, /never ran/)
  assert.equal(loom(['replay', db, '--branch', 'two', '--verify']).status, 0)
})

test('--coverage counts on one thread: with --workers or --tree it says so', () => {
  for (const extra of [['--workers', '2'], ['--tree']]) {
    const r = loom(['explore', NB, '--coverage', ...extra])
    assert.equal(r.status, 2)
    assert.match(r.stderr, new RegExp(`--coverage counts the lines exploration runs on one thread: leave out ${extra[0]}`))
  }
})
