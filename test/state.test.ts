import { test } from 'node:test'
import assert from 'node:assert/strict'
import { notebook, open, plain, value } from './helpers.ts'
import type { Write } from '../engine/runtime/event.ts'

test('var get/set/update commit together as one event with reads and writes', async () => {
  const e = await open({ s: `const v = state.var('v', 1)\nexport function step() { v.set(v.get() + 1); v.update((x) => x * 10) }` })
  await e.run({ steps: 1 })
  assert.equal(value(e, 'v'), 20)
  const ev = e.events().at(-1)!
  assert.equal(ev.kind, 'step')
  assert.deepEqual(ev.reads, [{ state: 'v', version: 1 }])
  assert.deepEqual(plain(ev.writes), [{ state: 'v', op: 'set', value: 20 }])
})

test('map operations see the transaction\'s own writes and track reads per key', async () => {
  const e = await open({
    s: `const m = state.map<number>('m', { a: 1, b: 2 })
const out = state.var<unknown>('out', null)
export function step() {
  m.set('c', 3); m.delete('a')
  out.set({ a: m.get('a') ?? null, hasB: m.has('b'), hasA: m.has('a'), keys: m.keys(), values: m.values(), entries: m.entries(), size: m.size() })
}`,
  })
  await e.run({ steps: 1 })
  assert.deepEqual(value(e, 'out'), { a: null, hasB: true, hasA: false, keys: ['b', 'c'], values: [2, 3], entries: [['b', 2], ['c', 3]], size: 2 })
  assert.deepEqual(value(e, 'm'), { b: 2, c: 3 })
  const ev = e.events().at(-1)!
  assert.deepEqual(ev.reads.filter((r) => r.state === 'm'), [{ state: 'm', key: 'b', version: 1 }, { state: 'm', version: 1 }])
  assert.deepEqual(plain(ev.writes.filter((w) => w.state === 'm')), [{ state: 'm', op: 'set', key: 'c', value: 3 }, { state: 'm', op: 'delete', key: 'a' }])
})

test('map keys are strings: another key aborts with the state name', async () => {
  const e = await open({ s: `const m = state.map('m')\nexport function step() { m.set(1 as any, 2) }` })
  await e.run({ untilIdle: true })
  assert.match(e.attempts()[0]!.reason, /map 'm': keys are strings, got 1/)
})

test('queue push/take/peek/size/items keep FIFO order', async () => {
  const e = await open({
    s: `const q = state.queue<number>('q', [1, 2])
const out = state.var<unknown>('out', null)
export function step() {
  q.push(3)
  const first = q.take()
  out.set({ first, peek: q.peek(), size: q.size(), items: q.items() })
}`,
  })
  await e.run({ steps: 1 })
  assert.deepEqual(value(e, 'out'), { first: 1, peek: 2, size: 2, items: [2, 3] })
  assert.deepEqual(value(e, 'q'), [2, 3])
})

test('queue.take() on an empty queue parks the step until a push commits', async () => {
  const e = await open({
    s: `const q = state.queue<string>('q')
const got = state.var<string[]>('got', [])
export function step() { got.set([...got.get(), q.take()]) }`,
  })
  const s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'parked')
  assert.equal(s.attempts, 1)
  assert.match(e.waiting!, /queue 'q' is empty/)
  // Nothing it read has changed: stepping the loop again runs nothing more.
  const again = await e.run({ untilIdle: true })
  assert.equal(again.attempts, 0)
  assert.equal(again.events, 0)
})

test('bag take is a fair choice: every element is taken first in some run', async () => {
  const firsts = new Set<unknown>()
  for (let seed = 0; seed < 40; seed++) {
    const e = await open({ s: `const b = state.bag<string>('b', ['x', 'y', 'z'])\nconst first = state.var<string | null>('first', null)\nexport function step() { const v = b.take(); if (first.get() === null) first.set(v) }` }, {}, `seed: ${seed}`)
    await e.run({ untilIdle: true })
    firsts.add(value(e, 'first'))
    assert.deepEqual(value(e, 'b'), [])
  }
  assert.deepEqual([...firsts].sort(), ['x', 'y', 'z'])
})

test('bag put/size/items, and the take is recorded as a choice', async () => {
  const e = await open({ s: `const b = state.bag<number>('b')\nconst out = state.var<unknown>('out', null)\nexport function step() { b.put(1); b.put(2); const t = b.take(); out.set({ t, size: b.size(), items: b.items() }); sys.halt() }` })
  await e.run({ untilIdle: true })
  const ev = e.events().find((x) => x.kind === 'step')!
  assert.equal(ev.choices.length, 1)
  assert.equal(ev.choices[0]!.n, 2)
  const out = value(e, 'out') as { t: number; size: number; items: number[] }
  assert.equal(out.size, 1)
  assert.deepEqual([out.t, ...out.items].sort(), [1, 2])
})

test('counter adds never read, so they record no read; get does', async () => {
  const e = await open({ s: `const c = state.counter('c')\nconst seen = state.var('seen', 0)\nexport function step() { c.add(2); c.add(3); seen.set(c.get()); sys.halt() }` })
  await e.run({ untilIdle: true })
  assert.equal(value(e, 'c'), 5)
  assert.equal(value(e, 'seen'), 5)
  const ev = e.events().find((x) => x.kind === 'step')!
  assert.deepEqual(plain(ev.writes.find((w) => w.state === 'c')), { state: 'c', op: 'add', value: 5 })
})

test('values read from state are frozen', async () => {
  const e = await open({ s: `const v = state.var('v', { list: [1] })\nexport function step() { (v.get().list as number[]).push(2) }` })
  await e.run({ untilIdle: true })
  assert.match(e.attempts()[0]!.reason, /TypeError: Cannot add property 1, object is not extensible/)
  assert.deepEqual(value(e, 'v'), { list: [1] })
})

test('a value written to state is frozen, so later mutation cannot change the log', async () => {
  const e = await open({ s: `const v = state.var<number[]>('v', [])\nexport function step() { const a = [1]; v.set(a); a.push(2) }` })
  await e.run({ untilIdle: true })
  assert.match(e.attempts()[0]!.reason, /not extensible/)
  assert.deepEqual(value(e, 'v'), [])
})

for (const [what, expr, message] of [
  ['a function', '{ a: { f: () => 1 } }', /state 'v': a function is not plain data at \.a\.f/],
  ['NaN', '[1, NaN]', /state 'v': NaN is not plain data \(numbers must be finite\) at \[1\]/],
  ['a cycle', '(() => { const o: any = { x: {} }; o.x.back = o; return o })()', /a cycle is not plain data at \.x\.back/],
  ['a class instance', '{ when: new Map() }', /a Map is not plain data .* at \.when/],
  ['undefined', '{ k: undefined }', /undefined is not plain data .* at \.k/],
] as const) {
  test(`writing ${what} aborts with the state name and the path inside the value`, async () => {
    const e = await open({ s: `const v = state.var<unknown>('v', 0)\nexport function step() {\n  v.set(${expr})\n}` })
    await e.run({ untilIdle: true })
    const a = e.attempts()[0]!
    assert.match(a.reason, message)
    assert.equal(a.aborted, false)
    assert.deepEqual(a.location, { cell: 's', line: 3, fileLine: 6 })
    assert.equal(value(e, 'v'), 0)
  })
}

test('an aborted transaction leaves no trace: neither writes nor tty output', async () => {
  const e = await open({ s: `const v = state.var('v', 0)\nexport function step() { v.set(1); sys.tty.write('hi'); sys.abort('nope') }` })
  let tty = ''
  e.on('tty', (t) => (tty += t))
  await e.run({ untilIdle: true })
  assert.equal(value(e, 'v'), 0)
  assert.equal(tty, '')
  assert.equal(e.head, 1)
})

test('sys.abort that cell code catches still aborts the transaction', async () => {
  const e = await open({ s: `const v = state.var('v', 0)\nexport function step() { try { sys.abort('really') } catch {} v.set(1) }` })
  await e.run({ untilIdle: true })
  assert.equal(value(e, 'v'), 0)
  assert.equal(e.attempts()[0]!.reason, 'really')
})

test('a parked step is not re-run until something it read changes (an idle loop does no work)', async () => {
  const e = await open({
    s: `const jobs = state.queue<string>('jobs')
const other = state.var('other', 0)
const done = state.var<string[]>('done', [])
export function step() { done.set([...done.get(), jobs.take()]) }`,
  })
  await e.run({ untilIdle: true })
  const ran = () => e.head + e.attempts().length
  const before = ran()
  // A change to state the step did not read does not wake it.
  e.edit([{ state: 'other', set: 1 }])
  const s = await e.run({ untilIdle: true })
  assert.equal(s.attempts, 0)
  assert.equal(ran(), before + 1, 'only the edit itself was committed')
  // A push to the queue it read does.
  e.edit([{ state: 'jobs', push: 'a' }])
  await e.run({ untilIdle: true })
  assert.deepEqual(value(e, 'done'), ['a'])
  assert.deepEqual(e.events().map((x) => x.kind), ['code', 'edit', 'edit', 'step'])
})

test('an edit that does not fit the state is refused with the state name and commits nothing', async () => {
  const e = await open({ s: `const q = state.queue('q')\nconst v = state.var('v', 0)` })
  assert.throws(() => e.edit([{ state: 'q', set: 1 }]), /state 'q' is a queue: its value is a list of items/)
  assert.throws(() => e.edit([{ state: 'v', set: { f: 1n } as never }]), /Do not know how to serialize a BigInt|not plain data/)
  assert.throws(() => e.edit([{ state: 'nope', set: 1 }]), /there is no state 'nope'/)
  assert.equal(e.head, 1)
})

test('attempts are kept for debugging, bounded: the most recent ones', async () => {
  const { MemoryLog } = await import('../engine/runtime/log.ts')
  const log = new MemoryLog(5)
  const e = await open({ s: `export function step() { sys.abort('choice ' + sys.fork(20)) }` }, { log })
  await e.run({ untilIdle: true })
  const kept = e.attempts()
  assert.equal(kept.length, 5)
  assert.equal(new Set(kept.map((a) => a.reason)).size, 5)
  assert.ok(kept.every((a) => a.reason.startsWith('choice ') && a.aborted && a.location?.cell === 's'))
})

test('a bag lists its items in one order whatever order they were put in, and the same choice takes the same item', async () => {
  const bagAfter = async (order: string[]) => {
    const e = await open({
      s: `const b = state.bag<string>('b', ['m'])
const took = state.var<string | null>('took', null)
const listed = state.var<string[]>('listed', [])
export function step() { listed.set(b.items()); took.set(b.take()!) }`,
    })
    for (const item of order) e.edit([{ state: 'b', put: item }])
    const result = e.commitPreview(e.preview({ method: 'step', choices: [1] }).id)
    assert.ok('event' in result)
    return { b: value(e, 'b'), took: value(e, 'took'), listed: value(e, 'listed') }
  }
  const xzy = await bagAfter(['x', 'z', 'y'])
  assert.deepEqual(await bagAfter(['z', 'y', 'x']), xzy)
  assert.deepEqual(xzy, { listed: ['m', 'x', 'y', 'z'], took: 'x', b: ['m', 'y', 'z'] })
})

test('a bag item put and taken by the same step is gone once the step commits', async () => {
  for (const choice of [0, 1, 2]) {
    const e = await open({ s: `const b = state.bag<number>('b', [5])\nconst took = state.var('took', 0)\nexport function step() { b.put(1); b.put(2); took.set(b.take()!) }` })
    assert.ok('event' in e.commitPreview(e.preview({ method: 'step', choices: [choice] }).id))
    const left = value(e, 'b') as number[]
    assert.equal(left.length, 2, `choice ${choice}`)
    assert.deepEqual([...left, value(e, 'took')].sort(), [1, 2, 5], `choice ${choice}`)
  }
})

test('a switch() that pushes to a queue the new code declares commits that push', async () => {
  const v1 = { s: `const n = state.var('n', 0)` }
  const e = await open(v1)
  const r = await e.replaceCode(notebook({ s: `const n = state.var('n', 0)
const q = state.queue<string>('q')
function cutOver() { q.push('first'); n.set(1) }
export { cutOver as switch }` }))
  assert.equal(r.ok, true)
  assert.deepEqual(value(e, 'q'), ['first'])
  assert.equal(value(e, 'n'), 1)
})

test('a commit cut off half-way and applied again leaves every kind of state as if applied once', async () => {
  const { Store } = await import('../engine/runtime/store.ts')
  const declare = [
    { state: 'v', op: 'declare', kind: 'var', value: 1 },
    { state: 'm', op: 'declare', kind: 'map', value: { a: 1 } },
    { state: 'q', op: 'declare', kind: 'queue', value: [1, 2] },
    { state: 'b', op: 'declare', kind: 'bag', value: ['y', 'x'] },
    { state: 'c', op: 'declare', kind: 'counter', value: 3 },
  ] satisfies Write[]
  const writes: Write[] = [
    { state: 'v', op: 'set', value: 2 },
    { state: 'm', op: 'set', key: 'b', value: 2 },
    { state: 'm', op: 'delete', key: 'a' },
    { state: 'q', op: 'queue', take: 1, push: [3, 4] },
    { state: 'b', op: 'bag', take: [0], put: ['z', 'w'] },
    { state: 'c', op: 'add', value: 5 },
  ]
  const once = new Store()
  once.apply(declare, 1)
  once.apply(writes, 2)
  const cut = new Store()
  cut.apply(declare, 1)
  cut.apply(writes.filter((w) => w.state === 'v' || w.state === 'q'), 2)
  cut.apply(writes, 2)
  cut.apply(writes, 2)
  assert.deepEqual(cut.values(), once.values())
  assert.deepEqual(once.values(), {
    v: { kind: 'var', value: 2 }, m: { kind: 'map', value: { b: 2 } }, q: { kind: 'queue', value: [2, 3, 4] },
    b: { kind: 'bag', value: ['w', 'y', 'z'] }, c: { kind: 'counter', value: 8 },
  })
})
