// Actions (DESIGN §3a): sys.http.send and sys.fs.write are outputs of a
// transaction, performed after it commits, at least once, their outcome
// recorded once as an effect event — against real HTTP servers on
// 127.0.0.1, real files and the real SQLite log.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, symlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { loomChild, notebook, plain, value, allowEffects } from './helpers.ts'
import { serveApp } from './serveApp.ts'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { performEffect } from '../engine/runtime/effects/perform.ts'
import { Engine } from '../engine/runtime/engine.ts'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { grantedPerformer } from '../engine/runtime/effects/grantedPerformer.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-actions-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

interface Hit { method: string; url: string; key: string; body: string; headers: IncomingMessage['headers'] }

/** A real server on loopback that keeps every request it gets; `answer` says what each gets (by hit number, from 1). */
async function server(answer: (hit: number, req: Hit, res: ServerResponse) => void = (_, __, res) => void res.end('ok')): Promise<{ url: string; hits: Hit[]; close: () => Promise<void> }> {
  const hits: Hit[] = []
  const s: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      const hit = { method: req.method!, url: req.url!, key: String(req.headers['idempotency-key'] ?? ''), body, headers: req.headers }
      hits.push(hit)
      answer(hits.length, hit, res)
    })
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => (s.closeAllConnections(), s.close(() => r()))) }
}

function folder(): string {
  const root = join(dir, `nb-${++n}`)
  mkdirSync(join(root, 'out'), { recursive: true })
  writeFileSync(join(root, 'secret.txt'), 'the secret')
  return root
}

/** A notebook file in its own folder and a session on its SQLite log that performs effects for real. */
async function session(cells: Record<string, string>, fm: string, root = folder()) {
  const path = join(root, 'app.loom.md')
  writeFileSync(path, notebook(cells, fm))
  const db = join(root, 'app.loom.db')
  const s = await openSession(path, { db, clock: 'virtual', startTime: 1_000_000, performEffect: (r) => performEffect(r, root).then((response) => ({ response })) })
  return { ...s, db, root, path }
}

/** Runs until idle: a run until idle waits for actions under way and for reads. Bounded. */
async function settle(engine: Engine): Promise<void> {
  for (let i = 0; i < 400 && engine.status !== 'halted'; i++) {
    await engine.run({ untilIdle: true })
    if (engine.status === 'idle' || (engine.status === 'parked' && !/waiting for (sys\.|the outcome)/.test(engine.waiting ?? ''))) break
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function verifies(db: string): Promise<void> {
  const log = SqliteLog.open(db)
  const r = await verifyBranch(log, 'main')
  log.close()
  assert.equal(r.ok, true, JSON.stringify(r))
}

const effectsOf = (engine: Engine) => engine.events().filter((e) => e.kind === 'effect').map((e) => plain(e.input) as { id: string; outcome: { ok: boolean; status?: number; tries: number } })

/** Sends one order, then (in a later step) reads its outcome. */
const ORDER = (url: string, options = '') => ({
  s: `const sent = state.var<string | null>('sent', null)
const result = state.var<any>('result', null)
export function step() {
  if (result.get() !== null) sys.abort('done')
  if (sent.get() === null) { sent.set(sys.http.send({ method: 'POST', url: '${url}/charge', body: { amount: 5 } }${options})); return }
  const r = sys.effects.result(sent.get())
  result.set({ ok: r.ok, status: r.status, body: r.body, tries: r.tries, id: r.id })
}`,
})

const HTTP = `effects: { http: ['http://127.0.0.1:*'] }`

test('sys.http.send is performed once after its transaction commits; sys.effects.result(id) waits for the outcome, then reads it', async () => {
  const srv = await server((_, __, res) => res.end('charged'))
  const s = await session(ORDER(srv.url), HTTP)
  await settle(s.engine)
  assert.deepEqual(value(s.engine, 'result'), { ok: true, status: 200, body: 'charged', tries: 1, id: '2.0' })
  assert.equal(srv.hits.length, 1)
  assert.deepEqual([srv.hits[0]!.method, srv.hits[0]!.url, srv.hits[0]!.key, srv.hits[0]!.body, srv.hits[0]!.headers['content-type']], ['POST', '/charge', '2.0', '{"amount":5}', 'application/json'])
  // The step that made it committed first (event 2); the outcome is an effect event; the step that read it came after.
  assert.deepEqual(s.engine.events().map((e) => e.kind), ['code', 'step', 'effect', 'step'])
  assert.ok(s.engine.attempts().some((a) => a.reason === 'waiting for the outcome of action 2.0'), 'the reading step waited')
  const kept = value(s.engine, 'sys.effects') as Record<string, { action?: unknown; outcome?: { ok: boolean } }>
  assert.deepEqual(Object.keys(kept), ['2.0'])
  assert.equal(kept['2.0']!.action, undefined, 'nothing is pending')
  assert.equal(kept['2.0']!.outcome!.ok, true)
  s.log.close()
  // Replay never performs: verify passes with the server stopped.
  await srv.close()
  await verifies(s.db)
  assert.equal(srv.hits.length, 1)
})

test('an aborted transaction sends nothing; a thrown one neither', async () => {
  const srv = await server()
  const s = await session({
    s: `const tries = state.counter('tries')
const done = state.var<boolean>('done', false)
export function step() {
  if (done.get()) sys.abort('done')
  sys.http.send({ url: '${srv.url}/never' })
  sys.fs.write('out', 'never.txt', 'x')
  if (tries.get() < 2) { tries.add(1); throw new Error('boom') }
  sys.abort('nothing to do')
}
export function http(req) {
  sys.http.send({ url: '${srv.url}/once' })
  done.set(true)
  return { status: 200, body: 'ok' }
}`,
  }, `effects: { http: ['http://127.0.0.1:*'], fs: { out: { path: ./out, write: true } } }`)
  await settle(s.engine)
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(srv.hits.length, 0, 'nothing aborted or thrown reached the server')
  assert.equal(existsSync(join(s.root, 'out', 'never.txt')), false)
  await s.engine.request({ method: 'POST', path: '/', query: {}, headers: {}, body: '' })
  await settle(s.engine)
  assert.deepEqual(srv.hits.map((h) => h.url), ['/once'])
  s.log.close()
  await srv.close()
})

test('a failing server is retried with backoff: 500, 500, then 200 is three hits with the same Idempotency-Key and one outcome', async () => {
  const srv = await server((hit, _, res) => {
    res.statusCode = hit < 3 ? 500 : 200
    res.end(hit < 3 ? 'try again' : 'done')
  })
  const s = await session(ORDER(srv.url, `, { attempts: 4, backoff: 20 }`), HTTP)
  await settle(s.engine)
  assert.deepEqual(value(s.engine, 'result'), { ok: true, status: 200, body: 'done', tries: 3, id: '2.0' })
  assert.equal(srv.hits.length, 3)
  assert.deepEqual(srv.hits.map((h) => h.key), ['2.0', '2.0', '2.0'])
  assert.equal(effectsOf(s.engine).length, 1, 'one outcome')
  s.log.close()
  await srv.close()
})

test('attempts spent: the outcome says it failed, with the last status; a 4xx is not retried', async () => {
  const srv = await server((_, hit, res) => {
    res.statusCode = hit.url === '/charge' ? 503 : 400
    res.end('no')
  })
  const s = await session(ORDER(srv.url, `, { attempts: 2, backoff: 1 }`), HTTP)
  await settle(s.engine)
  assert.deepEqual(value(s.engine, 'result'), { ok: false, status: 503, body: 'no', tries: 2, id: '2.0' })
  s.log.close()
  const bad = await session(ORDER(`${srv.url}/bad`, `, { attempts: 5, backoff: 1 }`), HTTP)
  await settle(bad.engine)
  assert.equal((value(bad.engine, 'result') as { tries: number; status: number }).status, 400)
  assert.equal((value(bad.engine, 'result') as { tries: number }).tries, 1)
  bad.log.close()
  await srv.close()
})

test('an exported effect(result) handles each outcome in the transaction that records it', async () => {
  const srv = await server((hit, _, res) => res.end(`receipt ${hit}`))
  const s = await session({
    s: `const orders = state.queue<number>('orders')
const receipts = state.map<string>('receipts')
const byAction = state.map<number>('byAction')
export function start() { orders.push(1); orders.push(2) }
export function step() {
  const o = orders.take()
  byAction.set(sys.http.send({ url: '${srv.url}/pay/' + o }), o)
}
export function effect(result) {
  receipts.set(String(byAction.get(result.id)), result.ok ? result.body : 'failed')
}`,
  }, HTTP)
  await settle(s.engine)
  const receipts = value(s.engine, 'receipts') as Record<string, string>
  assert.deepEqual(Object.keys(receipts).sort(), ['1', '2'])
  assert.match(receipts['1']!, /^receipt [12]$/)
  const handled = s.engine.events().filter((e) => e.kind === 'effect')
  assert.deepEqual(handled.map((e) => e.method), ['effect', 'effect'])
  s.log.close()
  await srv.close()
  await verifies(s.db)
})

test('an effect() that throws leaves an attempt saying so, and the outcome is recorded all the same', async () => {
  const srv = await server()
  const s = await session({
    s: `const sent = state.var<string | null>('sent', null)
const seen = state.var<any>('seen', null)
export function step() {
  if (sent.get() === null) return sent.set(sys.http.send({ url: '${srv.url}/x' }))
  if (seen.get() !== null) sys.abort('done')
  seen.set(sys.effects.result(sent.get()).ok)
}
export function effect(result) { throw new Error('the handler broke on ' + result.id) }`,
  }, HTTP)
  await settle(s.engine)
  assert.equal(value(s.engine, 'seen'), true)
  assert.ok(s.engine.attempts().some((a) => a.reason === 'the handler broke on 2.0' && a.method === 'effect'))
  s.log.close()
  await srv.close()
})

test('sys.fs.write writes the whole file inside its root after the commit; its outcome is recorded; verify passes after the file is gone', async () => {
  const s = await session({
    s: `const id = state.var<string | null>('id', null)
const ok = state.var<any>('ok', null)
export function step() {
  if (id.get() === null) return id.set(sys.fs.write('out', 'receipts/r1.json', { order: 1, total: 5 }))
  if (ok.get() !== null) sys.abort('done')
  ok.set(sys.effects.result(id.get()).ok)
}`,
  }, `effects:\n  fs:\n    out: { path: ./out, write: true }`)
  await settle(s.engine)
  assert.equal(value(s.engine, 'ok'), true)
  assert.equal(readFileSync(join(s.root, 'out', 'receipts', 'r1.json'), 'utf8'), '{"order":1,"total":5}')
  s.log.close()
  rmSync(join(s.root, 'out'), { recursive: true })
  await verifies(s.db)
})

/** What one action in a step ends with: its id, or the attempt's reason. */
async function outcome(call: string, fm: string, root?: string): Promise<string> {
  const s = await session({
    s: `const r = state.var<any>('r', null)
export function step() {
  if (r.get() !== null) sys.abort('done')
  r.set(${call})
}`,
  }, fm, root)
  await settle(s.engine)
  const got = value(s.engine, 'r') as string | null
  const reason = s.engine.attempts().filter((a) => !/^(waiting for|done)/.test(a.reason)).at(-1)?.reason
  s.log.close()
  return got ?? `failed: ${reason}`
}

test('a denied origin, root, path or write fails the transaction (not after the commit), naming the front matter key', async () => {
  const srv = await server()
  assert.equal(await outcome(`sys.http.send({ url: 'http://127.0.0.1:9/' })`, `effects: { http: ['https://api.example.com'] }`),
    'failed: sys.http.send("http://127.0.0.1:9/"): the origin http://127.0.0.1:9 is not granted; add it to `effects.http` in the front matter')
  assert.match(await outcome(`sys.http.send({ url: '${srv.url}/' })`, ''), /^failed: .*the notebook grants no effects|not granted; add it to `effects.http`/)
  assert.match(await outcome(`sys.fs.write('logs', 'a.txt', 'x')`, `effects: { fs: { out: { path: ./out, write: true } } }`), /^failed: sys\.fs\.write\("logs", "a.txt"\): there is no file root 'logs'; add it to `effects.fs`/)
  assert.equal(await outcome(`sys.fs.write('out', 'a.txt', 'x')`, `effects: { fs: { out: { path: ./out } } }`),
    'failed: sys.fs.write("out", "a.txt"): the root \'out\' is not granted for writing; add `write: true` to `effects.fs.out` in the front matter')
  const fm = `effects: { fs: { out: { path: ./out, write: true } } }`
  assert.match(await outcome(`sys.fs.write('out', '../secret.txt', 'x')`, fm), /^failed: .*the path goes up \(\.\.\)/)
  assert.match(await outcome(`sys.fs.write('out', '/etc/passwd', 'x')`, fm), /^failed: .*the path is absolute/)
  assert.equal(srv.hits.length, 0)
  await srv.close()
})

test('attack: a write through a link out of the root is refused and touches nothing outside; a link at the path is replaced, not followed', async () => {
  const root = folder()
  symlinkSync(root, join(root, 'out', 'up'))
  symlinkSync(join(root, 'secret.txt'), join(root, 'out', 'link.txt'))
  const fm = `effects: { fs: { out: { path: ./out, write: true } } }`
  const s = await session({
    s: `const ids = state.var<string[]>('ids', [])
const got = state.var<any>('got', null)
export function step() {
  if (!ids.get().length) return ids.set([sys.fs.write('out', 'up/secret.txt', 'stolen'), sys.fs.write('out', 'up/new/x.txt', 'x'), sys.fs.write('out', 'link.txt', 'replaced')])
  if (got.get() !== null) sys.abort('done')
  got.set(ids.get().map((id) => { const r = sys.effects.result(id); return r.ok ? 'ok' : r.error }))
}`,
  }, fm, root)
  await settle(s.engine)
  const got = value(s.engine, 'got') as string[]
  assert.match(got[0]!, /'up\/secret.txt' leads outside the root 'out' \(through a link\)/)
  assert.match(got[1]!, /leads outside the root/)
  assert.equal(got[2], 'ok')
  assert.equal(readFileSync(join(root, 'secret.txt'), 'utf8'), 'the secret', 'the file outside is untouched')
  assert.equal(existsSync(join(root, 'new')), false, 'no folder was made outside')
  assert.equal(readFileSync(join(root, 'out', 'link.txt'), 'utf8'), 'replaced')
  s.log.close()
})

test('hostile arguments fail the transaction with a clear error and reach nothing', async () => {
  const srv = await server()
  const fm = `effects: { http: ['${srv.url}'], fs: { out: { path: ./out, write: true } } }`
  const cases: [string, RegExp][] = [
    [`sys.http.send(null)`, /the url is a string/],
    [`sys.http.send({ url: '${srv.url}/', body: 'x'.repeat(5 * 1024 * 1024) })`, /the body is larger than 4194304 bytes/],
    [`sys.http.send({ url: '${srv.url}/', headers: { 'x-a': 'b\\r\\nx-evil: 1' } })`, /header "x-a" is not a header name with a string value/],
    [`sys.http.send({ url: '${srv.url}/', headers: { 'bad name': 'x' } })`, /header "bad name" is not a header name/],
    [`sys.http.send({ url: '${srv.url}/', headers: { 'Content-Length': '0' } })`, /the header content-length is set by Loom/],
    [`sys.http.send({ url: '${srv.url}/', method: 'GET /x HTTP/1.1' })`, /the method is a word/],
    [`sys.http.send({ url: '${srv.url}/', body: { f() {} } })`, /sys\.http\.send\(request\): .*function/],
    [`sys.http.send({ url: '${srv.url}/', body: { n: NaN } })`, /sys\.http\.send\(request\): /],
    [`sys.http.send({ url: '${srv.url}/', body: (() => { const o = {}; o.self = o; return o })() })`, /sys\.http\.send\(request\): /],
    [`sys.http.send({ url: '${srv.url}/' }, { attempts: 0 })`, /attempts is a whole number from 1 to 20/],
    [`sys.http.send({ url: '${srv.url}/' }, { backoff: -1 })`, /backoff is a whole number/],
    [`sys.http.send({ url: '${srv.url}/' }, { timeoutMs: 'soon' })`, /timeoutMs is a whole number/],
    [`sys.fs.write('out', 'a.txt', () => 1)`, /sys\.fs\.write\(root, path, data\): the data/],
    [`sys.fs.write('out', 'a.txt', 'x'.repeat(5 * 1024 * 1024))`, /the data is larger/],
    [`sys.fs.write('out', 'a.txt', undefined)`, /the data: undefined is not plain data/],
    [`sys.effects.result(7)`, /the id is a string/],
    [`sys.effects.result('9.9')`, /no action has this id/],
    [`sys.effects.result(sys.http.send({ url: '${srv.url}/' }))`, /this transaction made the action; its outcome comes after it commits/],
  ]
  for (const [call, want] of cases) assert.match(await outcome(call, fm), new RegExp(`^failed: .*${want.source}`), call.slice(0, 80))
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(srv.hits.length, 0)
  await srv.close()
})

test('a test() cannot act: it fails saying so, and nothing is sent', async () => {
  const srv = await server()
  const e = await Engine.fromSource(notebook({ s: `test('acts', () => { sys.http.send({ url: '${srv.url}/' }); return true })` }, HTTP), { path: join(folder(), 't.loom.md'), checkTests: true, performEffect: (r) => performEffect(r, dir).then((response) => ({ response })) })
  assert.match(e.checkTests().map((f) => f.message).join('\n'), /sys\.http\.send\(".*"\): a test cannot act/)
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(srv.hits.length, 0)
  await srv.close()
})

test('a model under exploration never performs an action', async () => {
  const srv = await server()
  const nb = notebook({
    s: `const n = state.var<number>('n', 0)
export function step() {
  if (n.get() >= 2) return sys.halt()
  const id = sys.http.send({ url: '${srv.url}/explored' })
  n.set(n.get() + 1 + sys.fork(2))
}
test('n is small', () => n.get() < 10)`,
  }, HTTP)
  const r = explore(await Model.create(nb, { path: join(folder(), 'x.loom.md') }))
  assert.equal(r.violations.length, 0)
  assert.ok(r.states > 2)
  // A step that waits for an action's outcome is waiting for the world, not deadlocked: exploration gives it each outcome.
  // (What the app then does with one is its own affair: it never halts, and stores a failed outcome's status, undefined.)
  const waits = explore(await Model.create(notebook(ORDER(srv.url), HTTP), { path: join(folder(), 'y.loom.md') }))
  assert.ok(waits.violations.length && waits.violations.every((v) => v.trace.some((m) => m.method === 'effect')), JSON.stringify(waits.violations))
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(srv.hits.length, 0, 'exploration touched the world')
  await srv.close()
})

test('sys.http.get and send have a total deadline: a server that drips a byte a second does not hold them for ever', async () => {
  const drip = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    const t = setInterval(() => res.write('.'), 100)
    res.on('close', () => clearInterval(t))
  })
  await new Promise<void>((r) => drip.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(drip.address() as AddressInfo).port}/`
  const began = Date.now()
  const got = await performEffect({ kind: 'http.get', url, headers: {}, timeoutMs: 400 }, dir)
  assert.deepEqual(got, { error: 'no complete answer within 400 ms' })
  const sent = await performEffect({ kind: 'http.send', method: 'POST', url, headers: {}, body: 'x', timeoutMs: 300 }, dir)
  assert.deepEqual(sent, { error: 'no complete answer within 300 ms' })
  assert.ok(Date.now() - began < 10_000, 'the reads ended near their deadlines')
  // Through a cell: the read's timeoutMs is part of the request, and the failure is recorded and catchable.
  const s = await session({
    s: `const r = state.var<any>('r', null)
export function step() {
  if (r.get() !== null) sys.abort('done')
  try { sys.http.get('${url}', { timeoutMs: 300 }) } catch (e) { r.set(e.message) }
}`,
  }, HTTP)
  await settle(s.engine)
  assert.equal(value(s.engine, 'r'), `sys.http.get("${url}"): no complete answer within 300 ms`)
  s.log.close()
  drip.closeAllConnections()
  await new Promise((r) => drip.close(r))
})

test('an outcome is recorded once even when the action is performed twice', async () => {
  const srv = await server()
  const s = await session(ORDER(srv.url), HTTP)
  await settle(s.engine)
  assert.equal(effectsOf(s.engine).length, 1)
  // A second outcome for the same id (a second runner, a restart racing the first): refused by the door, not recorded.
  const { effects } = s.engine as unknown as { effects: { recordOutcome(input: unknown): void } }
  effects.recordOutcome({ id: '2.0', asked: 'POST x', outcome: { id: '2.0', ok: true, tries: 1 }, ms: 1 })
  assert.equal(effectsOf(s.engine).length, 1)
  s.log.close()
  await srv.close()
})

test('the launcher checks a confined engine\'s actions again: ungranted, unwritable or hostile ones are refused, not performed', async () => {
  const srv = await server()
  const root = folder()
  const p = grantedPerformer(join(root, 'app.loom.md'), notebook({ s: '' }, `effects: { http: ['${srv.url}'], fs: { out: { path: ./out, write: true }, ro: { path: ./ro } } }`), async () => {})
  const refused = (req: unknown) => assert.rejects(p.perform(req))
  await refused({ kind: 'http.send', method: 'POST', url: 'http://localhost:9/', headers: {}, body: '', timeoutMs: 100 })
  await refused({ kind: 'http.send', method: 'POST', url: `${srv.url}/`, headers: { 'x\r\nevil': 'y' }, body: '', timeoutMs: 100 })
  await refused({ kind: 'http.send', method: 'POST', url: `${srv.url}/`, headers: { 'transfer-encoding': 'chunked' }, body: '', timeoutMs: 100 })
  await refused({ kind: 'fs.write', root: 'ro', path: 'a.txt', data: 'x' })
  await refused({ kind: 'fs.write', root: 'out', path: '../a.txt', data: 'x' })
  await refused({ kind: 'fs.write', root: 'out', path: 'a.txt', data: { not: 'text' } })
  assert.equal(srv.hits.length, 0)
  assert.deepEqual((await p.perform({ kind: 'fs.write', root: 'out', rootPath: '/', path: 'a.txt', data: 'kept' })).response, { written: 4 })
  assert.equal(readFileSync(join(root, 'out', 'a.txt'), 'utf8'), 'kept', 'the root is the launcher\'s, whatever the request says')
  await srv.close()
})

const loom = (args: string[]) => loomChild(args)

test('loom run: an action committed when the run is killed -9 before its outcome is performed on restart, and its outcome recorded once', async () => {
  // The server holds the first request (the run is killed meanwhile) and answers the ones after.
  let release: () => void = () => {}
  let first: () => void = () => {}
  const firstCame = new Promise<void>((r) => (first = r))
  const srv = await server((hit, _, res) => {
    if (hit === 1) {
      first()
      release = () => res.end('late')
    } else res.end('charged')
  })
  const root = folder()
  const path = join(root, 'app.loom.md')
  writeFileSync(path, notebook(ORDER(srv.url, `, { timeoutMs: 60000 }`), HTTP))
  const db = join(root, 'app.loom.db')
  await allowEffects(path)
  const run = loom(['run', path, '--db', db])
  await firstCame
  process.kill(run.pid, 'SIGKILL')
  const killed = await run.done
  assert.equal(killed.signal, 'SIGKILL')
  // The confined process sees its link close and ends.
  await new Promise((r) => setTimeout(r, 300))
  const again = await loom(['run', path, '--db', db, '--until-idle']).done
  assert.equal(again.status, 0, again.stderr)
  release()
  assert.equal(srv.hits.length, 2, 'performed again on restart')
  assert.deepEqual(srv.hits.map((h) => h.key), ['2.0', '2.0'], 'with the same Idempotency-Key')
  const log = SqliteLog.open(db)
  const events = log.events()
  assert.deepEqual(events.map((e) => e.kind), ['code', 'step', 'effect', 'step'], 'the restart with the same code and grants made no code event')
  const outcomes = events.filter((e) => e.kind === 'effect')
  assert.equal(outcomes.length, 1, 'one outcome')
  assert.equal((plain(outcomes[0]!.input) as { outcome: { body: string } }).outcome.body, 'charged')
  const last = events.filter((e) => e.kind === 'step').at(-1)!
  assert.deepEqual(plain(last.writes[0]), { state: 'result', op: 'set', value: { ok: true, status: 200, body: 'charged', tries: 1, id: '2.0' } })
  log.close()
  await srv.close()
  const v = await loom(['replay', db, '--verify']).done
  assert.equal(v.status, 0, v.stdout + v.stderr)
  const l = await loom(['log', db]).done
  assert.match(l.stdout, /effect {7}wrote sys\.effects  POST http:\/\/127\.0\.0\.1:\d+\/charge → 200 · \d+ ms/)
})

test('loom serve: an http() that sends answers with the id; another request waits for the outcome; the action is an effect event', async () => {
  const srv = await server((_, hit, res) => res.end(`charged ${hit.body}`))
  const root = folder()
  const path = join(root, 'served.loom.md')
  writeFileSync(path, notebook({
    api: `export function http(req) {
  if (req.path === '/pay') return { status: 200, body: sys.http.send({ url: '${srv.url}/charge', body: 'five' }) }
  const r = sys.effects.result(req.path.slice('/result/'.length))
  return { status: 200, body: r.body }
}`,
  }, HTTP))
  const db = join(root, 'served.loom.db')
  await allowEffects(path)
  const served = await serveApp(path, db)
  try {
    const app = served.app
    const id = await (await fetch(`${app}/pay`)).text()
    assert.match(id, /^\d+\.0$/)
    assert.equal(await (await fetch(`${app}/result/${id}`)).text(), 'charged five')
    assert.equal(srv.hits.length, 1)
    assert.equal(srv.hits[0]!.key, id)
  } finally {
    await served.stop()
    await srv.close()
  }
  const l = await loom(['log', db]).done
  assert.match(l.stdout, /effect {7}wrote sys\.effects  POST http:\/\/127\.0\.0\.1:\d+\/charge → 200/)
  assert.equal((await loom(['replay', db, '--verify']).done).status, 0)
})

test('a hand edit cannot make an action: it is refused, and nothing is performed', async () => {
  const srv = await server()
  const s = await session({ s: `export function step() { sys.abort('idle') }` }, HTTP)
  await settle(s.engine)
  const action = { request: { kind: 'http.send', method: 'POST', url: `${srv.url}/edited`, headers: {}, body: '', timeoutMs: 1000 }, attempts: 1, backoff: 0 }
  assert.throws(() => s.engine.edit([{ state: 'sys.effects', key: '9.0', set: { action } }]), /an edit cannot make an action \('9\.0'\)/)
  assert.throws(() => s.engine.edit([{ state: 'sys.effects', set: { '9.0': { action } } }]), /an edit cannot make an action/)
  await settle(s.engine)
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(srv.hits.length, 0)
  s.log.close()
  await srv.close()
})

test('a hand edit cannot remove or change a performed action: its outcome stays for the id a later step reads', async () => {
  const srv = await server((_, __, res) => res.end('charged'))
  const s = await session(ORDER(srv.url), HTTP)
  try {
    await settle(s.engine)
    const kept = value(s.engine, 'sys.effects') as Record<string, unknown>
    assert.deepEqual(Object.keys(kept), ['2.0'])
    assert.throws(() => s.engine.edit([{ state: 'sys.effects', key: '2.0', delete: true }]), /an edit cannot remove an action \('2\.0'\)/)
    assert.throws(() => s.engine.edit([{ state: 'sys.effects', key: '2.0', set: { outcome: { id: '2.0', ok: false, tries: 1 }, at: 1 } }]), /an edit cannot change an action \('2\.0'\)/)
    assert.throws(() => s.engine.edit([{ state: 'sys.effects', set: {} }]), /an edit cannot remove an action \('2\.0'\)/, 'a whole-state edit that leaves it out')
    assert.throws(() => s.engine.edit([{ state: 'sys.effects', key: '7.3', set: { note: 'mine' } }]), /an edit cannot make an action \('7\.3'\)/, "an action's id is not a free key")
    assert.deepEqual(value(s.engine, 'sys.effects'), kept, 'nothing was committed')
    // Put back exactly as committed: no change to an action, so no refusal.
    s.engine.edit([{ state: 'sys.effects', set: kept }])
    assert.deepEqual(value(s.engine, 'sys.effects'), kept)
  } finally {
    s.log.close()
    await srv.close()
  }
  await verifies(s.db)
})
