import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { choiceTree } from '../engine/replay/choiceTree.ts'
import { saveTrace, describeTrace } from '../engine/replay/trace.ts'
import { exploreParallel } from '../engine/replay/exploreParallel.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { notebook, plain } from './helpers.ts'
import { philosophersBfs } from '../bench/philosophersBfs.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const model = (cells: Record<string, string>) => Model.create(notebook(cells), { path: 'test.loom.md' })

// Two workers take two locks in opposite orders: p takes A then B, q takes B
// then A; each releases both, and the app halts when both are done.
// Counted by hand as pairs of program counters (0 nothing held, 1 first lock,
// 2 both, 3 done), the locks following from them:
//   (0,0) (1,0) (0,1) (1,1) (2,0) (0,2) (3,0) (0,3) (3,1) (1,3) (3,2) (2,3) (3,3)
// and (3,3) halted: 14 states. (1,1) is a deadlock — p holds A and waits for
// B, q holds B and waits for A — two transactions from the start.
const LOCKS = {
  state: `
const A = state.var<string | null>('A', null)
const B = state.var<string | null>('B', null)
const pc = state.map<number>('pc', { p: 0, q: 0 })
const order = { p: [A, B], q: [B, A] }`,
  step: `
export function step() {
  if (pc.get('p') === 3 && pc.get('q') === 3) return sys.halt()
  const who = ['p', 'q'][sys.fork(2)]!
  const at = pc.get(who)!
  if (at === 3) sys.abort(who + ' is done')
  if (at === 2) {
    A.set(null)
    B.set(null)
  } else {
    const lock = order[who as 'p' | 'q'][at]!
    if (lock.get() !== null) sys.abort(who + ' waits for a lock')
    lock.set(who)
  }
  pc.set(who, at + 1)
}`,
}

test('exploration finds exactly the states counted by hand, and the deadlock two transactions in', async () => {
  const r = explore(await model(LOCKS))
  assert.equal(r.states, 14)
  assert.equal(r.depth, 7, 'six moves to (3,3), then the halt')
  assert.equal(r.exhausted, true)
  assert.equal(r.stoppedBy, null)
  assert.equal(r.deadlocks, 1)
  assert.equal(r.violations.length, 1)
  const [deadlock] = r.violations
  assert.equal(deadlock!.kind, 'deadlock')
  assert.equal(deadlock!.trace.length, 2)
  assert.deepEqual(deadlock!.trace.map((m) => m.choices.map((c) => c.value)).sort(), [[0], [1]], 'one move each, in either order')
})

test('the ticket race: 14 states by hand, the double sale four transactions long; the fixed twin has 12 and none', async () => {
  // Each customer is browsing, saw a free ticket, has a ticket or left; `sold` is 0, 1 or 2.
  // Race: (B,B,0) (S,B,0) (B,S,0) (S,S,0) (H,B,1) (B,H,1) (H,S,1) (S,H,1) (H,L,1) (L,H,1) (H,H,2),
  // and the last three halted: 14. Fixed: the same without (H,H,2) and its halted twin: 12.
  const race = explore(await Model.create(readFileSync('samples/tickets-race.loom.md', 'utf8'), { path: 'tickets-race.loom.md' }))
  assert.equal(race.states, 14)
  assert.equal(race.exhausted, true)
  assert.equal(race.violations.length, 1)
  assert.equal(race.violations[0]!.test, 'no ticket is sold twice')
  assert.equal(race.violations[0]!.trace.length, 4, 'look, look, buy, buy')
  const fixed = explore(await Model.create(readFileSync('samples/tickets.loom.md', 'utf8'), { path: 'tickets.loom.md' }))
  assert.equal(fixed.states, 12)
  assert.equal(fixed.transitions, 14)
  assert.equal(fixed.exhausted, true)
  assert.deepEqual(fixed.violations, [])
})

test('a failing test in the starting state is reported with an empty trace; a throwing step is an error with the failing move', async () => {
  const r = explore(await model({
    state: `const n = state.var('n', 0)`,
    step: `export function step() {
  const k = sys.fork(3)
  if (n.get() === 1 && k === 2) throw new Error('two after one')
  if (k === 0) n.set(n.get() + 1)
  if (n.get() > 2) sys.halt()
}`,
    tests: `test('n is small', () => n.get() < 3)
test('never true', () => false)`,
  }))
  const byTest = Object.fromEntries(r.violations.map((v) => [v.test, v]))
  assert.equal(byTest['never true']!.trace.length, 0)
  assert.equal(byTest['n is small']!.trace.length, 3)
  const error = byTest['step() runs without an error']!
  assert.equal(error.kind, 'error')
  assert.match(error.message, /step\(\) throws: two after one/)
  assert.equal(error.location?.cell, 'step')
  assert.equal(error.trace.length, 1)
  assert.deepEqual(error.failing!.choices.map((c) => c.value), [2])
})

test('a depth bound and a state bound stop the search and say so', async () => {
  const counter = { state: `const n = state.var('n', 0)`, step: `export function step() { n.set(n.get() + sys.fork(2) + 1) }` }
  const deep = explore(await model(counter), { depth: 5 })
  assert.equal(deep.exhausted, false)
  assert.equal(deep.stoppedBy, 'depth')
  assert.equal(deep.depth, 5)
  // n reaches 0..10 in five moves of +1 or +2.
  assert.equal(deep.states, 11)
  const wide = explore(await model(counter), { maxStates: 7 })
  assert.equal(wide.exhausted, false)
  assert.equal(wide.stoppedBy, 'states')
  assert.equal(wide.states, 7)
})

test('an app with infinite state is explored up to the bound without running out of memory', async () => {
  // Every step adds a new key: no two states are ever equal.
  const m = await model({
    state: `const seen = state.map<number>('seen')\nconst n = state.counter('n')`,
    step: `export function step() { const k = n.get(); seen.set('k' + (k % 50), k); n.add(1 + sys.fork(2)) }`,
  })
  const before = process.memoryUsage().heapUsed
  const r = explore(m, { maxStates: 100_000 })
  assert.equal(r.states, 100_000)
  assert.equal(r.stoppedBy, 'states')
  const grown = (process.memoryUsage().heapUsed - before) / 2 ** 20
  assert.ok(grown < 400, `heap grew ${grown.toFixed(0)} MiB for 100,000 states`)
})

test('the choice tree of one transaction groups equal outcomes, bag.take included', async () => {
  const m = await model({
    state: `const tasks = state.bag<string>('tasks', ['a', 'b', 'c'])\nconst done = state.var<string[]>('done', [])`,
    step: `export function step() {
  const t = tasks.take()
  if (sys.fork(2) === 1 && t === 'c') sys.abort('c is not ready')
  done.set([...done.get(), t])
}`,
    tests: `test('a goes first', () => done.get().length === 0 || done.get()[0] === 'a')`,
  })
  const t = choiceTree(m)
  assert.equal(t.complete, true)
  assert.equal(t.sequences, 6, 'three items times two answers')
  assert.equal(t.outcomes.length, 4, 'a, b, c, and c waiting')
  const byDone = Object.fromEntries(t.outcomes.map((o) => [o.committed ? plain(o.changes.find((c) => c.state === 'done')!.after as string[]).join() : 'wait', o]))
  assert.deepEqual(byDone.a!.choices.map((cs) => cs.map((c) => c.value)), [[0, 0], [0, 1]])
  assert.deepEqual(byDone.b!.brokenTests.map((b) => b.test), ['a goes first'])
  assert.match(byDone.wait!.failure!.reason, /c is not ready/)
  assert.equal(byDone.wait!.failure!.aborted, true)
})

test('a counterexample saved as a branch replays, verifies, and its test fails at its last event', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-'))
  const text = readFileSync('samples/tickets-race.loom.md', 'utf8')
  const m = await Model.create(text, { path: 'tickets-race.loom.md' })
  const v = explore(m).violations[0]!
  const log = SqliteLog.open(join(dir, 'race.loom.db'))
  try {
    const info = await saveTrace(text, { path: 'tickets-race.loom.md' }, v.trace, log, 'race')
    assert.equal(info.head, 5, 'the code event and four steps')
    const events = log.eventsOf('race')
    assert.deepEqual(events.map((e) => e.kind), ['code', 'step', 'step', 'step', 'step'])
    assert.deepEqual(events.slice(1).map((e) => e.choices), v.trace.map((mv) => mv.choices))
    assert.equal((await verifyBranch(log, 'race')).ok, true)
    const at = async (seq: number) => (await Model.create(text, { path: 'tickets-race.loom.md', from: { log, branch: 'race', seq } }))
    const last = await at(5)
    const broken = (mm: Model) => mm.exec.sandbox.run(() => mm.brokenTests(mm.root), 1000)
    assert.deepEqual(plain(broken(last)), { ok: true, value: [{ test: 'no ticket is sold twice', message: 'returned false', location: v.location }] })
    assert.deepEqual(plain(broken(await at(4))), { ok: true, value: [] })
    assert.equal(last.codeChanged, false, 'the saved code is the notebook’s')
    await assert.rejects(saveTrace(text, { path: 'tickets-race.loom.md' }, v.trace, log, 'race'), /already has a branch 'race'/)
  } finally {
    log.close()
  }
})

test('loom explore --save-branch --violation K saves the violation the person picks, as numbered in the report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-pick-'))
  const nb = join(dir, 'two.loom.md')
  writeFileSync(nb, notebook({ s: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() >= 2) sys.abort('nothing left to do')\n  n.set(n.get() + 2 - 1)\n}\ntest('n stays below 2', () => n.get() < 2)" }))
  const text = loom(['explore', nb])
  assert.match(text.stdout, /\n\[1\] ✗ test 'n stays below 2' fails after 2 transactions/)
  assert.match(text.stdout, /\n\[2\] ✗ deadlock after 2 transactions/)
  const picked = loom(['explore', nb, '--save-branch', 'stuck', '--violation', '2', '--json'])
  assert.equal(picked.status, 1, picked.stderr)
  assert.equal(JSON.parse(picked.stdout).savedBranch.violation, 2)
  const words = loom(['explore', nb, '--save-branch', 'stuck-2', '--violation', '2'])
  assert.match(words.stdout, /saved violation 2 of 2 as branch 'stuck-2'/)
  const none = loom(['explore', nb, '--save-branch', 'x', '--violation', '3'])
  assert.equal(none.status, 2)
  assert.match(none.stderr, /--violation 3: exploration found 2 violations \(1\.\.2\)/)
})

test('loom explore: exit 1 with the trace in words, --json, --save-branch, and exploring from a moment of a log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-cli-'))
  const nb = join(dir, 'tickets-race.loom.md')
  copyFileSync('samples/tickets-race.loom.md', nb)
  const text = loom(['explore', nb])
  assert.equal(text.status, 1, text.stderr)
  assert.match(text.stdout, /14 states, 15 transitions, depth 5 — every reachable state/)
  assert.match(text.stdout, /✗ test 'no ticket is sold twice' fails after 4 transactions \(.*\(cell #step, line 17\)\): returned false/)
  assert.match(text.stdout, /4\. step\(\) {2}choices: 1 of 2\n {7}sold: 1 → 2/)

  const json = loom(['explore', nb, '--json', '--save-branch', 'race'])
  assert.equal(json.status, 1, json.stderr)
  const report = JSON.parse(json.stdout)
  assert.equal(report.states, 14)
  assert.equal(report.exhausted, true)
  assert.equal(report.violations[0].trace.length, 4)
  assert.deepEqual(report.savedBranch, { branch: 'race', db: join(dir, 'tickets-race.loom.db'), events: [1, 5], violation: 1 })
  const verify = loom(['replay', join(dir, 'tickets-race.loom.db'), '--branch', 'race', '--verify'])
  assert.equal(verify.status, 0, verify.stdout + verify.stderr)

  // A history where Ann has looked: from there, 11 states are left and the race is three moves away.
  const fixedNb = join(dir, 'tickets.loom.md')
  writeFileSync(fixedNb, readFileSync('samples/tickets.loom.md', 'utf8'))
  const run = loom(['run', nb, '--steps', '1'])
  assert.equal(run.status, 0, run.stderr)
  const from = loom(['explore', nb, '--from', join(dir, 'tickets-race.loom.db'), '--at', '2', '--json'])
  const r = JSON.parse(from.stdout)
  assert.equal(from.status, 1)
  assert.equal(r.violations[0].trace.length, 3)

  const bad = loom(['explore', nb, '--from', join(dir, 'tickets-race.loom.db'), '--at', '99'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /there is no event 99 to explore from/)
  const noLog = loom(['explore', nb, '--at', '2'])
  assert.equal(noLog.status, 2)
  assert.match(noLog.stderr, /give the log with --from DB/)
  const noThreads = loom(['explore', nb, '--workers', '0'])
  assert.equal(noThreads.status, 2)
  assert.match(noThreads.stderr, /--workers 0: give the number of threads to explore on, 1 or more/)
  const clean = loom(['explore', fixedNb])
  assert.equal(clean.status, 0)
  assert.match(clean.stdout, /12 states, 14 transitions, depth 4 — every reachable state .*; no violation/)
  // The search runs in a confined process: what it cannot load is still bad input (exit 2), said as before.
  const broken = join(dir, 'broken.loom.md')
  writeFileSync(broken, readFileSync(nb, 'utf8').replace("export function step() {", "export function step() { this is not code"))
  for (const workers of ['1', '2']) {
    const notCode = loom(['explore', broken, '--workers', workers])
    assert.equal(notCode.status, 2, notCode.stderr)
    assert.match(notCode.stderr, /broken\.loom\.md:\d+ \(cell #step, line 1\): /)
  }
  // Two threads of that process find what one does, and save it alike.
  const two = loom(['explore', nb, '--workers', '2', '--save-branch', 'race-2', '--json'])
  assert.equal(two.status, 1, two.stderr)
  const twoReport = JSON.parse(two.stdout)
  assert.deepEqual([twoReport.states, twoReport.violations[0].trace.length, twoReport.savedBranch.branch], [14, 4, 'race-2'])
  assert.equal(loom(['replay', join(dir, 'tickets-race.loom.db'), '--branch', 'race-2', '--verify']).status, 0)
})

test('on the philosophers sample, exploration counts exactly the states and transitions of a hand-written search of the same model', async () => {
  const sample = readFileSync('samples/philosophers.loom.md', 'utf8')
  for (const n of [3, 4]) {
    const m = await Model.create(sample.replace('const N = 5', `const N = ${n}`), { path: 'philosophers.loom.md' })
    const r = explore(m, { depth: 12 })
    const hand = philosophersBfs(n, Infinity, 12)
    assert.deepEqual({ states: r.states, transitions: r.transitions, depth: r.depth }, hand, `${n} philosophers`)
    assert.deepEqual(r.violations, [])
  }
})

test('exploration split over two or three threads finds the same states, transitions and shortest traces as one', async () => {
  const sample = readFileSync('samples/philosophers.loom.md', 'utf8').replace('const N = 5', 'const N = 4')
  const cases: [string, string, { depth?: number; maxStates?: number }][] = [
    ['philosophers.loom.md', sample, { depth: 10 }],
    ['tickets-race.loom.md', readFileSync('samples/tickets-race.loom.md', 'utf8'), {}],
    ['locks.loom.md', notebook(LOCKS), {}],
  ]
  for (const [path, text, bounds] of cases) {
    const one = explore(await Model.create(text, { path }), bounds)
    // The threads take part from the first level on however small the search (by default they join in only at a wide level).
    const two = await exploreParallel(text, { path, workers: 2, joinAt: 0, waitToJoin: true, ...bounds })
    const summary = (r: typeof one) => ({
      states: r.states, transitions: r.transitions, depth: r.depth, exhausted: r.exhausted, deadlocks: r.deadlocks,
      violations: r.violations.map((v) => [v.kind, v.test, v.trace.length]),
    })
    assert.deepEqual(summary(two), summary(one), path)
    // Three threads: each pair keeps its own tables of the values it has moved to even out a level.
    assert.deepEqual(summary(await exploreParallel(text, { path, workers: 3, joinAt: 0, waitToJoin: true, ...bounds })), summary(one), `${path}, three threads`)
    // Each trace from the threads really leads there: replayed, it ends in the violation.
    for (const v of two.violations.filter((x) => x.kind === 'test')) {
      const m = await Model.create(text, { path })
      const { end } = describeTrace(m, v.trace)
      const broken = m.exec.sandbox.run(() => m.brokenTests(end), 1000)
      assert.ok(broken.ok && broken.value.some((b) => b.test === v.test), v.test)
    }
  }
  const bounded = await exploreParallel(sample, { path: 'philosophers.loom.md', workers: 2, joinAt: 0, waitToJoin: true, maxStates: 500 })
  assert.equal(bounded.stoppedBy, 'states')
  assert.ok(bounded.states <= 500 && bounded.states > 400, `${bounded.states} states`)
})

test('a small search with --workers 2 gives exactly the report one thread gives, traces included (it runs on the exploring process\'s own thread: no level is wide enough to share)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-small-'))
  const cases = [['locks.loom.md', notebook(LOCKS)], ['tickets-race.loom.md', readFileSync('samples/tickets-race.loom.md', 'utf8')]] as const
  for (const [name, text] of cases) {
    const nb = join(dir, name)
    writeFileSync(nb, text)
    const [one, two] = ['1', '2'].map((workers) => {
      const r = loom(['explore', nb, '--workers', workers, '--json'])
      assert.equal(r.status, 1, r.stderr)
      const { elapsedMs: _, ...report } = JSON.parse(r.stdout)
      return report
    })
    assert.ok(one.violations.length > 0, name)
    assert.deepEqual(two, one, name)
  }
})

test('two threads past the size their shared seen set starts with (65,536 states, grown while both wait) count exactly what a hand-written search counts, whether the second thread joins in before the table grows or after', async () => {
  const sample = readFileSync('samples/philosophers.loom.md', 'utf8')
  const hand = philosophersBfs(5, Infinity, 19)
  assert.ok(hand.states > 2 ** 16, `${hand.states} states`)
  // The second thread joins in at a level of 1,000 states, half-way through the search.
  const two = await exploreParallel(sample, { path: 'philosophers.loom.md', workers: 2, depth: 19, joinAt: 1000, waitToJoin: true })
  assert.deepEqual({ states: two.states, transitions: two.transitions, depth: two.depth }, hand)
  assert.deepEqual(two.violations, [])
  // Here it joins in at the last level, once the table has grown: it is given the grown one.
  const late = await exploreParallel(sample, { path: 'philosophers.loom.md', workers: 2, depth: 20, joinAt: 20_000, waitToJoin: true })
  assert.deepEqual({ states: late.states, transitions: late.transitions, depth: late.depth }, philosophersBfs(5, Infinity, 20))
})

test('bag.take under exploration takes the item the live run takes, whatever order the items were put in', async () => {
  // x and y go into the bag in either order, then one is taken: the bags
  // [x,y] and [y,x] are the same bag, so the take is the same in both.
  const m = await model({
    state: `const b = state.bag<string>('b')
const first = state.var<string | null>('first', null)
const phase = state.var('phase', 0)
const got = state.var<string | null>('got', null)`,
    step: `export function step() {
  const p = phase.get()
  if (p === 0) {
    const v = ['x', 'y'][sys.fork(2)]!
    first.set(v)
    b.put(v)
  } else if (p === 1) b.put(first.get() === 'x' ? 'y' : 'x')
  else if (p === 2) got.set(b.take()!)
  else return sys.halt()
  phase.set(p + 1)
}`,
    tests: `test('the taken item left the bag', () => got.get() === null || !b.items().includes(got.get()!))`,
  })
  const r = explore(m)
  assert.deepEqual(r.violations, [])
  // Two orders of putting times two items taken, each then halted: 1 + 2 + 2 + 4 + 4.
  assert.equal(r.states, 13)
  assert.equal(r.exhausted, true)
})

test('the choice tree lists a choice sequence that runs past its time limit as one of its outcomes', async () => {
  const m = await Model.create(notebook({
    state: `const n = state.var('n', 0)`,
    step: `export function step() { if (sys.fork(2) === 1) for (;;) {} n.set(1) }`,
  }), { path: 'test.loom.md', timeLimitMs: 100 })
  const t = choiceTree(m)
  assert.equal(t.complete, true)
  assert.deepEqual(t.outcomes.map((o) => [o.committed, o.failure?.reason ?? null]), [[true, null], [false, 'ran past its time limit of 100 ms']])
})
