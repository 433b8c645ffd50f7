import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open, notebook, plain, value } from './helpers.ts'
import { openSession } from '../engine/replay/session.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { saveTrace } from '../engine/replay/trace.ts'

const BANK = {
  state: `const accounts = state.map<number>('accounts', { alice: 100, bob: 50 })
const deposits = state.counter('deposits')`,
  gui: `export function gui(agent) {
  const who = agent.choose('who', ['alice', 'bob'])
  const amount = agent.ask('amount', 10)
  if (typeof amount !== 'number' || amount <= 0) sys.abort('the amount is a positive number')
  accounts.set(who, (accounts.get(who) ?? 0) + amount)
  deposits.add(1)
  agent.show({ who, balance: accounts.get(who) })
}`,
  step: `export function step() {
  const from = ['alice', 'bob'][sys.fork(2)]!
  const balance = accounts.get(from)!
  if (balance < 30) sys.abort(from + ' has too little')
  accounts.set(from, balance - 30)
  sys.tty.write(from + ' paid 30\\n')
}`,
  tests: `test('nobody is overdrawn', () => accounts.values().every((v) => v >= 0))
test('no deposit over 1000', () => accounts.values().every((v) => v <= 1000))`,
}

test('a gui preview shows its questions, what it would change and show, and commits only when asked', async () => {
  const e = await open(BANK)
  const p = e.preview({ method: 'gui', answers: { who: 'bob', amount: 5 } })
  assert.deepEqual(plain(p.questions), [
    { key: 'who', kind: 'choose', options: ['alice', 'bob'], answer: 'bob' },
    { key: 'amount', kind: 'ask', answer: 5 },
  ])
  assert.deepEqual(p.shown, [{ who: 'bob', balance: 55 }])
  assert.deepEqual(p.changes.find((c) => c.state === 'accounts'), { state: 'accounts', before: { alice: 100, bob: 50 }, after: { alice: 100, bob: 55 } })
  assert.equal(p.committed, true)
  assert.deepEqual(value(e, 'accounts'), { alice: 100, bob: 50 }, 'a preview changes nothing')
  const head = e.head
  const done = e.commitPreview(p.id)
  assert.ok('event' in done)
  assert.equal(done.event.kind, 'gui')
  assert.deepEqual(plain(done.event.input), { answers: { who: 'bob', amount: 5 } }, 'the answers used are recorded, so replay asks nothing')
  assert.equal(e.head, head + 1)
  assert.deepEqual(value(e, 'accounts'), { alice: 100, bob: 55 })
  assert.throws(() => e.commitPreview(p.id), /no open preview/)
})

test('unanswered questions take their default or first option; a wrong answer to choose falls back to the first', async () => {
  const e = await open(BANK)
  const p = e.preview({ method: 'gui', answers: { who: 'mallory' } })
  assert.deepEqual(plain(p.questions.map((q) => q.answer)), ['alice', 10])
  const bad = e.preview({ method: 'gui', answers: { amount: -3 } })
  assert.equal(bad.committed, false)
  assert.match(bad.failure!.message, /the amount is a positive number/)
})

test('a preview shows the tests its outcome would break, and leaves the live state as it was', async () => {
  const e = await open(BANK)
  const p = e.preview({ method: 'gui', answers: { who: 'alice', amount: 5000 } })
  assert.deepEqual(p.brokenTests, [{ test: 'no deposit over 1000', message: 'returned false' }])
  assert.deepEqual(value(e, 'accounts'), { alice: 100, bob: 50 })
  assert.deepEqual(e.preview({ method: 'gui', answers: { who: 'alice', amount: 1 } }).brokenTests, [])
})

test('a step preview takes the chosen fork, lists every outcome of its choices, and commits the chosen one', async () => {
  const e = await open(BANK)
  const alice = e.preview({ method: 'step', choices: [0] })
  const bob = e.preview({ method: 'step', choices: [1] })
  assert.deepEqual(alice.changes[0]!.after, { alice: 70, bob: 50 })
  assert.deepEqual(bob.changes[0]!.after, { alice: 100, bob: 20 })
  assert.deepEqual(alice.outputs, { tty: 'alice paid 30\n' })
  assert.deepEqual(alice.outcomes.map((o) => o.choices), [[[0]], [[1]]])
  assert.deepEqual(alice.outcomes.map((o) => o.summary), ['writes accounts, prints "alice paid 30\\n"', 'writes accounts, prints "bob paid 30\\n"'])
  const out = e.preview({ method: 'step', choices: [7] })
  assert.deepEqual(out.choices, [{ n: 2, value: 0 }], 'an answer out of range is 0')
  const done = e.commitPreview(bob.id)
  assert.ok('event' in done)
  assert.deepEqual(done.event.choices, [{ n: 2, value: 1 }])
  assert.deepEqual(value(e, 'accounts'), { alice: 100, bob: 20 })
  // Bob now has 20: the other outcome of his choice waits.
  const again = e.preview({ method: 'step', choices: [1] })
  assert.equal(again.committed, false)
  assert.deepEqual(again.outcomes.map((o) => [o.committed, o.summary]), [[true, 'writes accounts, prints "alice paid 30\\n"'], [false, 'waits: bob has too little']])
})

test('committing a preview after what it read changed shows what changed and a fresh preview instead', async () => {
  const e = await open(BANK)
  const p = e.preview({ method: 'step', choices: [0] })
  e.edit([{ state: 'accounts', key: 'alice', set: 10 }])
  const head = e.head
  const r = e.commitPreview(p.id)
  assert.ok('changed' in r)
  assert.deepEqual(r.changed, ['accounts'])
  assert.equal(r.preview.committed, false)
  assert.match(r.preview.failure!.message, /alice has too little/)
  assert.equal(e.head, head, 'nothing was committed')
})

test('a preview that reads the clock commits at the time of the commit, with a note when that differs from what was shown; a preview that does not commit is refused', async () => {
  const e = await open({
    state: `const stamped = state.var('stamped', 0)\nconst runs = state.counter('runs')`,
    step: `export function step() { stamped.set(sys.time.now()); runs.add(1) }`,
    gui: `export function gui(agent) { const t = sys.time.now(); if (t < 0) sys.abort('never'); runs.add(1) }`,
  }, { clock: 'real' })
  const p = e.preview({ method: 'step' })
  const shown = (p.changes.find((c) => c.state === 'stamped')!.after) as number
  await new Promise((r) => setTimeout(r, 5))
  const head = e.head
  const r = e.commitPreview(p.id)
  assert.ok('event' in r, 'committed, not "changed" for ever')
  assert.equal(e.head, head + 1)
  assert.ok((value(e, 'stamped') as number) > shown, 'with the time of the commit')
  assert.match(r.note ?? '', /it reads the clock/)
  // Reading the clock without it changing what the transaction does: committed as shown, no note.
  const g = e.preview({ method: 'gui' })
  const same = e.commitPreview(g.id)
  assert.ok('event' in same)
  assert.equal(same.note, undefined)
  // A preview that waits has nothing to commit: said so, not "changed".
  const waits = await open({ step: `export function step() { sys.abort('nothing to do') }` })
  const w = waits.preview({ method: 'step' })
  assert.throws(() => waits.commitPreview(w.id), /this preview does not commit \(it waits: nothing to do\): there is nothing to commit/)
})

test('the agent cannot be kept past its gui(): values outside state are read-only and state holds only data; an app without gui() cannot preview one', async () => {
  const e = await open({
    state: `const seen = state.var<unknown>('seen', 0)\nconst kept: { agent?: any } = {}`,
    gui: `export function gui(agent) { kept.agent = agent; seen.set(1) }`,
  })
  const p = e.preview({ method: 'gui' })
  assert.equal(p.committed, false)
  assert.match(p.failure!.message, /read only property|not extensible/)
  assert.match(p.failure!.message, /values outside state are read-only once the app has loaded/)
  const viaState = await open({ gui: `const seen = state.var<unknown>('seen', 0)\nexport function gui(agent) { seen.set(agent) }` })
  const q = viaState.preview({ method: 'gui' })
  assert.equal(q.committed, false)
  assert.match(q.failure!.message, /not plain data/)
  const noGui = await open({ state: BANK.state, step: BANK.step })
  assert.throws(() => noGui.preview({ method: 'gui' }), /the app has no gui\(\)/)
})

test('gui events replay and verify from the durable log, and a preview can be committed as a new branch instead', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-agent-'))
  const nb = join(dir, 'bank.loom.md')
  const text = notebook(BANK)
  writeFileSync(nb, text)
  const { engine, log } = await openSession(nb, { clock: 'virtual', startTime: 1_000_000 })
  try {
    const p = engine.preview({ method: 'gui', answers: { who: 'alice', amount: 7 } })
    assert.ok('event' in engine.commitPreview(p.id))
    const q = engine.preview({ method: 'gui', answers: { who: 'bob', amount: 1 } })
    // Forked instead: the live branch stays as it is.
    const spec = engine.previewSpec(q.id)
    const branch = await saveTrace(text, { path: nb, from: { log, branch: log.branch, seq: engine.head } }, [{ method: 'gui', choices: [], input: { answers: spec.answers! } }], log, 'what-if')
    engine.discardPreview(q.id)
    assert.equal(branch.head, engine.head + 1)
    assert.deepEqual(log.eventsOf('what-if', branch.head).map((ev) => plain(ev.input)), [{ answers: { who: 'bob', amount: 1 } }])
    assert.deepEqual(value(engine, 'accounts'), { alice: 107, bob: 50 })
    assert.equal((await verifyBranch(log, log.branch)).ok, true)
    assert.equal((await verifyBranch(log, 'what-if')).ok, true)
  } finally {
    log.close()
  }
})
