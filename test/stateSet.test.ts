// state.set (DESIGN §6, issue 18): a canonical set — the same elements are one
// state however they were added — whose membership is read per element.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { notebook, open, plain } from './helpers.ts'

test('a set lists its elements in one canonical order, however they were added; has() finds a record by value', async () => {
  const e = await open({
    s: `const s = state.set('s', [{ b: 2, a: 1 }, 'x'])
const steps = state.var('steps', 0)
export function step() {
  steps.set(steps.get() + 1)
  if (steps.get() === 1) { s.add(3); s.add('x'); s.delete({ a: 1, b: 2 }) }
  if (steps.get() === 2) { s.add({ a: 1, b: 2 }); s.delete(3) }
  sys.tty.write(JSON.stringify(s.values()) + ' ' + s.size() + ' ' + s.has({ b: 2, a: 1 }) + '\\n')
  if (steps.get() === 2) sys.halt()
}`,
  })
  let tty = ''
  e.on('tty', (t) => (tty += t))
  await e.run({ steps: 5, untilIdle: true })
  assert.equal(tty, '["x",3] 2 false\n["x",{"a":1,"b":2}] 2 true\n')
  assert.deepEqual(plain(e.state().s), { kind: 'set', value: ['x', { a: 1, b: 2 }] })
})

test('exploration counts a set reached by two orders of adding as one state', async () => {
  // Two processes each add their name once, in either order: {}, {a}, {b}, {a,b} — four states, not five.
  const model = await Model.create(notebook({
    s: `const names = state.set<string>('names')
export function step() {
  const who = ['a', 'b'][sys.fork(2)]!
  if (names.has(who)) sys.abort(who + ' is in')
  names.add(who)
}`,
  }), { path: 'set.loom.md' })
  const r = explore(model, { deadlock: false })
  assert.deepEqual([r.states, r.transitions, r.exhausted], [4, 4, true])
})

test('exploration tells maps apart by the order of their keys, and counts a map reached two ways as one state', async () => {
  // Keys a and b, each added with 1 and raised once to 2: every order of the keys present (keys() shows it) times every
  // value, 1 + 4 + 2 · 4 = 13 states — 9 if order were ignored, more if a value rewritten in place were not the same map.
  const model = await Model.create(notebook({
    s: `const m = state.map<number>('m', {})
export function step() {
  const k = ['a', 'b'][sys.fork(2)]!
  if (!m.has(k)) return m.set(k, 1)
  if (m.get(k) === 2) sys.abort(k + ' is done')
  m.set(k, 2)
}`,
  }), { path: 'map.loom.md' })
  const r = explore(model, { deadlock: false })
  assert.deepEqual([r.states, r.transitions, r.exhausted], [13, 16, true])
})

test('a value a set cannot hold fails the transaction at its line, and a set starts only from an array', async () => {
  const e = await open({ s: "const s = state.set('s')\nexport function step() {\n  s.add(() => 1)\n}" })
  await e.run({ steps: 1, untilIdle: true })
  assert.match(JSON.stringify(e.attempts()), /set 's'|state 's'/)
  await assert.rejects(open({ s: "const s = state.set('s', { a: 1 })" }), /a set starts from an array of elements/)
})

test('a map key deleted in one transaction and set again in another is listed once by keys() in that transaction', async () => {
  const e = await open({
    s: `const m = state.map('m', { a: 1, b: 2 })
const n = state.var('n', 0)
export function step() {
  n.set(n.get() + 1)
  if (n.get() === 1) return m.delete('a')
  m.set('a', 3)
  sys.tty.write(m.keys().join() + '\\n')
  sys.halt()
}`,
  })
  let tty = ''
  e.on('tty', (t) => (tty += t))
  await e.run({ steps: 5, untilIdle: true })
  assert.equal(tty, 'b,a\n')
})
