import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, plain, value } from './helpers.ts'

test('sys.fork is fair: over repeated steps every choice is taken', async () => {
  const e = await open({ s: `const seen = state.map<number>('seen')\nexport function step() { const i = String(sys.fork(4)); seen.set(i, (seen.get(i) ?? 0) + 1) }` })
  await e.run({ steps: 400 })
  const seen = value(e, 'seen') as Record<string, number>
  assert.deepEqual(Object.keys(seen).sort(), ['0', '1', '2', '3'])
  for (const n of Object.values(seen)) assert.ok(n > 50, `each choice is taken often (${JSON.stringify(seen)})`)
  const ev = e.events().at(-1)!
  assert.equal(ev.choices.length, 1)
  assert.equal(ev.choices[0]!.n, 4)
})

test('when a choice aborts, the agent tries the other choices before the step waits', async () => {
  const e = await open({
    s: `const a = state.queue<string>('a')
const b = state.queue<string>('b', ['only b has work'])
const done = state.var<string[]>('done', [])
export function step() {
  const q = sys.fork(2) === 0 ? a : b
  done.set([...done.get(), q.take()])
}`,
  })
  const s = await e.run({ untilIdle: true })
  assert.deepEqual(value(e, 'done'), ['only b has work'])
  assert.equal(s.status, 'parked')
  // It waits on both queues: a push to either would let it go on.
  assert.deepEqual(e.attempts().slice(-2).map((x) => x.reason).sort(), ["queue 'a' is empty", "queue 'b' is empty"])
})

test('sys.fork(n) with a bad n aborts with a message saying what n must be', async () => {
  const e = await open({ s: `export function step() { sys.fork(0) }` })
  await e.run({ untilIdle: true })
  assert.match(e.attempts()[0]!.reason, /sys.fork\(n\): n is a whole number ≥ 1, got 0/)
})

test('sys.random is stable: the same arguments give the same answer, across runs', async () => {
  const cells = { s: `const out = state.var<number[]>('out', [])\nexport function step() { out.set([sys.random(1, 1000), sys.random(1, 1000), sys.random('x', 1000), sys.random(2, 1000)]); sys.halt() }` }
  const one = await open(cells, {}, 'seed: 11')
  const two = await open(cells, {}, 'seed: 11')
  const other = await open(cells, {}, 'seed: 12')
  for (const e of [one, two, other]) await e.run({ untilIdle: true })
  const [a, b, c] = [value(one, 'out'), value(two, 'out'), value(other, 'out')] as number[][]
  assert.equal(a![0], a![1])
  assert.deepEqual(a, b)
  assert.notDeepEqual(a, c)
  assert.ok(a!.every((x) => Number.isInteger(x) && x >= 0 && x < 1000))
  assert.equal(one.events().find((x) => x.kind === 'step')!.choices.length, 0, 'random is not a choice: nothing to record')
})

test('sys.random is uniform enough: 6,000 draws of a die hit every face about equally', async () => {
  const e = await open({ s: `const faces = state.var<number[]>('faces', [0, 0, 0, 0, 0, 0])\nexport function step() { const f = faces.get().slice(); for (let i = 0; i < 6000; i++) f[sys.random(i, 6)]++; faces.set(f); sys.halt() }` })
  await e.run({ untilIdle: true })
  for (const n of value(e, 'faces') as number[]) assert.ok(n > 850 && n < 1150, `face count ${n}`)
})

test('sys.time.now() is the commit time: constant within a transaction and recorded in the event', async () => {
  const e = await open({ s: `const t = state.var<number[]>('t', [])\nexport function step() { t.set([sys.time.now(), sys.time.now()]); sys.halt() }` }, { startTime: 5_000 })
  await e.run({ untilIdle: true })
  const [a, b] = value(e, 't') as number[]
  assert.equal(a, b)
  assert.equal(e.events().find((x) => x.kind === 'step')!.time, a)
})

test('sys.time.await parks the step until the time comes, then retries it', async () => {
  const e = await open({
    s: `const due = state.var<number | null>('due', null)
const fired = state.var<number | null>('fired', null)
export function start() { due.set(sys.time.now() + 60_000) }
export function step() { sys.time.await(due.get()!); fired.set(sys.time.now()); sys.halt() }`,
  }, { startTime: 1_000 })
  const s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'halted')
  assert.equal(value(e, 'fired'), 61_000)
  assert.match(e.attempts()[0]!.reason, /^waiting until 1970-01-01T00:01:01.000Z$/)
})

test('sys.time.await with a real clock wakes the parked step when the time arrives', async () => {
  const e = await open({ s: `const due = state.var<number | null>('due', null)\nexport function start() { due.set(sys.time.now() + 30) }\nexport function step() { sys.time.await(due.get()!); sys.halt() }` }, { clock: 'real' })
  const s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'halted')
  const step = e.events().find((x) => x.kind === 'step')!
  assert.ok(step.time >= (value(e, 'due') as number))
})

test('sys.tty.write output is delivered only when the transaction commits', async () => {
  const e = await open({ s: `const n = state.var('n', 0)\nexport function step() { sys.tty.write('a'); sys.tty.write('b'); n.set(n.get() + 1); if (n.get() === 2) sys.halt() }` })
  const got: string[] = []
  e.on('tty', (t) => got.push(t))
  await e.run({ untilIdle: true })
  assert.deepEqual(got, ['ab', 'ab'])
  assert.equal(e.events().find((x) => x.kind === 'step')!.outputs.tty, 'ab')
})

test('sys.tty.read(n) returns exactly n characters or waits for them; what it read is recorded as input', async () => {
  const e = await open({ s: `const got = state.var<string[]>('got', [])\nexport function step() { got.set([...got.get(), sys.tty.read(3)]) }` })
  let s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'parked')
  assert.match(e.waiting!, /waiting for 3 characters of input/)
  e.input('ab')
  s = await e.run({ untilIdle: true })
  assert.equal(s.events, 0)
  e.input('cdefg')
  await e.run({ untilIdle: true })
  assert.deepEqual(value(e, 'got'), ['abc', 'def'])
  assert.deepEqual(plain(e.events().filter((x) => x.kind === 'step').map((x) => x.input)), [{ tty: 'abc' }, { tty: 'def' }])
})

test('sys.env.get and sys.env.args come from the run configuration, which the first event records', async () => {
  const e = await open({ s: `const limit = state.var('limit', Number(sys.env.get('LIMIT') ?? 1))\nconst out = state.var<unknown>('out', null)\nexport function step() { out.set({ missing: sys.env.get('NOPE') ?? null, args: sys.env.args }); sys.halt() }` }, { env: { LIMIT: '7' }, args: ['--fast', 'x'] })
  await e.run({ untilIdle: true })
  assert.equal(value(e, 'limit'), 7)
  assert.deepEqual(value(e, 'out'), { missing: null, args: ['--fast', 'x'] })
  assert.deepEqual(plain(e.events()[0]!.input), { seed: 'loom:test.loom.md', env: { LIMIT: '7' }, args: ['--fast', 'x'] })
})

test('sys.halt stops the loop once its transaction commits, and the log ends with a halt event', async () => {
  const e = await open({ s: `const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1); if (n.get() === 3) sys.halt() }` })
  const s = await e.run({ steps: 100 })
  assert.equal(s.status, 'halted')
  assert.equal(value(e, 'n'), 3)
  const kinds = e.events().map((x) => x.kind)
  assert.deepEqual(kinds, ['code', 'step', 'step', 'step', 'halt'])
  assert.equal(e.events()[3]!.outputs.halt, true)
})

test('sys.log keeps structured lines with the event; console.log goes to the console channel', async () => {
  const e = await open({ s: `export function step() { sys.log('audit', { who: 'ann', n: 1 }); console.log('hello', 2); sys.halt() }` })
  await e.run({ untilIdle: true })
  assert.deepEqual(plain(e.events().find((x) => x.kind === 'step')!.outputs.logs), [
    { channel: 'audit', message: { who: 'ann', n: 1 } },
    { channel: 'console', message: 'hello 2' },
  ])
})

test('an exception is an attempt with its error, cell id and line inside the cell', async () => {
  const e = await open({ a: `const v = state.var('v', 0)`, b: `export function step() {\n  const x: any = null\n  return x.boom\n}` })
  await e.run({ untilIdle: true })
  const a = e.attempts()[0]!
  assert.match(a.reason, /^TypeError: Cannot read properties of null \(reading 'boom'\)/)
  assert.equal(a.aborted, false)
  assert.deepEqual(a.location, { cell: 'b', line: 3, fileLine: 12 })
})

test('start runs once, before any step, retried until it commits', async () => {
  const e = await open({
    s: `const ready = state.queue<string>('ready')
const log = state.var<string[]>('log', [])
export function start() { log.set([...log.get(), 'start:' + ready.take()]) }
export function step() { log.set([...log.get(), 'step']); if (log.get().length === 3) sys.halt() }`,
  })
  let s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'parked')
  assert.deepEqual(value(e, 'log'), [])
  const r = await e.replaceCode(`\`\`\`ts #s
const ready = state.queue<string>('ready')
const log = state.var<string[]>('log', [])
export function start() { log.set([...log.get(), 'start:' + ready.take()]) }
export function step() { log.set([...log.get(), 'step']); if (log.get().length === 3) sys.halt() }
function fill() { ready.push('go') }
export { fill as switch }
\`\`\`
`)
  assert.equal(r.ok, true, !r.ok ? r.errors[0]!.message : '')
  s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'halted')
  assert.deepEqual(value(e, 'log'), ['start:go', 'step', 'step'])
  assert.deepEqual(e.events().map((x) => x.kind), ['code', 'code', 'start', 'step', 'step', 'halt'])
})
