// A state constraint (TLC's CONSTRAINT): test.constraint(name, p) — exploration
// expands only states where p holds; a state outside is found, counted and its
// tests checked, but nothing moves from it, and the report says so (exit 3).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const dir = mkdtempSync(join(tmpdir(), 'loom-constraint-'))
let files = 0
const file = (cells: Record<string, string>) => {
  const path = join(dir, `c${files++}.loom.md`)
  writeFileSync(path, notebook(cells))
  return path
}

// Two counters without end; a step adds one to either.
const counters = (constraint: string, tests = '') => file({
  s: `const n = state.var('n', 0)
const m = state.var('m', 0)
export function step() {
  if (sys.fork(2)) n.set(n.get() + 1)
  else m.set(m.get() + 1)
}
${constraint}
${tests}`,
})

test('an endless model explored within a constraint: the 9 states inside and the 6 one step outside, counted by hand; exit 3, saying what it left out', () => {
  const nb = counters("test.constraint('n and m stay below 3', () => n.get() < 3 && m.get() < 3)")
  for (const workers of ['1', '2']) {
    const r = loom(['explore', nb, '--json', '--workers', workers])
    assert.equal(r.status, 3, r.stderr)
    const report = JSON.parse(r.stdout)
    // Inside: n, m in 0..2. Outside: (3,0) (3,1) (3,2) (0,3) (1,3) (2,3). Each inside state has two transitions.
    assert.deepEqual([report.states, report.outside, report.transitions, report.exhausted, report.deadlocks], [15, 6, 18, true, 0], `--workers ${workers}`)
    assert.deepEqual(report.unexplored, ["what follows 6 states outside the constraint 'n and m stay below 3' — found and their tests checked, not expanded (test.constraint)"])
  }
  const words = loom(['explore', nb])
  assert.match(words.stdout, /15 states, 18 transitions, depth 5 — every reachable state within the constraints \(below\)/)
  assert.match(words.stdout, /did not explore: what follows 6 states outside the constraint 'n and m stay below 3'/)
})

test("a state outside the constraint still has its tests checked: the violation one step past the constraint's edge is found", () => {
  const nb = counters("test.constraint('n and m stay below 3', () => n.get() < 3 && m.get() < 3)", "test('n + m stays below 5', () => n.get() + m.get() < 5)")
  const r = loom(['explore', nb, '--json'])
  assert.equal(r.status, 1)
  const v = JSON.parse(r.stdout).violations[0]
  assert.deepEqual([v.test, v.trace.length], ['n + m stays below 5', 5])
})

test('a constraint that holds everywhere changes nothing, and loom run and loom test ignore it', () => {
  const nb = file({ s: "const n = state.var('n', 0)\nexport function step() { if (n.get() < 4) n.set(n.get() + 1); else sys.halt() }\ntest.constraint('always', () => true)" })
  const r = JSON.parse(loom(['explore', nb, '--json']).stdout)
  assert.deepEqual([r.states, r.outside, r.unexplored], [6, 0, []])
  assert.equal(loom(['test', nb, '--steps', '10']).status, 0)
})

test('a constraint that throws, or runs past its time limit, is an error at its line, and exploration goes on past that state', () => {
  const throws = counters("test.constraint('n is small', () => { if (n.get() > 1) throw new Error('too big to judge'); return true })")
  const r = loom(['explore', throws, '--json', '--max-states', '50'])
  const report = JSON.parse(r.stdout)
  assert.equal(r.status, 1, r.stderr)
  const v = report.violations[0]
  assert.equal(v.kind, 'error')
  assert.match(v.message, /too big to judge/)
  assert.equal(v.location.cell, 's')
  assert.equal(v.trace.length, 2, 'n = 2 is two steps away')
  const loops = counters("test.constraint('never decides', () => { for (;;) {} })")
  const slow = loom(['explore', loops, '--json', '--time-limit', '50'])
  assert.equal(slow.status, 1, slow.stderr)
  const s = JSON.parse(slow.stdout)
  assert.equal(s.states, 1)
  assert.match(s.violations[0].message, /ran past its time limit of 50 ms/)
})

test('test.constraint needs a name and a function', () => {
  const bad = file({ s: "const n = state.var('n', 0)\ntest.constraint('x', 3)\nexport function step() { n.set(1) }" })
  const r = loom(['explore', bad])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /test\.constraint\(name, property\): a name and a function returning true when a state is to be explored/)
})
