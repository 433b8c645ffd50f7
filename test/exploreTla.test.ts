// What a TLA+/TLC user expects of `loom explore` (issue 18): deadlock checking
// that can be switched off, constants from the command line, progress while it
// runs, and a partial report when it is stopped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const dir = mkdtempSync(join(tmpdir(), 'loom-explore-tla-'))
const file = (name: string, cells: Record<string, string>) => {
  const path = join(dir, name)
  writeFileSync(path, notebook(cells))
  return path
}

// Counts to N (a constant, 3 unless --env N=… says otherwise) and then has nothing to do: 4 states, the last one where nothing can move.
const COUNTER = file('counter.loom.md', {
  s: `const N = Number(sys.env.get('N') ?? 3)
const n = state.var('n', 0)
export function step() {
  if (n.get() >= N) sys.abort('counted to ' + N)
  n.set(n.get() + 1)
}
test('n stays below 5', () => n.get() < 5)`,
})

test('a state where nothing can move is a deadlock whose message points at sys.halt(), and --no-deadlock does not report it', () => {
  const checked = loom(['explore', COUNTER])
  assert.equal(checked.status, 1, checked.stderr)
  assert.match(checked.stdout, /✗ deadlock after 3 transactions: every way step\(\) can go waits, and nothing outside the app can change that \(an app that is simply finished calls sys\.halt\(\); --no-deadlock/)
  const unchecked = loom(['explore', COUNTER, '--no-deadlock'])
  assert.equal(unchecked.status, 0, unchecked.stdout + unchecked.stderr)
  assert.match(unchecked.stdout, /4 states, 3 transitions, depth 3 — every reachable state .*; no violation/)
  const json = JSON.parse(loom(['explore', COUNTER, '--no-deadlock', '--json']).stdout)
  assert.deepEqual([json.states, json.violations.length, json.deadlocks], [4, 0, 1], 'the state is still counted, not reported')
  const parallel = loom(['explore', COUNTER, '--no-deadlock', '--workers', '2', '--json'])
  assert.equal(parallel.status, 0, parallel.stderr)
  assert.deepEqual(JSON.parse(parallel.stdout).violations, [])
})

test('an app that halts when it is finished is no deadlock', () => {
  const nb = file('halts.loom.md', { s: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() >= 3) return sys.halt()\n  n.set(n.get() + 1)\n}" })
  const r = loom(['explore', nb, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual([JSON.parse(r.stdout).deadlocks, JSON.parse(r.stdout).violations], [0, []])
})

test('explore --env K=V sets the constants the cells read with sys.env.get, as loom run does', () => {
  const big = JSON.parse(loom(['explore', COUNTER, '--no-deadlock', '--env', 'N=7', '--json']).stdout)
  assert.equal(big.states, 8, 'N=7: n from 0 to 7')
  assert.equal(big.violations[0].test, 'n stays below 5')
  const two = loom(['explore', COUNTER, '--no-deadlock', '--env', 'N=2', '--workers', '2', '--json'])
  assert.equal(JSON.parse(two.stdout).states, 3, two.stderr)
  const bad = loom(['explore', COUNTER, '--env', 'N'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /--env takes KEY=VALUE, got 'N'/)
})
