// Attacks on the sandbox through its real surface: cell code run by a real
// engine. Each tries to get hold of an object of the host's realm, whose
// constructor leads to the host's Function and from there to `process`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, value, seededRandom } from '../helpers.ts'

const SEED = Number(process.env.LOOM_ATTACK_SEED ?? 14)

/** Cell source: how a cell tells whether it holds a host object, and tries to use one. */
const PROBE = `
function foreign(x: any): boolean {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && !(x instanceof Object)
}
function probe(f: () => unknown, out: { overflows: number; foreign: string[] }, tag: string): void {
  try { f() } catch (e: any) {
    if (foreign(e)) {
      let what = 'a host object'
      try { what = 'escaped: ' + e.constructor.constructor('return typeof process')() } catch {}
      out.foreign.push(tag + ': ' + what)
    } else if (e instanceof RangeError) out.overflows++
  }
}
function pad(k: number, f: () => unknown): unknown { return k <= 0 ? f() : pad(k - 1, f) }
`

/** Every way a cell calls into the host. */
const BRIDGES: Record<string, string> = {
  'sys.env.get': `sys.env.get('x')`,
  'sys.env.args': `sys.env.args`,
  'var.get': `v.get()`,
  'var.set': `v.set(1)`,
  'var.update': `v.update((x: number) => x)`,
  'map.get': `m.get('k')`,
  'map.set': `m.set('k', 1)`,
  'map.keys': `m.keys()`,
  'map.entries': `m.entries()`,
  'queue.push': `q.push(1)`,
  'queue.items': `q.items()`,
  'bag.put': `b.put(1)`,
  'counter.add': `c.add(1)`,
  'sys.log': `sys.log('a', 'b')`,
  'console.log': `console.log('x')`,
  'sys.fork': `sys.fork(2)`,
  'sys.random': `sys.random(1, 2)`,
  'sys.time.now': `sys.time.now()`,
  'sys.tty.write': `sys.tty.write('')`,
  'test()': `test('t', () => true)`,
  '__loomEnter': `(__loomEnter as any)()`,
  'Date.now': `Date.now()`,
  'sys.env.get with a bad key (the host throws)': `sys.env.get(1 as any)`,
}

for (const [name, call] of Object.entries(BRIDGES)) {
  test(`a stack overflow while entering ${name} gives cell code only errors of its own realm (seed ${SEED})`, async () => {
    // Pads of seeded sizes: the overflow lands at a different point of the bridge each time.
    const random = seededRandom(SEED + name.length)
    const pads = Array.from({ length: 6 }, () => Math.floor(random() * 12))
    const e = await open({
      s: `declare const __loomEnter: unknown
const v = state.var<any>('v', 0)
const m = state.map<any>('m')
const q = state.queue<any>('q')
const b = state.bag<any>('b')
const c = state.counter('c')
const found = state.var<any>('found', null)
${PROBE}
function dive(n: number, out: { overflows: number; foreign: string[] }): void {
  try { dive(n + 1, out) } catch {}
  for (const k of ${JSON.stringify(pads)}) probe(() => pad(k, () => ${call}), out, ${JSON.stringify(name)})
}
export function step() {
  const out = { overflows: 0, foreign: [] as string[] }
  dive(0, out)
  found.set({ overflows: out.overflows, foreign: out.foreign.slice(0, 5) })
  sys.halt()
}`,
    }, { timeLimitMs: 60_000 }) // as below: the sweep's overflows outlasted 1000 ms with two test files on a loaded machine
    await e.run({ untilIdle: true })
    const got = value(e, 'found') as { overflows: number; foreign: string[] } | null
    assert.ok(got, `the step did not commit: ${e.attempts().map((a) => a.reason).join('; ')}`)
    assert.deepEqual(got.foreign, [], 'cell code got hold of a host object')
    assert.ok(got.overflows > 0, 'the sweep never overflowed the stack at the bridge: the attack did not run')
  })
}

test('a stack overflow while declaring state at load gives only errors of the sandbox', async () => {
  const e = await open({
    s: `const found = state.var<any>('found', null)
${PROBE}
const out = { overflows: 0, foreign: [] as string[] }
const made = { n: 0 }
function dive(n: number): void {
  try { dive(n + 1) } catch {}
  for (const k of [0, 1, 2, 3]) probe(() => pad(k, () => state.counter('c' + made.n++)), out, 'declare')
}
dive(0)
export function start() { found.set({ overflows: out.overflows, foreign: out.foreign.slice(0, 5) }); sys.halt() }`,
  }, { timeLimitMs: 60_000 }) // thousands of overflows take their time on a loaded machine; the limit is not what is tested
  await e.run({ untilIdle: true })
  const got = value(e, 'found') as { overflows: number; foreign: string[] } | null
  assert.ok(got, `start did not commit: ${e.attempts().map((a) => a.reason).join('; ')}`)
  assert.deepEqual(got.foreign, [])
  assert.ok(got.overflows > 0)
})

/** Runs `body` as a step's code and returns what it put in `out`, or the attempt's reason. */
async function attempt(body: string, extra = ''): Promise<{ out: unknown; reason: string | null }> {
  const e = await open({ s: `const out = state.var<any>('out', null)\n${extra}\nexport function step() {\n${body}\n  sys.halt()\n}` })
  await e.run({ untilIdle: true })
  return { out: value(e, 'out'), reason: e.attempts()[0]?.reason ?? null }
}

test('the classic node:vm escapes find only the sandbox', async () => {
  // `this` at the top of a function is undefined: the module is strict.
  assert.deepEqual((await attempt(`out.set(typeof (function (this: any) { return this })())`)).out, 'undefined')
  // The constructor chain of every value leads to the sandbox's Function, which cannot compile strings.
  for (const start of ['({})', '[]', 'sys', 'state', 'test', 'sys.time', 'out', 'Error', '(() => 1)', 'new Error("x")']) {
    const r = await attempt(`out.set(String((${start} as any).constructor.constructor('return 1')()))`)
    assert.match(r.reason ?? '', /Code generation from strings disallowed/, start)
  }
  // A caller chain stops at strict code.
  assert.match((await attempt(`function f(): any { return (f as any).caller }\nout.set(String(f()))`)).reason ?? '', /'caller', 'callee', and 'arguments' properties may not be accessed/)
  // V8's stack hook cannot be installed: Error is frozen.
  assert.match((await attempt(`(Error as any).prepareStackTrace = (e: any, s: any) => s`)).reason ?? '', /not extensible|read only/)
  // Nothing of the host is a global.
  for (const name of ['process', 'require', 'Buffer', 'global', 'module']) {
    assert.match((await attempt(`out.set(typeof (${name} as any))`)).reason ?? '', /is not available in a Loom cell/, name)
  }
})

test('a Proxy handed to the host is refused before any of its traps runs', async () => {
  const traps = `new Proxy({}, { get() { throw new Error('TRAP get') }, getPrototypeOf() { throw new Error('TRAP proto') }, ownKeys() { throw new Error('TRAP keys') }, getOwnPropertyDescriptor() { throw new Error('TRAP desc') } }) as any`
  for (const call of [`out.set(${traps})`, `sys.log('c', ${traps})`, `out.set({ inside: ${traps} })`]) {
    const r = await attempt(call)
    assert.doesNotMatch(r.reason ?? '', /TRAP/, call)
  }
})

test('an http() reply the host cannot read (a cycle, a BigInt, a throwing getter) is a 500 for that request, not a crash', async () => {
  for (const [body, says] of [
    [`{ const a: any = {}; a.a = a; return { body: a } }`, /circular/],
    [`{ return { body: { n: 1n } as any } }`, /BigInt/],
    [`{ return { get status(): number { throw new Error('boom') } } }`, /boom/],
    [`{ return { body: { toJSON() { throw new Error('tojson') } } } }`, /tojson/],
  ] as const) {
    const e = await open({ s: `export function http(req: any) ${body}` })
    const r = await e.request({ method: 'GET', path: '/', query: {}, headers: {}, body: '' }, 2000)
    assert.equal(r.status, 500, body)
    assert.match(r.body, says)
  }
})

test('module-level values are read-only once the app has loaded, and the error says to use state', async () => {
  const cases: [string, string, RegExp][] = [
    ['const seen: number[] = []', 'seen.push(1)', /Cannot add property 0, object is not extensible .*keep what changes between transactions in state/],
    ['const box = { n: 0 }', 'box.n++', /Cannot assign to read only property 'n'.*state\.var/],
    ['const deep = { a: { list: [1] } }', 'deep.a.list[0] = 2', /read only property '0'/],
    ['const cache = new Map<string, number>()', "cache.set('a', 1)", /'cache' \(a Map declared outside state\) cannot change once the app has loaded: keep what changes in state\.map/],
    ['const seenIds = new Set<string>()', "seenIds.add('a')", /'seenIds' \(a Set declared outside state\)/],
    ['const when = new Date(0)', 'when.setTime(5)', /'when' \(a Date declared outside state\)/],
    ['class Counter { static n = 0 }', 'Counter.n++', /read only property 'n'/],
    ['function f() {}', '(f as any).calls = 1', /not extensible/],
  ]
  for (const [declare, mutate, says] of cases) {
    const r = await attempt(`${mutate}\n  out.set(1)`, declare)
    assert.match(r.reason ?? 'it committed', says, declare)
    assert.equal(r.out, null, `${declare}: the step must not commit`)
  }
  // Reading stays free: a lookup table declared once works.
  assert.equal((await attempt(`out.set(table.get('a')! + list[1]!)`, `const table = new Map([['a', 1]])\nconst list = [1, 2]`)).out, 3)
  // Binary data cannot be made read-only: the load fails, naming the value and where it is declared.
  await assert.rejects(open({ s: `const buf = new Uint8Array(4)\nexport function step() { buf[0]++ }` }), /cell #s, line 1\): TypeError: 'buf' holds binary data/)
})

test('a Map, Set or Date disguised with a plain prototype is not plain data', async () => {
  for (const [made, says] of [
    [`Object.setPrototypeOf(new Map([['a', 1]]), Object.prototype)`, /a Map is not plain data, whatever its prototype/],
    [`Object.setPrototypeOf(new Set([1]), Object.prototype)`, /a Set is not plain data, whatever its prototype/],
    [`Object.setPrototypeOf(new Date(0), Object.prototype)`, /a Date is not plain data, whatever its prototype/],
    [`Object.setPrototypeOf(new Uint8Array(2), Array.prototype)`, /is not plain data/],
  ] as const) {
    const r = await attempt(`out.set({ inside: ${made} } as any)`)
    assert.match(r.reason ?? 'it committed', says, made)
  }
})

test('a cell cannot leave a promise callback behind to run after its transaction has ended', async () => {
  for (const schedule of [
    `Promise.resolve().then(() => late.set('ran'))`,
    `Promise.resolve({ then(done: () => void) { late.set('ran'); done() } } as any)`,
    `new Promise<void>((done) => done()).then(() => late.set('ran'))`,
    `(({}) as any).constructor.constructor === Function && typeof Promise`,
  ]) {
    const r = await attempt(`${schedule}\n  out.set(1)`, `const late = state.var<string>('late', '')`)
    assert.match(r.reason ?? 'it committed', /Promise is not available in a Loom cell: a transaction is synchronous/, schedule)
    assert.equal(r.out, null, schedule)
  }
  // Async syntax is refused before the code ever runs.
  await assert.rejects(open({ s: `export async function step() {}` }), /async functions cannot run in a cell/)
})
