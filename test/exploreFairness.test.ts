// Weak fairness per move (test.fair, TLA+'s WF_vars(A)): a cycle that keeps a
// fair move possible in every state and never takes it is no fair run, so a
// liveness property broken only by such a cycle holds once the move is
// declared fair; a cycle that passes a state where the move is not possible
// stays a counterexample. Known by hand on four states.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const dir = mkdtempSync(join(tmpdir(), 'loom-fairness-'))
let files = 0
const file = (src: string) => {
  const path = join(dir, `f${files++}.loom.md`)
  writeFileSync(path, notebook({ s: src }))
  return path
}
const explored = (nb: string, ...args: string[]) => {
  const r = loom(['explore', nb, '--no-deadlock', ...args, '--json'])
  assert.ok(r.stdout, r.stderr)
  return { status: r.status, report: JSON.parse(r.stdout) }
}
const values = (trace: { changes: { state: string; after: unknown }[] }[]) => trace.map((s) => s.changes.map((c) => `${c.state}=${JSON.stringify(c.after)}`).join(' '))

// pos wanders 0 ↔ 1 (answer 0) until a step finishes (answer 1): four states, and `finishOnlyAt1` makes finishing impossible at 0.
const wanderer = (fair: string, finishOnlyAt1 = false) => file(`const pos = state.var('pos', 0)
const done = state.var('done', false)
export function step() {
  if (done.get()) sys.abort('finished')
  if (sys.fork(2) === 0) pos.set(1 - pos.get())
  else if (${!finishOnlyAt1} || pos.get() === 1) done.set(true)
  else sys.abort('finishes only at 1')
}
test.eventually('it finishes', () => done.get())
${fair}`)

test('a property broken only by a cycle that never takes a possible move fails under fairness of the step, and holds once that move is declared fair', () => {
  const unfair = explored(wanderer(''))
  assert.equal(unfair.status, 1)
  const v = unfair.report.violations[0]
  assert.deepEqual([v.kind, v.test, v.loop], ['liveness', 'it finishes', 0])
  assert.deepEqual(values(v.trace), ['pos=1', 'pos=0'], 'round 0 → 1 → 0 for ever, never finishing')
  const fair = explored(wanderer("test.fair('finishing', 'step', [1])"))
  assert.equal(fair.status, 0, JSON.stringify(fair.report.violations))
  assert.deepEqual([fair.report.states, fair.report.violations], [4, []])
})

test('a fair move that is not possible in some state of the cycle need not be taken: the lasso still fails, through that state', () => {
  const { status, report } = explored(wanderer("test.fair('finishing', 'step', [1])", true))
  assert.equal(status, 1)
  assert.equal(report.states, 3)
  const v = report.violations[0]
  assert.deepEqual([v.kind, v.loop], ['liveness', 0])
  assert.deepEqual(values(v.trace), ['pos=1', 'pos=0'], 'the cycle passes pos=0, where finishing is not possible')
})

test('the lasso shown is a fair run: it takes a fair move that every state of its cycle keeps possible', () => {
  // Three states, never 3: answer 0 goes 0 ↔ 1 (and 2 → 0), answer 1 goes to 2 (and 2 → 1), so answer 1 is possible everywhere.
  const ring = (fair: string) => file(`const at = state.var('at', 0)
export function step() {
  const a = at.get()
  if (sys.fork(2) === 0) at.set(a === 0 ? 1 : 0)
  else at.set(a === 2 ? 1 : 2)
}
test.eventually('at reaches 3', () => at.get() === 3)
${fair}`)
  const plain = explored(ring('')).report.violations[0]
  assert.deepEqual([plain.loop, values(plain.trace)], [0, ['at=1', 'at=0']], 'fair to the step alone: 0 → 1 → 0 for ever')
  const v = explored(ring("test.fair('to 2', 'step', [1])")).report.violations[0]
  assert.equal(v.loop, 0)
  assert.ok(v.trace.some((m: { choices: { value: number }[] }) => m.choices[0]?.value === 1), `the cycle takes answer 1: ${JSON.stringify(values(v.trace))}`)
  assert.equal(values(v.trace).at(-1), 'at=0', 'and comes back to the start')
})

test('a fair move naming no method is refused at its line; one naming answers no state has is an error at its line; with symmetry it is refused', () => {
  const noMethod = loom(['explore', wanderer("test.fair('finishing', 'stpe', [1])")])
  assert.equal(noMethod.status, 2)
  assert.match(noMethod.stderr, /cell #s, line 10\): test\.fair\('finishing', 'stpe', …\): the notebook has no stpe\(\) for a fair run to take; its moves are step\(\)/)
  const badChoices = loom(['explore', wanderer("test.fair('finishing', 'step', 'one')")])
  assert.equal(badChoices.status, 2)
  assert.match(badChoices.stderr, /line 10\): test\.fair\(name, method, choices\?\)/)
  const { status, report } = explored(wanderer("test.fair('finishing', 'step', [5])"))
  assert.equal(status, 1)
  const e = report.violations.find((x: { test: string }) => x.test === "fair move 'finishing' is a move of the app")
  assert.ok(e, JSON.stringify(report.violations))
  assert.match(e.message, /no state explored has a move step\(\) whose first sys\.fork answer is 5/)
  assert.equal(e.location.line, 10)
  const sym = loom(['explore', file(`const p = state.var('p', 'a')
export function step() { p.set(sys.fork(2) ? 'a' : 'b') }
test.symmetric('P', ['a', 'b'])
test.fair('moving', 'step')`), '--no-deadlock'])
  assert.equal(sym.status, 2)
  assert.match(sym.stderr, /line 4\): test\.fair\('moving', …\): fairness is judged on cycles of states, and under test\.symmetric\('P', …\) exploration finds cycles of orbits/)
})

test('with --workers fairness is not judged, and the report says liveness was not checked', () => {
  const r = loom(['explore', wanderer("test.fair('finishing', 'step', [1])"), '--no-deadlock', '--workers', '2'])
  assert.equal(r.status, 3)
  assert.match(r.stdout, /did not explore: liveness — .* were not checked: they are checked on one thread/)
})
