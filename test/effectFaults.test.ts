// Effects' outcomes explored (DESIGN §3a, §6): a safe read waited for is
// answered by each response a log recorded for it and by each fault that can
// happen (timeout, refused, 5xx, a failed file read); the shortest trace that
// breaks a test names the fault, and saved as a branch it replays.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { notebook, plain, value, allowEffects, loomAsync } from './helpers.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { openSession } from '../engine/replay/session.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { describeTrace } from '../engine/replay/trace.ts'
import { parseFaults } from '../engine/replay/effectOutcomes.ts'
import { exploreParallel } from '../engine/replay/exploreParallel.ts'
import { prepareMoment } from '../engine/replay/prepareMoment.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-faults-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

/** The stock service: a real server on loopback that says the warehouse holds `stock` items. */
async function stockService(stock: string): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0
  const s = createServer((_req, res) => {
    hits++
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(stock)
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  return { url, hits: () => hits, close: () => new Promise((r) => s.close(() => r())) }
}

/**
 * An inventory service: each step sells one item while the stock service
 * says there is stock. `onFault` is what it does when the read fails.
 */
function inventory(url: string, onFault: string): string {
  return notebook({
    shop: `const sold = state.var<number>('sold', 0)
const failures = state.var<number>('failures', 0)
const retryAt = state.var<number>('retryAt', 0)

export function step() {
  sys.time.await(retryAt.get())
  let stock: number
  try {
    const r = sys.http.get('${url}/stock', { maxAge: 1000 })
    if (r.status !== 200) throw new Error('the stock service answered ' + r.status)
    stock = Number(r.body)
  } catch {
    ${onFault}
  }
  if (sold.get() >= stock) return sys.halt()
  sold.set(sold.get() + 1)
}

test('never sells more than the warehouse holds', () => sold.get() <= 1)`,
  }, `effects: { http: ['http://127.0.0.1:*'] }`)
}

/** The bug: a slow stock service is taken to mean there is plenty. */
const ASSUME_PLENTY = 'stock = 10'
/** The fix: the stock is unknown; sell nothing, ask again in two seconds, and stop selling after three failures. */
const RETRY_LATER = `if (failures.get() >= 2) return sys.halt()
    failures.set(failures.get() + 1)
    retryAt.set(sys.time.now() + 2000)
    return`

const loom = (args: string[]) => loomAsync(args)

/** Runs `text` for real against the stock service (the read is recorded), then stops the service: exploration never touches it. */
async function recorded(text: string, srv: { hits: () => number; close: () => Promise<void> }): Promise<{ path: string; db: string }> {
  const root = join(dir, `nb-${++n}`)
  mkdirSync(root)
  const path = join(root, 'shop.loom.md')
  const db = join(root, 'shop.loom.db')
  writeFileSync(path, text)
  await allowEffects(path)
  const r = await loom(['run', path, '--db', db, '--until-idle'])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.equal(srv.hits(), 1, 'the live run read the stock once')
  await srv.close()
  return { path, db }
}

async function exploreFrom(text: string, db: string, faults?: ReturnType<typeof parseFaults>) {
  const log = SqliteLog.open(db)
  try {
    const model = await Model.create(text, { path: 'shop.loom.md', from: { log, branch: 'main', seq: 0 }, ...(faults !== undefined ? { faults: faults as never } : {}) })
    const result = explore(model)
    return { model, result }
  } finally {
    log.close()
  }
}

test('a read that times out is a move: the buggy inventory oversells after exactly [timeout, step, step], and the recorded answer alone finds nothing', async () => {
  const srv = await stockService('1')
  const text = inventory(srv.url, ASSUME_PLENTY)
  const { db } = await recorded(text, srv)
  const { model, result } = await exploreFrom(text, db)
  assert.equal(result.violations.length, 1, JSON.stringify(result.violations))
  const v = result.violations[0]!
  assert.equal(v.test, 'never sells more than the warehouse holds')
  const steps = describeTrace(model, v.trace).steps
  assert.deepEqual(steps.map((s) => s.label), [
    `sys.http.get("${srv.url}/stock") → fault: timeout (no complete answer within 30000 ms)`,
    'step()',
    'step()',
  ])
  assert.equal(v.trace[0]!.method, 'effect')
  assert.equal(v.trace[0]!.fault, 'timeout')
  assert.deepEqual(steps[2]!.changes, [{ state: 'sold', before: 1, after: 2 }])
  // Every effect was given its recorded answer and every fault: nothing about effects is left unexplored.
  assert.deepEqual(result.unexplored, [])

  // With no fault, the recorded response ("1") is all the world says: no oversell, and the report names the faults left out.
  const calm = await exploreFrom(text, db, parseFaults('none'))
  assert.equal(calm.result.violations.length, 0, JSON.stringify(calm.result.violations))
  assert.deepEqual(calm.result.unexplored, ['effect faults — timeout, refused, 5xx, failed, lost were not tried (--faults none; leave it out to try every fault)'])

  // A 5xx alone (its body is no number) breaks it the same way, one fault named.
  const only5xx = await exploreFrom(text, db, parseFaults('5xx'))
  assert.match(describeTrace(only5xx.model, only5xx.result.violations[0]!.trace).steps[0]!.label, /→ fault: 5xx \(503 "Service Unavailable"\)$/)
})

test('the fixed twin treats a fault as "unknown, retry later": every fault at every retry is explored and nothing breaks', async () => {
  const srv = await stockService('1')
  const text = inventory(srv.url, RETRY_LATER)
  const { db } = await recorded(text, srv)
  const { result } = await exploreFrom(text, db)
  assert.deepEqual(result.violations, [])
  assert.equal(result.exhausted, true)
  assert.equal(result.deadlocks, 0)
  assert.deepEqual(result.unexplored, [])
  // The start, then per try (three at most: 0, 2000, 4000 ms) the read's four answers, the sales and the clock moves.
  assert.ok(result.states > 10, `${result.states} states`)
  // Two threads find the same states: an effect's answers cross between shards like any move.
  const log = SqliteLog.open(db)
  const from = prepareMoment(log, { branch: 'main', seq: 0 })
  log.close()
  const two = await exploreParallel(text, { path: 'shop.loom.md', workers: 2, from })
  assert.deepEqual([two.states, two.transitions, two.violations.length, two.unexplored], [result.states, result.transitions, 0, []])
  const buggy = await exploreParallel(inventory('http://127.0.0.1:9', ASSUME_PLENTY), { path: 'shop.loom.md', workers: 2, faults: ['timeout'], maxStates: 1000 })
  assert.deepEqual(buggy.violations[0]!.trace.map((m) => [m.method, m.fault ?? null]), [['effect', 'timeout'], ['step', null], ['step', null]])
})

test('a read nothing recorded gets only faults, and the report says it never got a success', async () => {
  const text = notebook({
    s: `const n = state.var<number>('n', 0)
export function step() {
  if (n.get() >= 2) return sys.halt()
  if (sys.fork(2) === 0) n.set(n.get() + 1)
  else n.set(n.get() + Number(sys.http.get('http://127.0.0.1:9/').body))
}`,
  }, `effects: { http: ['http://127.0.0.1:*'] }`)
  const r = explore(await Model.create(text, { path: 'x.loom.md' }))
  // The cell does not catch the fault: step() throws, found after [step, the fault] or straight at the fault.
  const error = r.violations.find((v) => v.kind === 'error')!
  assert.match(error.message, /^step\(\) throws: sys\.http\.get\("http:\/\/127\.0\.0\.1:9\/"\): no complete answer within 30000 ms$/)
  assert.deepEqual(error.trace.map((m) => [m.method, m.fault ?? null]), [['effect', 'timeout']])
  assert.equal(r.deadlocks, 0)
  assert.deepEqual(r.unexplored, ['effect responses — no response is recorded for sys.http.get("http://127.0.0.1:9/"): exploration gave it only faults, never a success (explore from a moment of a log that recorded one: --from DB --at S)'])
})

test('--faults takes a list, none or all, and refuses a name that is no fault with the list of faults', () => {
  assert.deepEqual(parseFaults('timeout,5xx'), ['timeout', '5xx'])
  assert.deepEqual(parseFaults('none'), [])
  assert.deepEqual(parseFaults('all'), ['timeout', 'refused', '5xx', 'failed', 'lost'])
  assert.match(parseFaults('timeout,dns') as string, /^--faults timeout,dns: "dns" is not a fault; give a list of timeout \(an HTTP request gets no answer in time\), refused/)
})

test('loom explore: the fault in words and in --json, saved as a branch whose effect event records the fault; replay --verify passes with the service stopped', async () => {
  const srv = await stockService('1')
  const text = inventory(srv.url, ASSUME_PLENTY)
  const { path, db } = await recorded(text, srv)
  const t = await loom(['explore', path, '--from', db, '--at', '0'])
  assert.equal(t.status, 1, t.stdout + t.stderr)
  assert.match(t.stdout, new RegExp(`✗ test 'never sells more than the warehouse holds' fails after 3 moves \\(\\S*shop\\.loom\\.md:\\d+ \\(cell #shop, line 19\\)\\): returned false\\n  1\\. sys\\.http\\.get\\("${srv.url.replace(/\./g, '\\.')}/stock"\\) → fault: timeout \\(no complete answer within 30000 ms\\)\\n  2\\. step\\(\\)\\n       sold: 0 → 1\\n  3\\. step\\(\\)\\n       sold: 1 → 2`))
  assert.doesNotMatch(t.stdout, /did not explore/)
  const j = await loom(['explore', path, '--from', db, '--at', '0', '--json', '--faults', 'refused', '--save-branch', 'refused'])
  assert.equal(j.status, 1, j.stderr)
  const report = JSON.parse(j.stdout) as { violations: { trace: { method: string; fault?: string; label: string; input?: { response: unknown } }[] }[]; unexplored: string[]; savedBranch: { branch: string } }
  const first = report.violations[0]!.trace[0]!
  assert.equal(first.method, 'effect')
  assert.equal(first.fault, 'refused')
  assert.equal(first.label, `sys.http.get("${srv.url}/stock") → fault: refused (connection refused)`)
  assert.deepEqual(first.input!.response, { error: 'connection refused' })
  assert.deepEqual(report.unexplored, ['effect faults — timeout, 5xx, failed, lost were not tried (--faults refused; leave it out to try every fault)'])
  assert.equal(report.savedBranch.branch, 'refused')
  const log = SqliteLog.open(db)
  const events = [...log.iterate('refused')]
  log.close()
  const effect = events.find((e) => e.kind === 'effect')!
  assert.deepEqual(plain(effect.input as { response: unknown; fault: string; by: string }).response, { error: 'connection refused' })
  assert.equal((effect.input as { fault: string }).fault, 'refused')
  assert.equal((effect.input as { by: string }).by, 'exploration')
  const l = await loom(['log', db, '--branch', 'refused'])
  assert.match(l.stdout, new RegExp(`effect {7}wrote sys\\.effects  GET ${srv.url.replace(/\./g, '\\.')}/stock → failed: connection refused \\(given by exploration: refused\\)`), l.stdout)
  const v = await loom(['replay', db, '--branch', 'refused', '--verify'])
  assert.equal(v.status, 0, v.stdout + v.stderr)
  const s = await loom(['state', db, '--branch', 'refused', '--json'])
  const state = JSON.parse(s.stdout) as { sold: number; 'sys.effects': Record<string, { response: unknown }> }
  assert.equal(state.sold, 2)
  assert.deepEqual(Object.values(state['sys.effects']).map((r) => r.response), [{ error: 'connection refused' }])
})

/** A shop whose http() reads the stock before it sells; the warehouse holds 1 and one is sold already. */
const SHOP = (url: string) => notebook({
  shop: `const sold = state.var<number>('sold', 1)

export function http(req) {
  let stock: number
  try {
    const r = sys.http.get('${url}/stock')
    if (r.status !== 200) throw new Error('the stock service answered ' + r.status)
    stock = Number(r.body)
  } catch {
    stock = 10   // the service is slow: assume there is plenty
  }
  if (sold.get() >= stock) return { status: 409, body: 'sold out' }
  sold.set(sold.get() + 1)
  return { status: 201, body: 'sold' }
}

test('never sells more than the warehouse holds', () => sold.get() <= 1)`,
}, `effects: { http: ['http://127.0.0.1:*'] }`)

test('the agent panel answers a pending read by hand: a timeout previews the oversell, and committing records the timeout as the effect event before the request; replay --verify passes', async () => {
  const root = join(dir, `nb-${++n}`)
  mkdirSync(root)
  const path = join(root, 'shop.loom.md')
  writeFileSync(path, SHOP('http://127.0.0.1:9'))
  // No runner performs effects here: the read stays pending until the person answers it.
  const s = await openSession(path, { db: join(root, 'shop.loom.db'), clock: 'virtual', startTime: 1_000_000 })
  try {
    const e = s.engine
    await e.run({ untilIdle: true })
    const request = { method: 'POST', path: '/buy' }
    const waiting = e.preview({ method: 'http', request })
    assert.equal(waiting.committed, false)
    assert.deepEqual(waiting.pendingEffect && { what: waiting.pendingEffect.what, kind: waiting.pendingEffect.kind }, { what: 'sys.http.get("http://127.0.0.1:9/stock")', kind: 'http.get' })
    const hash = waiting.pendingEffect!.hash
    e.discardPreview(waiting.id)

    // The real answer ("1"): sold out, nothing changes.
    const calm = e.preview({ method: 'http', request, effects: [{ hash, response: { status: 200, body: '1' } }] })
    assert.equal(calm.committed, true)
    assert.deepEqual(plain(calm.outputs.http as { status: number; body: string }), { status: 409, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'sold out' })
    assert.deepEqual(calm.changes, [])
    assert.deepEqual(calm.answered, [{ hash, what: 'sys.http.get("http://127.0.0.1:9/stock")', answer: '200 "1"' }])
    e.discardPreview(calm.id)
    assert.equal(value(e, 'sys.effects') && Object.keys(value(e, 'sys.effects') as object).length, 0, 'a preview records no answer')

    // A timeout: the shop assumes plenty and oversells; the preview shows the broken test before anything happens.
    const slow = e.preview({ method: 'http', request, effects: [{ hash, fault: 'timeout' }] })
    assert.equal(slow.committed, true)
    assert.deepEqual(slow.changes, [{ state: 'sold', before: 1, after: 2 }])
    assert.deepEqual(slow.brokenTests.map((t) => t.test), ['never sells more than the warehouse holds'])
    assert.equal(slow.answered![0]!.answer, 'no complete answer within 30000 ms')
    const head = e.head
    const done = e.commitPreview(slow.id)
    assert.ok('event' in done, JSON.stringify(done))
    const events = e.events().slice(head)
    assert.deepEqual(events.map((ev) => ev.kind), ['effect', 'http'])
    assert.deepEqual(plain(events[0]!.input as object), { request: { kind: 'http.get', url: 'http://127.0.0.1:9/stock', headers: {} }, hash, response: { error: 'no complete answer within 30000 ms' }, ms: 0, by: 'hand' })
    assert.equal(value(e, 'sold'), 2)
    // The answer is the effect's outcome now: the next request reads it from the log, with no answer asked.
    const again = e.preview({ method: 'http', request })
    assert.equal(again.pendingEffect, undefined)
    e.discardPreview(again.id)
  } finally {
    s.log.close()
  }
  const log = SqliteLog.open(join(root, 'shop.loom.db'))
  try {
    assert.equal((await verifyBranch(log, 'main')).ok, true)
  } finally {
    log.close()
  }
})

test('two people answer the same pending read differently: the first commit records its answer, the second finds it answered and previews again with it', async () => {
  const root = join(dir, `nb-${++n}`)
  mkdirSync(root)
  const path = join(root, 'shop.loom.md')
  writeFileSync(path, SHOP('http://127.0.0.1:9'))
  const s = await openSession(path, { db: join(root, 'shop.loom.db'), clock: 'virtual', startTime: 1_000_000 })
  try {
    const e = s.engine
    const request = { method: 'POST', path: '/buy' }
    const hash = e.preview({ method: 'http', request }).pendingEffect!.hash
    const ann = e.preview({ method: 'http', request, effects: [{ hash, response: { status: 200, body: '1' } }] })
    const bob = e.preview({ method: 'http', request, effects: [{ hash, fault: 'timeout' }] })
    assert.ok('event' in e.commitPreview(bob.id))
    const late = e.commitPreview(ann.id)
    assert.ok('changed' in late, JSON.stringify(late))
    // Bob's sale changed sold too.
    assert.deepEqual(late.changed, ['sold', 'sys.http.get("http://127.0.0.1:9/stock") (it was answered meanwhile)'])
    assert.equal(late.preview.pendingEffect, undefined, 'the fresh preview reads the answer recorded')
    assert.equal(late.preview.answered, undefined)
    assert.equal(e.events().filter((ev) => ev.kind === 'effect').length, 1, 'one answer is recorded, never two')
  } finally {
    s.log.close()
  }
})

test('hostile answers by hand are refused by the protocol, and a fault that cannot happen to a file read says so', async () => {
  const { checkRequest } = await import('../engine/protocol/validate.ts')
  const ask = (effects: unknown) => checkRequest({ kind: 'request', id: 1, op: 'preview', params: { method: 'step', effects } })
  const hash = 'a'.repeat(64)
  for (const bad of [{}, [{ hash: 'x', fault: 'timeout' }], [{ hash, fault: 'dns' }], [{ hash, fault: 'timeout', response: { error: 'x' } }], [{ hash, response: { status: 99, body: '' } }], [{ hash, response: { error: 1 } }], [{ hash, response: { status: 200, body: 'x', headers: { a: 1 } } }], Array.from({ length: 17 }, () => ({ hash, fault: 'timeout' })), [{ hash, response: { status: 200, body: '', __proto__: { x: 1 }, extra: 1 } }]]) {
    const r = ask(bad)
    assert.equal(r.ok, false, JSON.stringify(bad))
    assert.match(JSON.stringify(r), /a list of at most 16 answers to pending effects/)
  }
  assert.equal(ask([{ hash, fault: 'timeout' }, { hash, response: { status: 200, body: '1', headers: { 'content-type': 'text/plain' } } }, { hash, response: { error: 'boom' } }]).ok, true)
})
