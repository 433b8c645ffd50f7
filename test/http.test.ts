import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import Database from 'better-sqlite3'
import { openSession } from '../engine/replay/session.ts'
import { serveHttp } from '../engine/runtime/server.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { notebook, lineOf } from './helpers.ts'
import { reflection } from '../engine/replay/reflect.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-http-'))
let n = 0

async function serve(cells: Record<string, string>, options: { deadlineMs?: number; headersTimeoutMs?: number; maxBody?: number; sys?: boolean } = {}) {
  const nb = join(dir, `app-${++n}.loom.md`)
  writeFileSync(nb, notebook(cells))
  const db = join(dir, `app-${n}.loom.db`)
  const session = await openSession(nb, { db })
  const server = await serveHttp(session.engine, { port: 0, ...options, reserved: options.sys ? reflection(session.engine, session.log, '/sys', 2000) : undefined })
  return {
    ...session, server, db, nb,
    async close() {
      await server.close()
      session.log.close()
    },
  }
}

const LEDGER = {
  api: `const seen = state.map<number[]>('seen')
export function http(req: { method: string; path: string; body: string }) {
  if (req.path === '/boom') { const x: any = null; return x.y }
  const { client, n } = JSON.parse(req.body)
  const list = seen.get(client) ?? []
  seen.set(client, [...list, n])
  return { status: 200, body: { client, n, at: list.length } }
}`,
}

test('64 concurrent clients: every acknowledged request is in the log exactly once, in each client\'s order, and it verifies', async () => {
  const app = await serve(LEDGER)
  const CLIENTS = 64
  const EACH = 15
  const acked: Record<string, number[]> = {}
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const client = `c${c}`
      acked[client] = []
      for (let i = 1; i <= EACH; i++) {
        const res = await fetch(`${app.server.url}/log`, { method: 'POST', body: JSON.stringify({ client, n: i }) })
        assert.equal(res.status, 200)
        const body = await res.json()
        assert.deepEqual(body, { client, n: i, at: i - 1 })
        acked[client]!.push(i)
      }
    }),
  )
  await app.close()
  const log = SqliteLog.open(app.db)
  const events = log.eventsOf('main', 1, log.head).filter((e) => e.kind === 'http')
  assert.equal(events.length, CLIENTS * EACH, 'each request is one event')
  const byClient: Record<string, number[]> = {}
  for (const e of events) {
    const { client, n } = JSON.parse((e.input as { body: string }).body)
    ;(byClient[client] ??= []).push(n)
    assert.equal((e.outputs.http as { status: number }).status, 200)
  }
  assert.deepEqual(byClient, acked)
  const r = await verifyBranch(log, 'main')
  assert.equal(r.ok, true, JSON.stringify(r.failure))
  log.close()
})

test('a request that aborts waits until what it read changes, then commits; past its deadline it gets 503 with the reason', async () => {
  const app = await serve({
    api: `const open = state.var('open', false)
export function http(req: { path: string }) {
  if (req.path === '/open') { open.set(true); return { body: 'opened' } }
  if (!open.get()) sys.abort('the door is closed')
  return { body: 'came in' }
}`,
  }, { deadlineMs: 2000 })
  // A deadline a loaded machine meets for the requests that should commit (two test files share its cores); closed whatever happens.
  try {
    const late = await fetch(`${app.server.url}/enter`)
    assert.equal(late.status, 503)
    assert.match(await late.text(), /waited 2000 ms without committing: the door is closed/)
    const waiting = fetch(`${app.server.url}/enter`)
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(await (await fetch(`${app.server.url}/open`)).text(), 'opened')
    const entered = await waiting
    assert.equal(entered.status, 200)
    assert.equal(await entered.text(), 'came in')
  } finally {
    await app.close()
  }
})

test('while another writer holds the log, a request that never ran gets 503 saying why, and those that committed are answered once durable, not 503', async () => {
  const app = await serve({ api: `const n = state.counter('n')\nexport function http(req: { path: string }) {\n  n.add(1)\n  return { body: req.path }\n}` }, { deadlineMs: 1000 })
  // Another process writing the same file (here a connection of the test's): the log's writer waits for its lock.
  const other = new Database(app.db)
  try {
    other.exec('BEGIN IMMEDIATE')
    const first = fetch(`${app.server.url}/a`)
    await new Promise((r) => setTimeout(r, 200))
    const second = fetch(`${app.server.url}/b`)
    await new Promise((r) => setTimeout(r, 200))
    // Two batches wait for the disk: the third request is not run meanwhile.
    const never = await fetch(`${app.server.url}/c`)
    assert.equal(never.status, 503)
    assert.equal(await never.text(), 'the request waited 1000 ms without committing: it never ran: the requests before it were still being written to the log (2 batches waiting for the disk)\n')
    other.exec('COMMIT')
    assert.deepEqual(await Promise.all([first, second].map((r) => r.then(async (x) => [x.status, await x.text()]))), [[200, '/a'], [200, '/b']])
    assert.deepEqual(app.engine.events().filter((e) => e.kind === 'http').map((e) => (e.input as { path: string }).path), ['/a', '/b'])
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK')
    other.close()
    await app.close()
  }
})

test('an exception in http() is a 500 naming the cell and line; the server goes on', async () => {
  const app = await serve(LEDGER)
  const res = await fetch(`${app.server.url}/boom`)
  assert.equal(res.status, 500)
  assert.match(await res.text(), new RegExp(`TypeError: Cannot read properties of null \\(reading 'y'\\) \\(.*:${lineOf(LEDGER, 'x.y')} \\(cell #api, line 3\\)\\)`))
  const ok = await fetch(`${app.server.url}/log`, { method: 'POST', body: JSON.stringify({ client: 'a', n: 1 }) })
  assert.equal(ok.status, 200)
  await app.close()
})

test('hostile input: a body over the limit is 413, a malformed request 400, a slow client is cut off, invalid JSON is the app\'s 400', async () => {
  const app = await serve({
    api: `export function http(req: { body: string }) {
  try { return { body: JSON.parse(req.body) } } catch { return { status: 400, body: 'send JSON' } }
}`,
  }, { maxBody: 1000, headersTimeoutMs: 300 })
  const big = await fetch(app.server.url, { method: 'POST', body: 'x'.repeat(5000) })
  assert.equal(big.status, 413)
  const bad = await fetch(app.server.url, { method: 'POST', body: '{nope' })
  assert.equal(bad.status, 400)
  assert.equal(await bad.text(), 'send JSON')
  const raw = (text: string) =>
    new Promise<string>((resolve) => {
      const socket = connect(app.server.port, '127.0.0.1', () => socket.write(text))
      let got = ''
      socket.on('data', (d) => (got += d))
      socket.on('close', () => resolve(got))
      socket.on('error', () => resolve(got))
    })
  assert.match(await raw('GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/)
  // Headers that never finish: the connection is closed, not held.
  const started = Date.now()
  await raw('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  assert.ok(Date.now() - started < 5000, 'the slow client was cut off')
  // After all of that, the server still answers.
  const ok = await fetch(app.server.url, { method: 'POST', body: '{"a":1}' })
  assert.deepEqual(await ok.json(), { a: 1 })
  await app.close()
})

test('fuzz: seeded random requests always get an answer, and the log still verifies', async () => {
  const app = await serve(LEDGER)
  let seed = 42
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']
  for (let i = 0; i < 200; i++) {
    const body = next() < 0.5 ? JSON.stringify({ client: 'f', n: Math.floor(next() * 100) }) : Array.from({ length: Math.floor(next() * 50) }, () => String.fromCharCode(Math.floor(next() * 0x2fff))).join('')
    const path = '/' + Array.from({ length: Math.floor(next() * 8) }, () => 'a%/?=&é'[Math.floor(next() * 7)]).join('')
    const method = methods[Math.floor(next() * methods.length)]!
    const res = await fetch(app.server.url + path, { method, body: method === 'GET' ? undefined : body })
    assert.ok([200, 400, 500].includes(res.status), `${method} ${path}: ${res.status}`)
    await res.text()
  }
  await app.close()
  const log = SqliteLog.open(app.db)
  assert.equal((await verifyBranch(log, 'main')).ok, true)
  log.close()
})

test('/sys on the same port shows the log, the state at any event, branches, attempts, and long-polls for new events', async () => {
  const app = await serve({ ...LEDGER, more: "export function step() { sys.abort('idle') }" }, { sys: true })
  const post = (client: string, n: number) => fetch(`${app.server.url}/log`, { method: 'POST', body: JSON.stringify({ client, n }) })
  await post('a', 1)
  await post('a', 2)
  await app.engine.run({ untilIdle: true })
  const sys = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(app.server.url + path)
    return { status: res.status, body: await res.json() }
  }
  const log = await sys('/sys/log')
  assert.deepEqual(log.body.map((e: { seq: number; kind: string }) => [e.seq, e.kind]), [[1, 'code'], [2, 'http'], [3, 'http']])
  assert.deepEqual((await sys('/sys/state?at=2')).body, { branch: 'main', at: 2, state: { seen: { a: [1] } } })
  assert.deepEqual((await sys('/sys/state')).body.state, { seen: { a: [1, 2] } })
  assert.deepEqual((await sys('/sys/branches')).body.map((b: { name: string; head: number; live: boolean }) => [b.name, b.head, b.live]), [['main', 3, true]])
  assert.ok((await sys('/sys/attempts')).body.some((a: { reason: string }) => a.reason === 'idle'))
  // The reserved prefix never reaches the app; bad queries and writes are refused.
  assert.equal((await sys('/sys/nothing')).status, 404)
  assert.equal((await sys('/sys/log?limit=lots')).status, 400)
  assert.equal((await fetch(`${app.server.url}/sys/log`, { method: 'POST' })).status, 405)
  // Long poll: nothing after 3 yet, so it waits for the next event.
  const polling = sys('/sys/events?after=3')
  await new Promise((r) => setTimeout(r, 100))
  await post('b', 1)
  const next = await polling
  assert.deepEqual(next.body.map((e: { seq: number }) => e.seq), [4])
  assert.deepEqual((await sys('/sys/events?after=4&timeout=50')).body, [])
  await app.close()
})
