// The time limit is per transaction, never per batch: transactions that
// are long but honest commit however many share a batch, on the loop, over
// http and on replay; a real runaway is still cut off, named, and the app
// goes on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { notebook, open, plain, value } from './helpers.ts'
import type { HttpRequest } from '../engine/runtime/http.ts'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-timelimit-'))

/** Cell code that spins for a while without a clock: a fixed number of rounds of arithmetic. */
const BUSY = 'function busy(k: number) { let x = 0; for (let i = 0; i < k; i++) x = (x * 31 + i) | 0; return x }'

/** How many rounds of BUSY take about `ms` on this machine now (measured once, so the test adapts to its load). */
function rounds(ms: number): number {
  const busy = (k: number) => {
    let x = 0
    for (let i = 0; i < k; i++) x = (x * 31 + i) | 0
    return x
  }
  busy(1e6)
  let k = 1e6
  for (;;) {
    const t0 = performance.now()
    busy(k)
    const took = performance.now() - t0
    if (took > 20) return Math.max(1, Math.round((k * ms) / took))
    k *= 4
  }
}

function request(path: string): HttpRequest {
  return { method: 'GET', path, query: {}, headers: {}, body: '' }
}

test('steps that each take a sixth of the time limit all commit, however many share a batch, and the app goes on', { timeout: 60_000 }, async () => {
  // Twelve of them take twice the limit together: each is timed alone.
  const k = rounds(170)
  const e = await open({
    s: `const n = state.var('n', 0)
${BUSY}
export function step() {
  busy(${k})
  n.set(n.get() + 1)
  if (n.get() === 12) sys.halt()
}`,
  }, { timeLimitMs: 1000 })
  const s = await e.run({ untilIdle: true })
  assert.deepEqual(e.attempts().map((a) => a.reason), [])
  assert.equal(value(e, 'n'), 12)
  assert.equal(s.status, 'halted')
})

test('a step whose choices it tries one after another, each long, commits once one way works, however long the tries take together', { timeout: 60_000 }, async () => {
  // Each try is a quarter of the limit; five of the six ways wait.
  const k = rounds(100)
  const e = await open({
    s: `const n = state.var('n', 0)
${BUSY}
export function step() {
  busy(${k})
  if (sys.fork(6) !== 5) sys.abort('not this way')
  n.set(n.get() + 1)
  if (n.get() === 3) sys.halt()
}`,
  }, { timeLimitMs: 400 })
  const s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'halted')
  assert.equal(value(e, 'n'), 3)
  assert.deepEqual([...new Set(e.attempts().map((a) => a.reason))], ['not this way'])
})

test('a step that loops forever is cut off with its cell, is an attempt, and the app still answers requests and takes new code', { timeout: 60_000 }, async () => {
  const cells = {
    s: `const n = state.var('n', 0)
export function step() {
  n.set(n.get() + 1)
  if (n.get() === 3) { while (true) {} }
  if (n.get() === 5) sys.halt()
}
export function http(req: { path: string }) {
  return { status: 200, body: 'n=' + n.get() }
}`,
  }
  const e = await open(cells, { timeLimitMs: 100 })
  const s = await e.run({ untilIdle: true })
  // Steps 1 and 2 committed in the same batch as the runaway: only the runaway is blamed.
  assert.equal(s.status, 'parked')
  assert.equal(value(e, 'n'), 2)
  const a = e.attempts().at(-1)!
  assert.equal(a.reason, 'ran past its time limit of 100 ms')
  assert.equal(a.location?.cell, 's')
  assert.equal(typeof a.location?.line, 'number')
  assert.equal(e.attempts().length, 1)
  // Requests are still served while the step waits.
  const r = await e.request(request('/'))
  assert.equal(r.status, 200)
  assert.equal(r.body, 'n=2')
  // New code retries the step; it finishes.
  const replaced = await e.replaceCode(notebook({ s: cells.s.replace('{ while (true) {} }', '{}') }))
  assert.ok(replaced.ok)
  const t = await e.run({ untilIdle: true })
  assert.equal(t.status, 'halted')
  assert.equal(value(e, 'n'), 5)
})

test('a long test check after each commit is timed alone, not with the step before it', { timeout: 60_000 }, async () => {
  const k = rounds(120)
  const e = await open({
    s: `const n = state.var('n', 0)
${BUSY}
export function step() { busy(${k}); n.set(n.get() + 1); if (n.get() === 4) sys.halt() }
test('slow but true', () => busy(${k}) !== 0.5)`,
  }, { timeLimitMs: 700, checkTests: true })
  const s = await e.run({ untilIdle: true })
  assert.equal(s.status, 'halted')
  assert.deepEqual(plain(e.testFailures), [])
  assert.equal(value(e, 'n'), 4)
})

test('an http() that tries to leave a promise callback behind (one that would loop forever after it commits) is a 500 saying why, and loom run keeps answering', { timeout: 60_000 }, async () => {
  // A callback would run after its transaction, outside any: cells have no Promise (sandbox.ts).
  const nb = join(dir, 'spin.loom.md')
  writeFileSync(nb, notebook({
    s: `const hits = state.counter('hits')
export function http(req: { path: string }) {
  hits.add(1)
  if (req.path === '/spin') Promise.resolve().then(() => { while (true) {} })
  return { status: 200, body: 'hits=' + hits.get() }
}`,
  }))
  const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--db', join(dir, 'spin.loom.db'), '--port', '0', '--time-limit', '100'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        err += d
        const m = /serving (http:\/\/[0-9.:]+)/.exec(err)
        if (m) resolve(m[1]!)
      })
      child.on('exit', (code) => reject(new Error(`loom run exited (${code}): ${err}`)))
    })
    const get = async (path: string) => {
      const res = await fetch(url + path)
      return `${res.status} ${await res.text()}`
    }
    const refused = /^500 Promise is not available in a Loom cell: a transaction is synchronous.*spin\.loom\.md:7 \(cell #s, line 4\)/
    assert.match(await get('/spin'), refused)
    assert.equal(await get('/'), '200 hits=1', 'the refused request changed nothing')
    const [a, b, c] = await Promise.all([get('/spin'), get('/spin'), get('/')])
    assert.match(a, refused)
    assert.match(b, refused)
    assert.equal(c, '200 hits=2')
    assert.equal(await get('/'), '200 hits=3')
    assert.equal(child.exitCode, null, err)
  } finally {
    child.kill()
  }
})

test('an http() that loops forever is answered 500, and the requests queued with it are served', { timeout: 60_000 }, async () => {
  const e = await open({
    s: `const hits = state.counter('hits')
export function http(req: { path: string }) {
  if (req.path === '/spin') { while (true) {} }
  hits.add(1)
  return { status: 200, body: 'hits=' + hits.get() }
}`,
  }, { timeLimitMs: 100, clock: 'real' })
  const answers = await Promise.all(['/', '/spin', '/', '/spin', '/'].map((p) => e.request(request(p))))
  assert.deepEqual(answers.map((r) => r.status), [200, 500, 200, 500, 200])
  assert.match(answers[1]!.body, /http\(\) ran past its time limit of 100 ms/)
  assert.deepEqual(answers.filter((r) => r.status === 200).map((r) => r.body), ['hits=1', 'hits=2', 'hits=3'])
})

test('loom replay --verify of an honest history verifies however long its events take together', { timeout: 120_000 }, () => {
  // 70 events of ~40 ms each: far past the limit together, each well within it.
  const k = rounds(40)
  const nb = join(dir, 'slow.loom.md')
  writeFileSync(nb, notebook({ s: `const n = state.var('n', 0)\n${BUSY}\nexport function step() { busy(${k}); n.set(n.get() + 1); if (n.get() === 70) sys.halt() }` }))
  const db = join(dir, 'slow.loom.db')
  const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
  const run = loom(['run', nb, '--db', db, '--time-limit', '400', '--json'])
  assert.equal(run.status, 0, run.stderr)
  assert.equal(JSON.parse(run.stdout).state.n, 70)
  const replay = loom(['replay', db, '--verify', '--time-limit', '400'])
  assert.equal(replay.status, 0, replay.stderr)
  assert.match(replay.stdout, /replayed 72 events of branch 'main': every event re-executed exactly as logged/)
})

test('exploration does not call a transaction an error because those before it in a batch took long', { timeout: 120_000 }, async () => {
  // About 20 transactions of ~50 ms: far past the limit together, each well within it.
  const k = rounds(50)
  const m = await Model.create(notebook({ s: `const n = state.var('n', 0)\n${BUSY}\nexport function step() {\n  busy(${k})\n  if (n.get() >= 8) sys.halt()\n  n.set(n.get() + 1 + sys.fork(2))\n}` }), { path: 'slow.loom.md', timeLimitMs: 300 })
  const r = explore(m)
  assert.deepEqual(r.violations.map((v) => v.message), [])
  assert.equal(r.exhausted, true)
  assert.ok(r.states >= 9, `${r.states} states`)
})
