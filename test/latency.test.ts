// How long a request took, from its arrival on the app's port to its answer:
// measured on real HTTP on loopback, kept beside the log (outside the hash
// chain), shown on the timeline's label, in the event details' page of
// events, in `loom log` and in `loom profile` — and a forged row is left out.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openSession } from '../engine/replay/session.ts'
import { serveHttp } from '../engine/runtime/server.ts'
import { EngineHost } from '../engine/host/EngineHost.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { checkCommit } from '../engine/replay/commitCheck.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-latency-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

/** POST /slow loops before answering 201; GET / answers at once (no test compares the two: times vary). */
const CELLS = {
  api: "const hits = state.counter('hits')\nexport function http(req) {\n  hits.add(1)\n  let x = 0\n  if (req.path === '/slow') for (let i = 0; i < 3000000; i++) x += i % 7\n  return { status: req.path === '/slow' ? 201 : 200, body: String(x) }\n}",
}

/** A log with three requests sent over real HTTP (events 2..4), the middle one slow. */
let made = 0
async function servedLog(): Promise<{ nb: string; db: string }> {
  const nb = join(dir, `api-${++made}.loom.md`)
  writeFileSync(nb, notebook(CELLS))
  const db = nb.replace(/\.md$/, '.db')
  const s = await openSession(nb, { db })
  const server = await serveHttp(s.engine, { port: 0 })
  try {
    assert.equal((await fetch(`${server.url}/`)).status, 200)
    assert.equal((await fetch(`${server.url}/slow`, { method: 'POST', body: 'x' })).status, 201)
    assert.equal((await fetch(`${server.url}/`)).status, 200)
  } finally {
    await server.close()
    s.log.close()
  }
  return { nb, db }
}

type Listed = { seq: number; kind: string; latency?: number; duration?: number }

test('each request over real HTTP records how long it took to answer: loom log shows it on the request line and in --json, loom profile sums it up', async () => {
  const { db } = await servedLog()
  const events = JSON.parse(loom('log', db, '--json').stdout) as Listed[]
  const http = events.filter((e) => e.kind === 'http')
  assert.deepEqual(http.map((e) => e.seq), [2, 3, 4])
  for (const e of http) assert.ok(typeof e.latency === 'number' && e.latency > 0, `event ${e.seq} has a latency`)
  assert.equal(events.find((e) => e.kind === 'code')!.latency, undefined, 'only requests have one')

  const text = loom('log', db)
  assert.match(text.stdout, /^ {5}3 .*POST \/slow → 201 · \d+(\.\d)? m?s$/m)
  const profile = loom('profile', db)
  assert.equal(profile.status, 0, profile.stderr)
  assert.match(profile.stdout, /^http requests, arrival to answer: 3, mean [\d.]+ ms, p50 [\d.]+, p95 [\d.]+, max [\d.]+ \(event [234]\)$/m)
  const json = JSON.parse(loom('profile', db, '--json').stdout) as { latency: { count: number; slowest: { seq: number }[] } }
  assert.equal(json.latency.count, 3)
  assert.deepEqual(json.latency.slowest.map((l) => l.seq).sort(), [2, 3, 4])
  assert.equal(loom('replay', db, '--verify').status, 0, 'latencies are outside the hash chain')
})

test('a window reads the latency back: the page of events carries it and the timeline labels the request with it', async () => {
  const { nb, db } = await servedLog()
  const host = await EngineHost.open({ notebook: nb, db })
  const [ui, engine] = memoryPair()
  host.connect(engine)
  const client = new EngineClient(ui)
  try {
    const page = await client.call('log', {})
    const http = page.events.filter((e) => e.kind === 'http')
    assert.equal(http.length, 3)
    for (const e of http) assert.ok(e.latency! >= e.duration!, `event ${e.seq}: arrival to answer includes the run`)
    const bins = await client.call('timeline', { bins: page.head })
    assert.match(bins.bins[2]!.label ?? '', /^POST \/slow → 201 · [\d.]+ m?s$/)
  } finally {
    client.close()
    await host.close()
  }
})

test('forged latency rows are left out, and a confined engine\'s malformed latencies are refused', async () => {
  const { db } = await servedLog()
  const w = new Database(db)
  const put = w.prepare('INSERT OR REPLACE INTO latencies (branch, seq, ms) VALUES (?, ?, ?)')
  put.run(1, 2, -5)
  put.run(1, 3, 'slow')
  put.run(1, 4, 1e12)
  put.run(1, 99, 3)
  w.close()
  const events = JSON.parse(loom('log', db, '--json').stdout) as Listed[]
  assert.deepEqual(events.map((e) => e.latency), [undefined, undefined, undefined, undefined])
  assert.equal(loom('profile', db).status, 0)

  const text = '{"branch":"main","seq":1,"kind":"http","codeHash":"' + 'a'.repeat(64) + '"}'
  const commit = (side: unknown) => ({ op: 'commit' as const, first: 1, count: 1, texts: text, cuts: [null], code: 'a'.repeat(64), snapshots: [], attempts: [], storedCode: [], cells: [], side })
  assert.doesNotThrow(() => checkCommit(commit({ latencies: [[1, 2.5]] }) as never, 'main', 0))
  for (const side of ['x', [], { latencies: 'x' }, { latencies: [[2, 1]] }, { latencies: [[1, -1]] }, { latencies: [[1, NaN]] }, { latencies: [[1]] }, { latencies: [[1, 1, 1]] }]) {
    assert.throws(() => checkCommit(commit(side) as never, 'main', 0), /commit: .*(side|latency)/, JSON.stringify(side))
  }
})
