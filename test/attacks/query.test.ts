// Attacks on `loom query DB EXPR` and the `query` op, where a view guest of a
// shared session types EXPR: escapes (constructor chains, the stack-depth
// trick on every global, accessors the host might touch), code that would run
// outside the time limit (a FinalizationRegistry callback, Atomics.wait, an
// accessor on the context's global), answers that cannot be shown, and
// pollution of what the host reads back. Each leaves the log byte-for-byte
// as it was and the process answering.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { asGuest } from './sharedServe.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-query-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const bank = join(dir, 'bank.loom.db')
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')
let before_: string
before(() => {
  copyFileSync('test/fixtures/bank.loom.db', bank)
  before_ = sha(bank)
})

const ask = (expr: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/loom.js', 'query', bank, expr, '--json', ...args], { encoding: 'utf8', timeout: 30_000 })
  assert.notEqual(r.signal, 'SIGTERM', `loom query did not end in 30 s on ${expr}`)
  assert.ok(r.status === 0 || r.status === 1 || r.status === 2, `loom query exited ${r.status} ${r.signal} on ${expr}:\n${r.stderr}`)
  return { status: r.status, stderr: r.stderr, answer: r.stdout ? JSON.parse(r.stdout) : null }
}

// Puts an accessor where the host used to write each batch: it must never be called by the host.
const HIJACK_GLOBAL = (body: string) => `(Object.defineProperty(globalThis, '__loomBatch', { configurable: true, get() { return '' }, set(v) { ${body} } }), true)`

test('an accessor the expression puts on the global is never run by the host: the query ends and answers', () => {
  for (const body of ['for (;;) {}', 'throw { toString() { for (;;) {} } }', 'throw this']) {
    const { status, answer } = ask(HIJACK_GLOBAL(body))
    assert.equal(status, 0)
    assert.deepEqual(answer.matches.map((m: { seq: number }) => m.seq), [1, 2, 3, 4, 5, 6, 7])
  }
  assert.equal(sha(bank), before_)
})

test('what would run outside the time limit is not there: FinalizationRegistry, WeakRef, Atomics, SharedArrayBuffer', () => {
  const fr = ask('(() => { const r = new FinalizationRegistry(() => { for (;;) {} }); for (let i = 0; i < 1e5; i++) r.register({ a: new Array(50) }, i); return true })()')
  assert.equal(fr.status, 2)
  assert.match(fr.answer.errors[0].message, /FinalizationRegistry is not available/)
  for (const expr of ['Atomics.wait(new Int32Array(4), 0, 0)', 'new WeakRef({})', 'new SharedArrayBuffer(8)', 'WebAssembly.Module']) {
    const r = ask(expr)
    assert.equal(r.status, 2, expr)
    assert.equal(r.answer.errorCount, 7, expr)
  }
})

test('no constructor chain, event value or stack depth hands the expression an object of the host', () => {
  const chains = [
    "typeof this.constructor.constructor('return process')()",
    "typeof event.constructor.constructor('return process')()",
    "typeof accounts.get.constructor('return process')()",
    "typeof sys.env.get.constructor('return process')()",
    "typeof $state.constructor.constructor('return process')()",
    "typeof (() => { try { null.x } catch (e) { return e.constructor.constructor('return process')() } })()",
    "typeof Object.getOwnPropertyDescriptor(globalThis, '$state').get.constructor('return process')()",
    "typeof globalThis.process + typeof require + typeof module",
  ]
  for (const expr of chains) {
    const { answer } = ask(expr)
    for (const m of answer.matches) assert.match(String(m.value), /^undefined/, expr)
  }
  // The trick of issue 14: recurse until few frames are left, then touch every global and bridge; an error made there must be of the context.
  const sweep = `(() => {
    let foreign = null;
    const touch = [() => globalThis.zz = 1, () => globalThis.sys, () => sys.env.get('HOME'), () => accounts.get('bob'), () => accounts.keys(),
      () => $state, () => event.seq, () => Reflect.ownKeys(globalThis), () => Object.defineProperty(globalThis, 'q', { value: 1 }), () => JSON.stringify(event)];
    const probe = () => {
      try { probe() } catch {
        for (const t of touch) try { t() } catch (e) { if (foreign === null && e !== null && typeof e === 'object' && !(e instanceof Error)) foreign = e.constructor.constructor('return typeof process')() }
      }
    };
    probe();
    return foreign === null ? 'clean' : 'ESCAPED ' + foreign;
  })()`
  const { status, answer } = ask(sweep, '--to', '2')
  assert.equal(status, 0)
  for (const m of answer.matches) assert.equal(m.value, 'clean')
})

test('answers that cannot be shown are said so, bounded; the host reads back only its own JSON', () => {
  const cases: [string, RegExp][] = [
    ['({ toJSON() { throw new Error("no") } })', /cannot be shown: no/],
    ['(() => { const o = {}; o.o = o; return o })()', /cannot be shown/],
    ['(() => { let o = []; for (let i = 0; i < 1e6; i++) o = [o]; return o })()', /cannot be shown/],
    ["'x'.repeat(5e6)", /… \(5000002 characters\)/],
    ['({ get a() { for (;;) {} } })', /./],
  ]
  for (const [expr, shown] of cases) {
    const { status, answer, stderr } = ask(expr, '--to', '2')
    if (status === 2 && answer === null) {
      // The time limit stopped it, said as such: at event 1, or (a loaded machine) over the batch of events 1..2 it was asked in.
      assert.match(stderr, /ran past 1000 ms (at event 1|over events 1\.\.2 together \(the limit is for each 2 events\)) and was stopped/, expr)
      continue
    }
    assert.equal(status, 0, expr)
    assert.match(JSON.stringify(answer.matches[0].value), shown, expr)
  }
  // Polluting the intrinsics fails (they are frozen) and cannot change the host's reading of the answer.
  const polluted = ask("(Object.prototype.matches = [[1, 'x']], JSON.stringify = () => '{}', Array.prototype.push = null, true)")
  assert.equal(polluted.status, 2)
  assert.match(polluted.answer.errors[0].message, /read[- ]only|not extensible|Cannot/)
  assert.equal(sha(bank), before_)
})

test('an endless loop is stopped at the limit with the event named', () => {
  const loop = ask('event.seq === 4 ? (() => { for (;;) {} })() : false', '--time-limit', '300')
  assert.equal(loop.status, 2)
  assert.match(loop.stderr, /ran past 300 ms at event 4/)
  assert.equal(sha(bank), before_)
})

// Expressions that allocate without end: one huge allocation (fatal to a whole process even in a worker
// thread with resourceLimits), and growth step by step. Under a 64 MB limit each dies well within the REPL's
// 1000 ms: the growth is by 800 KB a step (by one number a step, a loaded machine's evaluator ran past the time
// limit before it reached the heap's).
const BOMBS = ['Array.from({ length: 1e9 })', '(() => { const a = []; for (;;) a.push(new Array(1e5).fill(1.5)) })()', 'new Array(5e7).fill(0)']
const SMALL_HEAP = { LOOM_EVAL_MEMORY_MB: '64' }

test('a memory bomb in loom query is stopped at its heap limit with exit 2, the event named, and the log untouched', () => {
  for (const bomb of BOMBS) {
    // A time limit far past what filling 64 MB takes: on a loaded machine the default 1000 ms stopped a bomb first.
    const r = spawnSync(process.execPath, ['bin/loom.js', 'query', bank, `event.seq === 3 && ${bomb}`, '--time-limit', '20000'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...SMALL_HEAP } })
    assert.equal(r.status, 2, `${bomb}: ${r.stderr}`)
    assert.match(r.stderr, /the expression used more than 64 MB at event 3 and was stopped/, bomb)
    assert.doesNotMatch(r.stderr, /FATAL|heap out of memory/, 'V8\'s own report stays with the evaluator process')
  }
  // The next query answers as before.
  const honest_ = ask("accounts.get('bob') < 50")
  assert.equal(honest_.status, 0)
  assert.deepEqual(honest_.answer.matches.map((m: { seq: number }) => m.seq), [3, 4, 5, 6, 7])
  assert.equal(sha(bank), before_)
})

test('a view guest who types a memory bomb in the REPL or the Questions tab gets an error, and the engine serves on without a restart', async () => {
  Object.assign(process.env, SMALL_HEAP)
  try {
    await asGuest('samples/bank.loom.md', 'view', async (client, s) => {
      for (const bomb of BOMBS) {
        const repl = await client.call('evaluate', { expr: bomb }).then(() => null, (e: Error) => e.message)
        assert.match(String(repl), /the expression used more than 64 MB and was stopped/, bomb)
        const question = await client.call('query', { expr: `event.seq === 1 && ${bomb}` }).then(() => null, (e: Error) => e.message)
        assert.match(String(question), /the expression used more than 64 MB at event 1 and was stopped/, bomb)
        // The next honest expression answers, from a fresh evaluator.
        assert.deepEqual(await client.call('evaluate', { expr: "typeof accounts.get('alice')" }), { value: 'number' })
      }
      const status = await client.call('status', {})
      assert.equal(status.restarted, undefined, 'the engine process was never restarted')
      assert.ok(s.alive())
      assert.doesNotMatch(s.stderr(), /engine process (died|ended|exited)/)
    })
  } finally {
    delete process.env.LOOM_EVAL_MEMORY_MB
  }
})

test('a view guest of loom serve --share cannot hang or crash the engine with a query', () =>
  asGuest('samples/bank.loom.md', 'view', async (client, s) => {
    const r = (await client.call('query', { expr: HIJACK_GLOBAL('for (;;) {}') })) as { count: number }
    assert.ok(r.count >= 1)
    const fr = (await client.call('query', { expr: 'typeof FinalizationRegistry === "function" && new FinalizationRegistry(() => { for (;;) {} })' })) as { errorCount: number; count: number }
    assert.equal(fr.count, 0)
    assert.ok(s.alive())
  }))

test('a promise the expression leaves rejected (Promise.reject, an async throw, import()) does not end the evaluator: every batch of a long branch is answered', () => {
  const long = join(dir, 'long.loom.db')
  const run = spawnSync(process.execPath, ['bin/loom.js', 'run', 'samples/counter.loom.md', '--db', long, '--steps', '1200'], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(run.status, 0, run.stderr)
  for (const expr of ['Promise.reject(1) && false', '(async () => { throw 1 })() && false', "import('node:fs') && false"]) {
    const r = spawnSync(process.execPath, ['bin/loom.js', 'query', long, expr, '--json'], { encoding: 'utf8', timeout: 60_000 })
    assert.doesNotMatch(r.stderr, /evaluator process ended/, expr)
    assert.equal(r.status, 1, `${expr}: ${r.stderr}`)
    assert.equal(JSON.parse(r.stdout).count, 0)
  }
})

test('a guest\'s question or REPL line cannot pick a recorded credential out of a request: it gets [redacted], as everything shown to a guest', async () => {
  const nb = join(dir, 'keeps-headers.loom.md')
  writeFileSync(nb, "---\nhttp: 0\n---\n```ts #api\nconst last = state.var<any>('last', null)\nexport function http(req: { headers: Record<string, string> }) {\n  last.set({ headers: req.headers })\n  return { status: 200, body: 'ok' }\n}\n```\n")
  await asGuest(nb, 'run', async (client, s) => {
    await client.call('run', {})
    const port = Number(/answers HTTP at http:\/\/127\.0\.0\.1:(\d+)/.exec(s.stdout())![1])
    assert.equal((await fetch(`http://127.0.0.1:${port}/x`, { headers: { authorization: 'Bearer the-owner-secret' } })).status, 200)
    const picked = (await client.call('query', { expr: "event.kind === 'http' && event.input.headers.authorization" })) as { matches: { value?: unknown }[] }
    assert.deepEqual(picked.matches.map((m) => m.value), ['[redacted]'])
    const fromState = (await client.call('query', { expr: "last.get() !== null && last.get().headers.authorization" })) as { matches: { value?: unknown }[] }
    assert.deepEqual(fromState.matches.map((m) => m.value), ['[redacted]'])
    assert.deepEqual(await client.call('evaluate', { expr: 'last.get().headers.authorization' }), { value: '[redacted]' })
    assert.doesNotMatch(JSON.stringify(await client.call('query', { expr: 'event.input' })), /the-owner-secret/)
  })
})
