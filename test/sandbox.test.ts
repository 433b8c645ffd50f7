import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open } from './helpers.ts'

/** Runs `expr` in a step and returns the attempt's reason. */
async function reasonOf(expr: string): Promise<string> {
  const e = await open({ s: `const v = state.var<unknown>('v', 0)\nexport function step() {\n  v.set(${expr} as any)\n}` })
  await e.run({ untilIdle: true })
  const a = e.attempts()[0]
  assert.ok(a, `${expr} should have aborted`)
  return a.reason
}

for (const [expr, message] of [
  ['Date.now()', /Date\.now\(\) is not available in a Loom cell: use sys\.time\.now\(\)/],
  ['new Date()', /new Date\(\) is not available in a Loom cell: use new Date\(sys\.time\.now\(\)\)/],
  ['Date()', /Date\(\) is not available in a Loom cell/],
  ['Math.random()', /Math\.random\(\) is not available in a Loom cell: use sys\.random\(index, n\)/],
  ['setTimeout(() => 1, 10)', /setTimeout\(\) is not available in a Loom cell: .*sys\.time\.await/],
  ['setInterval(() => 1, 10)', /setInterval\(\) is not available/],
  ['queueMicrotask(() => 1)', /queueMicrotask\(\) is not available/],
  ['new WeakRef({})', /WeakRef is not available in a Loom cell: it observes garbage collection/],
  ['new FinalizationRegistry(() => 1)', /FinalizationRegistry is not available/],
  ['new SharedArrayBuffer(8)', /SharedArrayBuffer is not available/],
  ['(gc as any)()', /gc\(\) is not available in a Loom cell: garbage collection is the engine's/],
  ['Atomics.add', /Cannot read properties of undefined/],
  ['(require as any)("fs")', /require is not available in a Loom cell/],
  ['(process as any).env', /process is not available in a Loom cell/],
  ['(Buffer as any).from("x")', /Buffer is not available/],
  ['(fetch as any)("http://x")', /fetch is not available/],
  ['eval("1")', /EvalError: Code generation from strings disallowed/],
  ['new Function("return 1")()', /EvalError: Code generation from strings disallowed/],
] as const) {
  test(`${expr} does not work in a cell and says what to use instead`, async () => {
    assert.match(await reasonOf(expr), message)
  })
}

test('new Date(t) with a time still works: it is pure', async () => {
  const e = await open({ s: `const v = state.var('v', '')\nexport function step() { v.set(new Date(sys.time.now()).toISOString()); sys.halt() }` }, { startTime: 0 })
  await e.run({ untilIdle: true })
  assert.equal(e.state().v!.value, '1970-01-01T00:00:00.000Z')
})

test('built-ins are frozen: a transaction cannot leave a trace outside state', async () => {
  assert.match(await reasonOf('((Array.prototype as any).evil = 1)'), /Cannot add property evil, object is not extensible/)
  assert.match(await reasonOf('(Math.max = () => 0)'), /Cannot assign to read only property 'max'/)
  assert.match(await reasonOf('((Object as any).prototype.x = 1)'), /object is not extensible/)
})

test('the host is unreachable: constructors of the API lead only to the sandbox', async () => {
  assert.match(await reasonOf('(state.var as any).constructor("return process")()'), /EvalError: Code generation from strings disallowed/)
  assert.match(await reasonOf('(sys.fork as any).constructor.constructor("return process")()'), /EvalError/)
  // An error thrown by the host side of the API is a sandbox error too.
  const e = await open({ s: `const m = state.map('m')\nconst v = state.var<unknown>('v', 0)\nexport function step() { try { m.set(1 as any, 1) } catch (err: any) { v.set(err.constructor.constructor('return 1')()) } }` })
  await e.run({ untilIdle: true })
  assert.match(e.attempts()[0]!.reason, /map 'm': keys are strings/)
})

test('a transaction past its time limit is aborted with an error saying so, and the runtime keeps going', async () => {
  const e = await open({
    s: `const n = state.var('n', 0)
const spin = state.var('spin', false)
export function step() {
  const next = n.get() + 1
  n.set(next)
  if (next === 3) spin.set(true)
  if (spin.get() && next === 4) { while (true) {} }
  if (next === 6) sys.halt()
}`,
  }, { timeLimitMs: 50 })
  const s = await e.run({ untilIdle: true })
  // Event 4 would have looped forever: it is an attempt, and the step waits on what it read.
  assert.equal(s.status, 'parked')
  const a = e.attempts().at(-1)!
  assert.equal(a.reason, 'ran past its time limit of 50 ms')
  assert.equal(a.location?.cell, 's')
  assert.deepEqual(e.state().n!.value, 3)
  // The engine still works: new code that does not loop takes over and finishes.
  const r = await e.replaceCode(`\`\`\`ts #s
const n = state.var('n', 0)
export function step() { n.set(n.get() + 1); if (n.get() === 6) sys.halt() }
\`\`\`
`)
  assert.ok(r.ok)
  const t = await e.run({ untilIdle: true })
  assert.equal(t.status, 'halted')
  assert.equal(e.state().n!.value, 6)
})

test('a test that loops forever fails with the time limit instead of hanging', async () => {
  const e = await open({ s: `const n = state.var('n', 0)\nexport function step() { n.set(1); sys.halt() }\ntest('spins', () => { while (true) {} })` }, { timeLimitMs: 30, checkTests: true })
  await e.run({ untilIdle: true })
  assert.equal(e.testFailures[0]?.test, 'spins')
  assert.match(e.testFailures[0]!.message, /time limit of 30 ms/)
})

test('a top level that loops forever is refused when loading, naming the limit', async () => {
  await assert.rejects(open({ s: `while (true) {}` }, { timeLimitMs: 30 }), /loading the notebook's cells ran past the time limit of 30 ms/)
})
