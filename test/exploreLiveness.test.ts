// Liveness under weak fairness of the app's moves: test.eventually ([]<>P) and
// test.leadsTo (P ~> Q), with a lasso-shaped counterexample — a prefix and a
// cycle, or a state where nothing moves — in words and in --json.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const dir = mkdtempSync(join(tmpdir(), 'loom-liveness-'))
let files = 0
const file = (src: string) => {
  const path = join(dir, `l${files++}.loom.md`)
  writeFileSync(path, notebook({ s: src }))
  return path
}
const explored = (args: string[]) => {
  const r = loom(['explore', ...args, '--json'])
  assert.ok(r.stdout, r.stderr)
  return { status: r.status, report: JSON.parse(r.stdout) }
}
const values = (trace: { changes: { state: string; after: unknown }[] }[]) => trace.map((s) => s.changes.map((c) => `${c.state}=${JSON.stringify(c.after)}`).join(' '))

// n counts up to 3; one answer adds one, the other either does nothing (the fair twin) or, at 2, starts again from 0.
const counter = (reset: boolean) => file(`const n = state.var('n', 0)
export function step() {
  if (sys.fork(2)) {
    if (n.get() < 3) n.set(n.get() + 1)
  } else if (${reset} && n.get() === 2) n.set(0)
}
test.eventually('n reaches 3', () => n.get() === 3)`)

test('[]<>P broken by a cycle, known by hand: 0 → 1 → 2 → 0 for ever, never 3; the fair twin that can only stand still passes', () => {
  const { status, report } = explored([counter(true)])
  assert.equal(status, 1)
  assert.equal(report.violations.length, 1)
  const v = report.violations[0]
  assert.deepEqual([v.kind, v.test, v.loop], ['liveness', 'n reaches 3', 0], 'the cycle starts at the start')
  assert.deepEqual(values(v.trace), ['n=1', 'n=2', 'n=0'])
  const words = loom(['explore', counter(true)]).stdout
  assert.match(words, /✗ property 'n reaches 3' fails \(.*cell #s, line 7\)\): a fair run goes round a cycle of states where it never holds\n {2}from here on, for ever:\n {2}1\. step\(\)/)
  assert.match(words, /and back to the start, round the same cycle for ever/)
  // Standing still is no move: weak fairness does not let a run only stutter while n can grow.
  const fair = explored([counter(false)])
  assert.equal(fair.status, 0, JSON.stringify(fair.report))
  assert.deepEqual([fair.report.states, fair.report.violations], [4, []])
})

test('[]<>P broken where nothing can move: the lasso ends in that state, for ever', () => {
  const nb = file(`const n = state.var('n', 0)
export function step() {
  if (n.get() >= 2) sys.abort('done')
  n.set(n.get() + 1)
}
test.eventually('n is back at 0', () => n.get() === 0)`)
  const { report } = explored([nb, '--no-deadlock'])
  const v = report.violations[0]
  assert.deepEqual([v.kind, values(v.trace), v.loop], ['liveness', ['n=1', 'n=2'], 2])
  assert.match(loom(['explore', nb, '--no-deadlock']).stdout, /a fair run stops in a state where it does not hold: nothing can move there\n(.*\n){4} {2}then nothing can move: it stays in this state for ever/)
})

// A request waits; the server grants it unless it is busy, and "busy" can flip for ever.
const server = (servesWaiting: boolean) => file(`const req = state.var<'none' | 'waiting' | 'granted'>('req', 'none')
const busy = state.var('busy', false)
export function step() {
  switch (sys.fork(3)) {
    case 0: if (req.get() !== 'none') sys.abort('asked already'); return req.set('waiting')
    case 1: if (req.get() !== 'waiting' || busy.get()) sys.abort('cannot grant'); return req.set('granted')
    default: if (${servesWaiting} && req.get() === 'waiting' && !busy.get()) sys.abort('the server serves'); return busy.set(!busy.get())
  }
}
test.leadsTo('a request is granted', () => req.get() === 'waiting', () => req.get() === 'granted')`)

test('P ~> Q broken, known by hand: the request, then busy flips on and off for ever; the twin whose server, once free, serves a waiting request first passes', () => {
  const { status, report } = explored([server(false)])
  assert.equal(status, 1)
  const v = report.violations[0]
  assert.deepEqual([v.kind, v.test, v.loop], ['liveness', 'a request is granted', 1])
  assert.deepEqual(values(v.trace), ['req="waiting"', 'busy=true', 'busy=false'])
  assert.match(loom(['explore', server(false)]).stdout, /it held, and then a fair run goes round a cycle of states where the awaited predicate never holds\n {2}1\. step\(\)  choices: 0 of 3\n {7}req: "none" → "waiting"\n {2}from here on, for ever:\n {2}2\. step\(\)/)
  const fair = explored([server(true)])
  assert.equal(fair.status, 0, JSON.stringify(fair.report))
  assert.deepEqual(fair.report.violations, [])
})

test("EWD 840's Liveness (terminated ~> terminationDetected) holds on its 302 states; with --workers or --simulate it is said to be unchecked (exit 3)", () => {
  const one = explored(['samples/ewd840.loom.md', '--no-deadlock'])
  assert.deepEqual([one.status, one.report.states, one.report.violations], [0, 302, []])
  for (const args of [['--workers', '2'], ['--simulate', '--walks', '3']]) {
    const r = explored(['samples/ewd840.loom.md', '--no-deadlock', ...args])
    assert.equal(r.status, 3, args.join(' '))
    assert.ok(r.report.unexplored.some((u: string) => /^liveness — the test\.eventually and test\.leadsTo properties were not checked: /.test(u)), r.report.unexplored.join('\n'))
  }
})

test('a run that leaves the region a constraint explores is no counterexample: only what stays inside counts', () => {
  const nb = file(`const n = state.var('n', 0)
export function step() {
  if (sys.fork(2)) n.set(n.get() + 1)
  else if (n.get() === 1) n.set(0)
}
test.constraint('n stays below 3', () => n.get() < 3)
test.eventually('n reaches 100', () => n.get() === 100)`)
  // Inside: 0 ⇄ 1 for ever never reaches 100 — a real cycle; the runs that climb past 2 leave the region.
  const { status, report } = explored([nb])
  assert.equal(status, 1)
  const v = report.violations[0]
  assert.deepEqual([v.kind, values(v.trace), v.loop], ['liveness', ['n=1', 'n=0'], 0])
  const climbs = explored([file(`const n = state.var('n', 0)
export function step() { n.set(n.get() + 1) }
test.constraint('n stays below 3', () => n.get() < 3)
test.eventually('n reaches 100', () => n.get() === 100)`)])
  assert.equal(climbs.status, 3, 'no violation: the one run leaves the region, which is said')
  assert.deepEqual([climbs.report.violations, climbs.report.outside], [[], 1])
})

test('a lasso saved as a branch replays: the prefix and one round of the cycle are real events', () => {
  const db = join(dir, 'lasso.loom.db')
  const r = loom(['explore', server(false), '--save-branch', 'starved', '--db', db])
  assert.match(r.stdout, /saved violation 1 of 1 as branch 'starved'/)
  const verify = loom(['replay', db, '--branch', 'starved', '--verify'])
  assert.equal(verify.status, 0, verify.stdout + verify.stderr)
})

test('a property whose predicate throws or writes state is an error at its line, and is not judged besides', () => {
  const nb = file(`const n = state.var('n', 0)
export function step() { n.set((n.get() + 1) % 4) }
test.eventually('writes', () => { n.set(1); return true })
test.leadsTo('throws', () => true, () => { if (n.get() === 2) throw new Error('boom'); return false })`)
  const { status, report } = explored([nb])
  assert.equal(status, 1)
  assert.deepEqual(report.violations.map((v: { kind: string; test: string; message: string; location: { line: number } }) => [v.kind, v.test, v.message, v.location.line]), [
    ['error', "property 'writes' runs without an error", "a test cannot change state (it wrote 'n')", 3],
    ['error', "property 'throws' (its second predicate) runs without an error", 'boom', 4],
  ])
  assert.match(loom(['explore', nb]).stdout, /✗ property 'throws' \(its second predicate\) fails after 2 transactions \(.*cell #s, line 4\)\): boom/)
})

test('liveness is refused where it cannot be checked: with symmetry, or a property that is not a function', () => {
  const sym = file(`const v = state.var('v', 'a')
test.symmetric('names', ['a', 'b'])
test.eventually('v is b', () => v.get() === 'b')
export function step() { v.set('b') }`)
  const r = loom(['explore', sym])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /liveness properties \(test\.eventually, test\.leadsTo\) are not checked under symmetry/)
  const bad = loom(['explore', file(`const v = state.var('v', 0)\ntest.leadsTo('x', () => true, 3)\nexport function step() { v.set(1) }`)])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /test\.leadsTo\(name, p, q\): two functions/)
})
