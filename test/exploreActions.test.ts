// Actions' outcomes explored (DESIGN §3a, §6): each action pending in a
// state is answered by a success (the outcome a log recorded, else a plain
// one) and by each fault that can happen to it — among them `lost`, an HTTP
// action the other system performed whose answer never came back. The
// must-show of issue 17: an order whose charge is lost and retried under a
// new key charges the customer twice, found by hand-checked trace; its twin,
// retrying under the order's own key, passes exhaustively.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { notebook, plain, loomAsync, allowEffects } from './helpers.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { describeTrace } from '../engine/replay/trace.ts'
import { parseFaults } from '../engine/replay/effectOutcomes.ts'
import { exploreParallel } from '../engine/replay/exploreParallel.ts'
import { ReplayAgent } from '../engine/runtime/agent.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-actions-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

/**
 * A payment service: a real server on loopback that charges once per Idempotency-Key
 * (a request with a key it has seen gets the same answer) and answers with `pad` extra characters.
 */
async function payments(pad = 0): Promise<{ origin: string; charges: () => number; hits: () => number; close: () => Promise<void> }> {
  const seen = new Map<string, string>()
  let hits = 0
  const s = createServer((req, res) => {
    hits++
    let body = ''
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      const key = String(req.headers['idempotency-key'])
      if (!seen.has(key)) seen.set(key, JSON.stringify({ charge: seen.size + 1, order: JSON.parse(body).order, pad: 'x'.repeat(pad) }))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(seen.get(key))
    })
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  return { origin, charges: () => seen.size, hits: () => hits, close: () => new Promise((r) => s.close(() => r())) }
}

/** An order flow: step() charges order A1; effect(result) marks it paid and writes a receipt, or charges again after a failure (twice at most). */
function orderFlow(origin: string, retry: 'new request' | 'same key', handler = ''): string {
  const key = retry === 'same key' ? `headers: { 'idempotency-key': 'order-' + order }, ` : ''
  return notebook({
    orders: `const orders = state.map<{ amount: number; status: string; tries: number }>('orders', { A1: { amount: 30, status: 'new', tries: 0 } })
// Each charge sent: its action id → the order, and the key the payment service tells retries apart by.
const charges = state.map<{ order: string; key: string }>('charges')
const receipts = state.map<string>('receipts')

function charge(order: string) {
  const o = orders.get(order)!
  const id = sys.http.send({ url: '${origin}/charge', ${key}body: { order, amount: o.amount } })
  charges.set(id, { order, key: ${retry === 'same key' ? "'order-' + order" : 'id'} })
  orders.set(order, { ...o, status: 'charging', tries: o.tries + 1 })
}

export function step() {
  const next = orders.keys().find((k) => orders.get(k)!.status === 'new')
  if (next === undefined) {
    if (orders.values().every((o) => o.status === 'done' || o.status === 'failed')) return sys.halt()
    return sys.abort('waiting for the payment service')
  }
  charge(next)
}

export function effect(result) {
  ${handler}
  const receipt = receipts.get(result.id)
  if (receipt !== undefined) return orders.set(receipt, { ...orders.get(receipt)!, status: result.ok ? 'done' : 'failed' })
  const c = charges.get(result.id)
  const o = orders.get(c.order)!
  if (result.ok) {
    orders.set(c.order, { ...o, status: 'paid' })
    receipts.set(sys.fs.write('receipts', c.order + '.json', { order: c.order, amount: o.amount }), c.order)
  } else if (o.tries < 2) charge(c.order)
  else orders.set(c.order, { ...o, status: 'failed' })
}

test('a customer is charged at most once', () => {
  const keys = new Map<string, Set<string>>()
  for (const [id, c] of charges.entries()) {
    const r = sys.effects.result(id)
    // Charged: the service said so, or it acted and its answer was lost. (Pending: null in a test.)
    if (r !== null && (r.ok || r.fault === 'lost')) keys.set(c.order, (keys.get(c.order) ?? new Set()).add(c.key))
  }
  return [...keys.values()].every((k) => k.size <= 1)
})`,
  }, `effects:\n  http: ['http://127.0.0.1:*']\n  fs:\n    receipts: { path: ./receipts, write: true }`)
}

const loom = (args: string[]) => loomAsync(args)

function folder(text: string): { path: string; db: string } {
  const root = join(dir, `nb-${++n}`)
  mkdirSync(root)
  const path = join(root, 'orders.loom.md')
  writeFileSync(path, text)
  mkdirSync(join(root, 'receipts'))
  return { path, db: join(root, 'orders.loom.db') }
}

const LOST = (origin: string, id: string) => `outcome of POST ${origin}/charge (action ${id}) → fault: lost (it was performed, then no complete answer within 30000 ms)`

test('a charge lost after the payment service acted and retried as a new request charges twice: found after exactly [step, lost, success]; retried under the same key, nothing breaks', async () => {
  const srv = await payments()
  try {
    const model = await Model.create(orderFlow(srv.origin, 'new request'), { path: 'orders.loom.md' })
    const r = explore(model)
    assert.equal(r.violations.length, 1, JSON.stringify(r.violations))
    const v = r.violations[0]!
    assert.equal(v.test, 'a customer is charged at most once')
    const steps = describeTrace(model, v.trace).steps
    assert.deepEqual(steps.map((s) => s.label), [
      'step()',
      LOST(srv.origin, '1.0'),
      `outcome of POST ${srv.origin}/charge (action 1.1) → 200 "" (a plain success)`,
    ])
    assert.deepEqual(v.trace.map((m) => [m.method, m.fault ?? null]), [['step', null], ['effect', 'lost'], ['effect', null]])
    // The lost answer's effect(result) charged again, as a new request: its own action id is its Idempotency-Key.
    assert.deepEqual(steps[1]!.changes.find((c) => c.state === 'charges')!.after, { '1.0': { order: 'A1', key: '1.0' }, '1.1': { order: 'A1', key: '1.1' } })
    assert.equal(r.exhausted, true)

    const fixed = explore(await Model.create(orderFlow(srv.origin, 'same key'), { path: 'orders.loom.md' }))
    assert.deepEqual(fixed.violations, [])
    assert.equal(fixed.exhausted, true)
    assert.equal(fixed.deadlocks, 0)
    // Every outcome of both charges and of the receipt was tried: a success, then timeout, refused, 5xx (and lost) or a failed write.
    assert.ok(fixed.states >= 20, `${fixed.states} states`)
    assert.equal(srv.hits(), 0, 'exploration never touches the payment service')
  } finally {
    await srv.close()
  }
})

test('--faults picks the faults actions meet: without lost the buggy flow passes, and the report names what was not tried', async () => {
  const text = orderFlow('http://127.0.0.1:9', 'new request')
  const calm = explore(await Model.create(text, { path: 'orders.loom.md', faults: parseFaults('timeout,refused,5xx,failed') as never }))
  assert.deepEqual(calm.violations, [])
  assert.ok(calm.unexplored.includes('effect faults — lost was not tried (--faults timeout,refused,5xx,failed; leave it out to try every fault)'), calm.unexplored.join('\n'))
  const lostOnly = explore(await Model.create(text, { path: 'orders.loom.md', faults: ['lost'] }))
  assert.deepEqual(lostOnly.violations[0]!.trace.map((m) => [m.method, m.fault ?? null]), [['step', null], ['effect', 'lost'], ['effect', null]])
  // Two threads find the same: an outcome crosses between shards like any move, with the ids its move made.
  const two = await exploreParallel(text, { path: 'orders.loom.md', workers: 2, joinAt: 0, waitToJoin: true })
  assert.deepEqual(two.violations.map((v) => v.trace.map((m) => [m.method, m.fault ?? null])), [[['step', null], ['effect', 'lost'], ['effect', null]]])
})

test('loom explore --save-branch: the outcomes are effect events given by exploration under the branch\'s own action ids; replay --verify passes; the fixed flow explores clean', async () => {
  const { path, db } = folder(orderFlow('http://127.0.0.1:9', 'new request'))
  const t = await loom(['explore', path, '--save-branch', 'double'])
  assert.equal(t.status, 1, t.stdout + t.stderr)
  assert.match(t.stdout, /✗ test 'a customer is charged at most once' fails after 3 moves [^\n]*: returned false\n  1\. step\(\)\n/)
  assert.ok(t.stdout.includes(`  2. ${LOST('http://127.0.0.1:9', '1.0')}\n`), t.stdout)
  assert.ok(t.stdout.includes('  3. outcome of POST http://127.0.0.1:9/charge (action 1.1) → 200 "" (a plain success)\n'), t.stdout)
  const log = SqliteLog.open(db)
  const events = [...log.iterate('double')]
  log.close()
  assert.deepEqual(events.map((e) => e.kind), ['code', 'step', 'effect', 'effect'])
  // The step is event 2, so its charge is action 2.0 here; the retry, made by event 3, is 3.0.
  const [lost, ok] = events.slice(2).map((e) => plain(e.input) as { id: string; by: string; outcome: { id: string; ok: boolean; fault?: string } })
  assert.deepEqual([lost!.id, lost!.outcome.id, lost!.outcome.fault, lost!.by], ['2.0', '2.0', 'lost', 'exploration'])
  assert.deepEqual([ok!.id, ok!.outcome.ok, ok!.by], ['3.0', true, 'exploration'])
  const l = await loom(['log', db, '--branch', 'double'])
  assert.match(l.stdout, /POST http:\/\/127\.0\.0\.1:9\/charge → failed: no complete answer within 30000 ms \(given by exploration: lost\) · after 3 attempts/, l.stdout)
  const v = await loom(['replay', db, '--branch', 'double', '--verify'])
  assert.equal(v.status, 0, v.stdout + v.stderr)
  const s = JSON.parse((await loom(['state', db, '--branch', 'double', '--json'])).stdout) as { charges: Record<string, unknown> }
  assert.deepEqual(s.charges, { '2.0': { order: 'A1', key: '2.0' }, '3.0': { order: 'A1', key: '3.0' } })

  const fixed = folder(orderFlow('http://127.0.0.1:9', 'same key'))
  const f = await loom(['explore', fixed.path])
  assert.equal(f.status, 0, f.stdout + f.stderr)
  assert.match(f.stdout, /every reachable state/)
})

test('from a moment of a real run: the pending charge gets the outcome the log recorded (a 3 MB body, shown short), and the faults', async () => {
  const srv = await payments(3 * 1024 * 1024)
  const { path, db } = folder(orderFlow(srv.origin, 'same key'))
  await allowEffects(path)
  try {
    const r = await loom(['run', path, '--until-idle'])
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.equal(srv.charges(), 1)
    assert.ok(existsSync(join(path, '..', 'receipts', 'A1.json')), 'the receipt was written')
  } finally {
    await srv.close()
  }
  // Event 2 is the step that charged: explore from just after it, with the server stopped.
  const log = SqliteLog.open(db)
  const recorded = [...log.iterate('main')].find((e) => e.kind === 'effect')!
  try {
    const model = await Model.create(orderFlow(srv.origin, 'new request'), { path: 'orders.loom.md', from: { log, branch: 'main', seq: 2 } })
    const result = explore(model)
    const v = result.violations[0]!
    const labels = describeTrace(model, v.trace).steps.map((s) => s.label)
    assert.equal(labels[0], LOST(srv.origin, '2.0'))
    assert.match(labels[1]!, new RegExp(`^outcome of POST ${srv.origin.replace(/\./g, '\\.')}/charge \\(action 1\\.0\\) → 200 "\\{\\\\"charge\\\\":1,\\\\"order\\\\":\\\\"A1\\\\",.{0,60} \\(recorded #${recorded.seq}\\)$`))
    assert.ok(labels[1]!.length < 200)
    assert.deepEqual(result.unexplored, [])
  } finally {
    log.close()
  }
})

test('an effect(result) that throws on a fault is an error exploration reports; the outcome is then recorded without it, as live', async () => {
  const text = orderFlow('http://127.0.0.1:9', 'same key', `if (!result.ok) throw new Error('no handling for ' + result.error)`)
  const model = await Model.create(text.replace("test('a customer", `test('every outcome is handled', () => charges.keys().every((id) => sys.effects.result(id) === null || orders.get('A1')!.status !== 'charging'))\ntest('a customer`), { path: 'orders.loom.md', faults: ['refused'] })
  const r = explore(model)
  const error = r.violations.find((v) => v.kind === 'error')!
  assert.equal(error.test, 'effect() runs without an error')
  assert.equal(error.message, 'effect() throws: no handling for connection refused')
  assert.deepEqual(error.trace.map((m) => m.method), ['step'])
  assert.equal(error.failing!.fault, 'refused')
  // Live, the refused outcome is recorded without the handler: the order is left charging with its outcome in.
  const unhandled = r.violations.find((v) => v.test === 'every outcome is handled')!
  const labels = describeTrace(model, unhandled.trace).steps.map((s) => s.label)
  assert.deepEqual(labels, ['step()', 'outcome of POST http://127.0.0.1:9/charge (action 1.0) → fault: refused (connection refused), recorded without effect(), which failed on it'])
})

test('an outcome for an action that is not pending does not reproduce, and a test reads a pending action as null, an unknown id as an error', async () => {
  const model = await Model.create(orderFlow('http://127.0.0.1:9', 'same key'), { path: 'orders.loom.md' })
  const outcome = { id: '7.0', asked: 'POST http://127.0.0.1:9/charge', outcome: { id: '7.0', ok: true, tries: 1 }, ms: 0 }
  assert.throws(() => describeTrace(model, [{ method: 'effect', choices: [], input: outcome }]), /the trace does not reproduce: outcome of POST http:\/\/127\.0\.0\.1:9\/charge \(action 7\.0\) → written \(a plain success\) action 7\.0 is not pending/)
  const tx = model.exec.run(() => model.run(model.root, 'effect', new ReplayAgent([]), outcome), { overran: () => false })
  assert.ok(tx.ok && /action 7\.0 is not pending/.test(tx.value.failure!.reason))
  const reads = notebook({
    s: `const ids = state.var<string[]>('ids', [])
export function step() {
  if (ids.get().length >= 1) return sys.halt()
  ids.set([sys.http.send({ url: 'http://127.0.0.1:9/' })])
}
test('an outcome read in a test', () => ids.get().every((id) => { const r = sys.effects.result(id); return r === null || typeof r.ok === 'boolean' }))
test('an id no action has', () => ids.get().length === 0 || sys.effects.result('99.0') !== undefined)`,
  }, `effects: { http: ['http://127.0.0.1:*'] }`)
  const r = explore(await Model.create(reads, { path: 'x.loom.md' }))
  assert.deepEqual(r.violations.map((v) => [v.test, v.message]), [['an id no action has', 'sys.effects.result("99.0"): no action has this id (use the id sys.http.send or sys.fs.write returned)']])
})
