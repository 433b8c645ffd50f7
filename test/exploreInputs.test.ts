// Exploration covers what the app really receives (DESIGN §6): the clock
// moving on to an awaited deadline, the inputs a real run recorded (requests,
// tty input) delivered in every order, requests from the notebook's
// clients(), and a report of what it did not explore — all through the real
// CLI, on logs made by real `loom run`s fed by real HTTP and a real pipe.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'
import { RESERVATIONS, recordedReservations } from './reservationsLog.ts'
import { Engine } from '../engine/runtime/engine.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'

const loom = (args: string[], input?: string) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', input, timeout: 120_000 })
const dir = mkdtempSync(join(tmpdir(), 'loom-explore-inputs-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const labels = (trace: { label: string }[]) => trace.map((s) => s.label)

test('time is a move: a test that fails only after an awaited deadline is found in two moves, and the saved branch replays', () => {
  const nb = file('deadline.loom.md', notebook({
    s: `const phase = state.var('phase', 0)
export function step() {
  if (phase.get() === 1) sys.abort('done')
  sys.time.await(1500)
  phase.set(1)
}
test('phase stays 0', () => phase.get() === 0)`,
  }))
  const r = loom(['explore', nb, '--json', '--save-branch', 'late', '--db', join(dir, 'deadline.loom.db')])
  assert.equal(r.status, 1, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.deepEqual(labels(report.violations[0].trace), ['clock → 1500 ms', 'step()'])
  assert.deepEqual(report.unexplored, [])
  const events = JSON.parse(loom(['log', join(dir, 'deadline.loom.db'), '--branch', 'late', '--json']).stdout) as { kind: string; time: number }[]
  assert.deepEqual(events.map((e) => [e.kind, e.time]), [['code', 0], ['step', 1500]], 'the step ran at the deadline')
  assert.equal(loom(['replay', join(dir, 'deadline.loom.db'), '--branch', 'late', '--verify']).status, 0)
  // In words, the clock move is a move of the trace.
  const text = loom(['explore', nb])
  assert.match(text.stdout, /✗ test 'phase stays 0' fails after 2 moves .*\n {2}1\. clock → 1500 ms\n {2}2\. step\(\)\n {7}phase: 0 → 1/)
})

test('the timer sample: the clock jumps tick by tick, 7 states counted by hand, no deadlock', () => {
  // The state start() commits; then three times: the clock → the next deadline, the tick (the last one halts).
  // The app before start() is no state of its own (Model.uncounted), but start() is a transaction of the depth.
  const r = loom(['explore', 'samples/timer.loom.md', '--json'])
  assert.equal(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.deepEqual([report.states, report.transitions, report.depth, report.deadlocks, report.exhausted], [7, 7, 7, 0, true])
})

test('from a recorded moment, the two real requests and the step interleave: the oversell is five moves away, and saved it replays', async () => {
  const { nb, db } = await recordedReservations(dir)
  const r = loom(['explore', nb, '--from', db, '--at', '1', '--json'])
  assert.equal(r.status, 1, r.stderr)
  const report = JSON.parse(r.stdout)
  // Both requests before the step: Ann, Bob (or Bob, Ann), the clock to Ann's deadline, two fills.
  const trace = labels(report.violations[0].trace)
  assert.equal(trace.length, 5, trace.join(' | '))
  assert.deepEqual(trace.slice(0, 2).sort(), ['POST /reserve {"who":"ann"} (recorded #2)', 'POST /reserve {"who":"bob"} (recorded #4)'])
  assert.deepEqual(trace.slice(2), ['clock → 1000 ms', 'step()', 'step()'])
  assert.deepEqual(report.unexplored, [])
  const text = loom(['explore', nb, '--from', db, '--at', '1', '--save-branch', 'oversold'])
  assert.match(text.stdout, /✗ test 'never oversold' fails after 5 moves/)
  assert.match(text.stdout, /POST \/reserve \{"who":"bob"\} \(recorded #4\)/)
  assert.match(text.stdout, /saved violation 1 of 1 as branch 'oversold'/)
  const verify = loom(['replay', db, '--branch', 'oversold', '--verify'])
  assert.equal(verify.status, 0, verify.stdout + verify.stderr)
  // The saved branch is real history: the state at its head is the oversold one.
  assert.equal(JSON.parse(loom(['state', db, '--branch', 'oversold', '--json']).stdout).stock, -1)

  // From event 0, the branch's start: the same requests from a fresh state, at the clock the app started at.
  const zero = JSON.parse(loom(['explore', nb, '--from', db, '--at', '0', '--json']).stdout)
  assert.deepEqual(labels(zero.violations[0].trace).slice(2), ['clock → 1000 ms', 'step()', 'step()'])
  assert.equal(zero.violations[0].trace.length, 5)

  // The same log with a notebook that remembers arrival order: Bob first is one move away (requests reorder among themselves).
  const order = file('order.loom.md', notebook({
    ...RESERVATIONS,
    api: `const arrivals = state.var<string[]>('arrivals', [])
export function http(req: { body: string }) {
  arrivals.set([...arrivals.get(), JSON.parse(req.body || '{}').who])
  return { status: 200, body: 'ok' }
}
test('ann comes first', () => arrivals.get().length === 0 || arrivals.get()[0] === 'ann')`,
  }))
  const reordered = JSON.parse(loom(['explore', order, '--from', db, '--at', '1', '--json']).stdout)
  assert.deepEqual(labels(reordered.violations.find((v: { test: string }) => v.test === 'ann comes first').trace), ['POST /reserve {"who":"bob"} (recorded #4)'])

  // From the last event nothing recorded is left: the summary says the requests went unexplored, and exit 3.
  const head = loom(['explore', nb, '--from', db, '--json'])
  assert.equal(head.status, 3, head.stderr)
  assert.deepEqual(JSON.parse(head.stdout).unexplored, ['HTTP requests — the notebook has http() but no clients() model and no recorded requests (the log recorded none after event 4)'])
})

test('recorded tty input is typed in order, interleaved with the steps that read it', () => {
  const echo = file('echo.loom.md', notebook({ s: "const line = state.var('line', '')\nexport function step() { line.set(line.get() + sys.tty.read(1)) }\ntest('no y typed', () => !line.get().includes('y'))" }))
  const db = join(dir, 'echo.loom.db')
  // A real run fed through a pipe; its steps record what they read.
  const run = spawnSync(process.execPath, ['bin/loom.js', 'run', file('plain.loom.md', notebook({ s: "const line = state.var('line', '')\nexport function step() { line.set(line.get() + sys.tty.read(1)) }" })), '--db', db], { input: 'ay', encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  const r = loom(['explore', echo, '--from', db, '--at', '1', '--json'])
  assert.equal(r.status, 1, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.deepEqual(labels(report.violations[0].trace), ['tty "a" (recorded #2)', 'step()', 'tty "y" (recorded #3)', 'step()'])
  // Saved, the typing is no event: each step records the character it read, and the branch replays.
  assert.equal(loom(['explore', echo, '--from', db, '--at', '1', '--save-branch', 'typed']).status, 1)
  const events = JSON.parse(loom(['log', db, '--branch', 'typed', '--json']).stdout) as { seq: number; input: { tty?: string } | null }[]
  assert.deepEqual(events.filter((e) => e.seq > 1).map((e) => e.input?.tty), [undefined, 'a', 'y'], 'a code event, then the two steps')
  assert.equal(loom(['replay', db, '--branch', 'typed', '--verify']).status, 0)
  // Once both are read, the step waits for more: that input was not explored.
  assert.match(report.unexplored.join('\n'), /^tty input — a transaction waits for sys\.tty\.read and exploration had no more recorded input to type/)
})

test("a recorded agent commit is delivered like a request: the teller's transfer, one move away", async () => {
  // The bank's window commits a gui(agent) transfer (as the agent panel does), into a real log.
  const db = join(dir, 'bank.loom.db')
  const log = SqliteLog.open(db)
  const bank = readFileSync('samples/bank.loom.md', 'utf8')
  const engine = await Engine.fromSource(bank, { path: 'bank.loom.md', log, clock: 'virtual', startTime: 1_000_000 })
  const preview = engine.preview({ method: 'gui', answers: { from: 'carol', to: 'bob', amount: 5 } })
  assert.ok('event' in engine.commitPreview(preview.id))
  log.close()
  const nb = file('bank.loom.md', bank.replace("test('money is conserved'", "test('carol pays nobody', () => !transfers.items().some((t) => t.from === 'carol' && t.amount === 5))\n\ntest('money is conserved'"))
  const r = loom(['explore', nb, '--from', db, '--at', '1', '--json'])
  assert.equal(r.status, 1, r.stderr)
  const report = JSON.parse(r.stdout)
  const v = report.violations.find((x: { test: string }) => x.test === 'carol pays nobody')
  assert.deepEqual(labels(v.trace), ['gui(agent) {"amount":5,"from":"carol","to":"bob"} (recorded #2)'])
  assert.deepEqual(report.unexplored, [])
})

test('a log with more recorded inputs than exploration delivers: the first 40 are explored, the rest and the hand edits are named', async () => {
  const db = join(dir, 'many.loom.db')
  const log = SqliteLog.open(db)
  const text = notebook({ s: "const hits = state.counter('hits')\nconst note = state.var('note', '')\nexport function http() { hits.add(1); return { status: 200, body: 'ok' } }" })
  const engine = await Engine.fromSource(text, { path: 'many.loom.md', log, clock: 'virtual', startTime: 1_000_000 })
  engine.edit([{ state: 'note', set: 'by hand' }])
  for (let i = 0; i < 45; i++) assert.ok('event' in engine.commitPreview(engine.preview({ method: 'http', request: { method: 'GET', path: `/${i}` } }).id))
  log.close()
  const nb = file('many.loom.md', text)
  // 2^40 orders of delivery: the state bound stops it, and it says so (exit 3) — it does not run out of memory or time.
  const r = loom(['explore', nb, '--from', db, '--at', '1', '--max-states', '500', '--json'])
  assert.equal(r.status, 3, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.deepEqual([report.states, report.stoppedBy], [500, 'states'])
  assert.deepEqual(report.unexplored, [
    'the inputs recorded from event 43 on — exploration delivers the first 40 after the moment (choose a later --at)',
    '1 hand edit recorded after event 1 and before event 43 — edits are not replayed by exploration',
  ])
})

test('clients(): the oversell is found from requests it sends, the budget is kept, and the saved branch replays', () => {
  const nb = file('clients.loom.md', notebook({
    ...RESERVATIONS,
    clients: `export function clients() {
  const who = ['ann', 'bob'][sys.fork(2)]!
  return { method: 'POST', path: '/reserve', body: JSON.stringify({ who }) }
}`,
  }))
  const db = join(dir, 'clients.loom.db')
  const r = loom(['explore', nb, '--json', '--save-branch', 'cx', '--db', db])
  assert.equal(r.status, 1, r.stderr)
  const report = JSON.parse(r.stdout)
  const trace = labels(report.violations[0].trace)
  assert.equal(trace.length, 5, trace.join(' | '))
  assert.match(trace[0]!, /^POST \/reserve \{"who":"(ann|bob)"\} \(from clients\(\)\)$/)
  assert.deepEqual(trace.slice(2), ['clock → 1000 ms', 'step()', 'step()'])
  assert.equal(loom(['replay', db, '--branch', 'cx', '--verify']).status, 0)
  // Two threads find the same states and a trace as short (the clock, the budget and the requests sent cross with each state).
  const two = JSON.parse(loom(['explore', nb, '--json', '--workers', '2']).stdout)
  assert.deepEqual([two.states, two.transitions, two.violations[0].trace.length, two.unexplored], [report.states, report.transitions, 5, report.unexplored])
  // One request per trace cannot oversell: no violation, and the summary says the budget bounded it (exit 3).
  const one = loom(['explore', nb, '--requests', '1', '--json'])
  assert.equal(one.status, 3, one.stderr)
  const bounded = JSON.parse(one.stdout)
  assert.deepEqual(bounded.violations, [])
  // Start, a reservation by either, the clock, the fill: 1 + 2 + 2 + 1 (both fills reach the same state).
  assert.equal(bounded.states, 6)
  assert.deepEqual(bounded.unexplored, ['more than 1 client request along a trace — clients() may send more (--requests N)'])
  // A budget that is no number of requests is bad usage, said as such.
  for (const bad of ['abc', '-1', '99999999999999999999']) {
    const refused = loom(['explore', nb, '--requests', bad])
    assert.equal(refused.status, 2, `${bad}: ${refused.stderr}`)
    assert.match(refused.stderr, /--requests/)
    assert.doesNotMatch(refused.stderr, /Error:|\.js:\d+:\d+/, 'no stack trace')
  }
  // A plain run ignores clients().
  const run = loom(['run', nb, '--db', join(dir, 'clients-run.loom.db'), '--until-idle', '--port', '0'])
  assert.equal(run.status, 0, run.stderr)
})

test('a hostile clients() — throwing, returning garbage, huge, endless, writing state — is reported at its cell, and loom goes on', () => {
  const cases: [string, string, RegExp][] = [
    ['throws', `throw new Error('no clients today')`, /clients\(\) throws: no clients today/],
    ['garbage', `return 42 as any`, /clients\(\) returns a request \{ method, path, body\?, headers\?, query\? \} or nothing; it returned 42/],
    ['bad method', `return { method: { toString: 1 }, path: '/x' } as any`, /its method is \{"toString":1\}, not a method like 'GET' or 'POST'/],
    ['nested', `let v: any = 'x'; for (let i = 0; i < 100_000; i++) v = [v]; return { method: 'POST', path: '/reserve', body: v } as any`, /clients\(\) returned a value nested too deeply to read/],
    ['huge', `return { method: 'POST', path: '/reserve', body: 'x'.repeat(1_000_000) }`, /clients\(\) returned a request of more than 64 KiB/],
    ['endless', `for (;;) {}`, /clients\(\) ran past its time limit of 300 ms/],
    ['writes', `orders.push('mallory'); return null`, /clients\(\) (throws|aborts): clients\(\) cannot change state \(it wrote 'orders'\)/],
  ]
  for (const [name, body, message] of cases) {
    const nb = file(`hostile-${name.replace(' ', '-')}.loom.md`, notebook({ ...RESERVATIONS, clients: `export function clients() {\n  ${body}\n}` }))
    const r = loom(['explore', nb, '--json', '--time-limit', '300'])
    assert.equal(r.status, 1, `${name}: ${r.stderr}`)
    const v = JSON.parse(r.stdout).violations.find((x: { test: string }) => x.test === 'clients() runs without an error')
    assert.ok(v, `${name}: ${r.stdout.slice(0, 400)}`)
    assert.match(v.message, message, name)
    assert.equal(v.location?.cell, 'clients', name)
  }
})

test('an app whose inputs exploration did not model says what it did not explore, in words and --json, and exits 3', () => {
  const todo = loom(['explore', 'samples/todo.loom.md'])
  assert.equal(todo.status, 3, todo.stderr)
  assert.match(todo.stdout, /every state reachable with the inputs explored — not every input the app takes/)
  assert.match(todo.stdout, /\n {2}did not explore: HTTP requests — the notebook has http\(\) but no clients\(\) model and no recorded requests \(explore from a recorded moment to deliver the ones a log recorded: --from DB --at S, or in the window an earlier event\)\n/)
  assert.doesNotMatch(todo.stdout, /— every reachable state/)
  const json = JSON.parse(loom(['explore', 'samples/todo.loom.md', '--json']).stdout)
  assert.equal(json.unexplored.length, 1)
  assert.match(json.unexplored[0], /^HTTP requests/)
  // A bound stops it short: no violation is no proof either.
  const bounded = loom(['explore', 'samples/philosophers.loom.md', '--depth', '2'])
  assert.equal(bounded.status, 3, bounded.stderr)
  // Everything explored and nothing wrong: 0.
  assert.equal(loom(['explore', 'samples/tickets.loom.md']).status, 0)
})
