// Safe reads (DESIGN §3a): sys.http.get and sys.fs.read against a real HTTP
// server on 127.0.0.1 and real files, granted by the front matter, recorded
// as effect events, reused by request hash, and replayed without the world.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { notebook, plain, value, allowEffects, loomAsync } from './helpers.ts'
import { serveApp } from './serveApp.ts'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { performEffect } from '../engine/runtime/effects/perform.ts'
import { NotebookError } from '../engine/runtime/notebook.ts'
import { Engine } from '../engine/runtime/engine.ts'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { grantedPerformer } from '../engine/runtime/effects/grantedPerformer.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-effects-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

/** A real server on loopback that counts its hits; `/moved` redirects to `to`. */
async function server(body: (hits: number) => string = (hits) => `hello ${hits}`): Promise<{ url: string; port: number; hits: () => number; close: () => Promise<void>; redirectTo: (u: string) => void }> {
  let hits = 0
  let to = 'http://evil.example/'
  const s: Server = createServer((req, res) => {
    hits++
    if (req.url === '/moved') {
      res.writeHead(302, { location: to })
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-seen-auth': req.headers.authorization ?? '' })
    res.end(body(hits))
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port, hits: () => hits, redirectTo: (u) => (to = u), close: () => new Promise((r) => s.close(() => r())) }
}

function files(): string {
  const root = join(dir, `nb-${++n}`)
  mkdirSync(join(root, 'data', 'sub'), { recursive: true })
  writeFileSync(join(root, 'data', 'a.txt'), 'alpha')
  writeFileSync(join(root, 'data', 'sub', 'b.txt'), 'beta')
  writeFileSync(join(root, 'secret.txt'), 'the secret')
  return root
}

/** A notebook file in its own folder (file roots are relative to it) and a session with a real performer. */
async function session(cells: Record<string, string>, fm: string, root = files(), clock: 'virtual' | 'real' = 'virtual') {
  const path = join(root, 'app.loom.md')
  writeFileSync(path, notebook(cells, fm))
  const db = join(root, 'app.loom.db')
  const s = await openSession(path, { db, clock, startTime: 1_000_000, performEffect: (r) => performEffect(r, root).then((response) => ({ response })) })
  return { ...s, db, root, path }
}

/** Runs the session until idle; then state `name` holds `want` and the server was hit `hits` times. Closes both. */
async function settlesWith(s: { engine: Engine; log: { close(): void } }, srv: { hits(): number; close(): Promise<void> }, name: string, want: unknown, hits: number): Promise<void> {
  try {
    await settle(s.engine)
    assert.equal(value(s.engine, name), want)
    assert.equal(srv.hits(), hits)
  } finally {
    // Closed whatever happens: a server left open holds the file until its ten-minute limit.
    s.log.close()
    await srv.close()
  }
}

/** Closes the session, takes the world away (`gone`), and replays --verify its log. */
async function verifiesWithout(s: { log: { close(): void }; db: string }, gone: () => Promise<void>): Promise<void> {
  s.log.close()
  await gone()
  const log = SqliteLog.open(s.db)
  assert.equal((await verifyBranch(log, 'main')).ok, true)
  log.close()
}

/** Runs until the app is idle (a read under way is not idle), bounded. */
async function settle(engine: Engine): Promise<void> {
  for (let i = 0; i < 200 && engine.status !== 'idle' && engine.status !== 'halted'; i++) {
    await engine.run({ untilIdle: true })
    if (engine.status === 'parked' && !/waiting for sys\./.test(engine.waiting ?? '')) break
    await new Promise((r) => setTimeout(r, 5))
  }
}

const READ_ONCE = (url: string, maxAge = '') => ({
  s: `const got = state.var<any>('got', null)
export function step() {
  if (got.get() !== null) sys.abort('done')
  const r = sys.http.get('${url}/data', { headers: { Authorization: 'Bearer t' }${maxAge} })
  got.set({ status: r.status, body: r.body, auth: r.headers['x-seen-auth'] })
}`,
})

test('sys.http.get parks the step, the runner reads once, the response is an effect event and the step resumes with it', async () => {
  const srv = await server()
  const s = await session(READ_ONCE(srv.url), `effects:\n  http: ['http://127.0.0.1:*']`)
  await settle(s.engine)
  assert.deepEqual(value(s.engine, 'got'), { status: 200, body: 'hello 1', auth: 'Bearer t' })
  const kinds = s.engine.events().map((e) => e.kind)
  assert.deepEqual(kinds, ['code', 'effect', 'step'])
  const effect = plain(s.engine.events()[1]!.input) as { request: { url: string }; response: { status: number }; ms: number }
  assert.equal(effect.request.url, `${srv.url}/data`)
  assert.equal(effect.response.status, 200)
  assert.ok(s.engine.attempts().some((a) => /waiting for sys\.http\.get/.test(a.reason)), 'the first attempt waited for the read')
  // Replay never touches the world: verify passes with the server stopped.
  await verifiesWithout(s, srv.close)
})

test('the same read is answered from the log: the server counts one hit for many reads', async () => {
  const srv = await server()
  const s = await session({
    s: `const n = state.counter('n')
export function step() {
  if (n.get() >= 5) sys.abort('done')
  const r = sys.http.get('${srv.url}/same')
  if (r.body !== 'hello 1') throw new Error('not the recorded body: ' + r.body)
  n.add(1)
}`,
  }, `effects: { http: ['${srv.url}'] }`)
  await settlesWith(s, srv, 'n', 5, 1)
})

test('once maxAge has passed (in event time) the read is made again; replay reads the same answers', async () => {
  const srv = await server()
  const s = await session({
    s: `const seen = state.var<string[]>('seen', [])
const next = state.var<number>('next', 0)
export function step() {
  if (seen.get().length >= 3) sys.abort('done')
  sys.time.await(next.get())
  const body = sys.http.get('${srv.url}/t', { maxAge: 1000 }).body
  seen.set([...seen.get(), body])
  next.set(sys.time.now() + 600)
}`,
  }, `effects: { http: ['http://127.0.0.1:*'] }`)
  // Each step moves the virtual clock 600 ms: the response is reused once, then read again.
  for (let i = 0; i < 40 && (value(s.engine, 'seen') as string[]).length < 3; i++) {
    await s.engine.run({ untilIdle: true })
    await new Promise((r) => setTimeout(r, 5))
  }
  // Read at t, reused at t+600, read again at t+1200 (older than 1000 ms).
  assert.deepEqual(value(s.engine, 'seen'), ['hello 1', 'hello 1', 'hello 2'])
  assert.equal(srv.hits(), 2)
  await verifiesWithout(s, srv.close)
})

test('sys.fs.read reads a file inside its root, once; verify passes after the file is deleted', async () => {
  const s = await session({
    s: `const got = state.var<string[]>('got', [])
export function step() {
  if (got.get().length) sys.abort('done')
  got.set([sys.fs.read('data', 'a.txt'), sys.fs.read('data', './sub/b.txt')])
}`,
  }, `effects:\n  fs:\n    data: { path: ./data }`)
  await settle(s.engine)
  assert.deepEqual(value(s.engine, 'got'), ['alpha', 'beta'])
  assert.equal(s.engine.events().filter((e) => e.kind === 'effect').length, 2)
  await verifiesWithout(s, async () => rmSync(join(s.root, 'data'), { recursive: true }))
})

/** What one read in a step ends with: the step's committed result, or the attempt's reason. */
async function outcome(call: string, fm: string, root?: string): Promise<string> {
  const s = await session({
    s: `const r = state.var<any>('r', null)
export function step() {
  if (r.get() !== null) sys.abort('done')
  let out
  try { out = ${call} } catch (e) { out = 'caught: ' + e.message }
  r.set(typeof out === 'string' ? out : out.status + ' ' + out.body)
}`,
  }, fm, root)
  await settle(s.engine)
  const got = value(s.engine, 'r') as string | null
  const reason = s.engine.attempts().filter((a) => !/^waiting for/.test(a.reason)).at(-1)?.reason
  s.log.close()
  return got ?? `failed: ${reason}`
}

test('a read the front matter does not grant fails with an error naming the key to add', async () => {
  const srv = await server()
  assert.equal(await outcome(`sys.http.get('http://127.0.0.1:9/')`, `effects: { http: ['https://api.example.com'] }`),
    'failed: sys.http.get("http://127.0.0.1:9/"): the origin http://127.0.0.1:9 is not granted; add it to `effects.http` in the front matter')
  assert.match(await outcome(`sys.http.get('${srv.url}/')`, ''), /^failed: .*not granted; add it to `effects.http` in the front matter/)
  assert.match(await outcome(`sys.fs.read('logs', 'a.txt')`, `effects: { fs: { data: { path: ./data } } }`), /^failed: .*there is no file root 'logs'; add it to `effects.fs` in the front matter/)
  assert.equal(srv.hits(), 0, 'nothing denied reached the server')
  await srv.close()
})

test('attack: URL tricks reach no origin that is not granted', async () => {
  const srv = await server()
  const only = `effects: { http: ['${srv.url}'] }`
  // Userinfo: the real host is after the @.
  assert.match(await outcome(`sys.http.get('http://127.0.0.1:${srv.port}@evil.example/')`, only), /^failed: .*(not granted|user name or password)/)
  assert.match(await outcome(`sys.http.get('http://user:pw@127.0.0.1:${srv.port}/')`, only), /^failed: .*user name or password/)
  // Other names and forms of loopback are other origins.
  assert.match(await outcome(`sys.http.get('http://localhost:${srv.port}/')`, only), /^failed: .*origin http:\/\/localhost:\d+ is not granted/)
  assert.match(await outcome(`sys.http.get('http://[::1]:${srv.port}/')`, only), /^failed: .*origin http:\/\/\[::1\]:\d+ is not granted/)
  assert.match(await outcome(`sys.http.get('http://2130706433:${srv.port}/')`, `effects: { http: ['http://localhost:${srv.port}'] }`), /^failed: .*origin http:\/\/127\.0\.0\.1:\d+ is not granted/)
  assert.match(await outcome(`sys.http.get('file:///etc/passwd')`, only), /^failed: .*only http and https/)
  assert.match(await outcome(`sys.http.get('https://127.0.0.1:${srv.port}/')`, only), /^failed: .*not granted/)
  assert.equal(srv.hits(), 0)
  // A redirect is answered as it is, never followed: the cell sees the 302 and no request leaves for its target.
  srv.redirectTo('http://localhost:9/stolen')
  assert.equal(await outcome(`sys.http.get('${srv.url}/moved')`, only), '302 ')
  assert.equal(srv.hits(), 1)
  await srv.close()
})

test('attack: path tricks read nothing outside the root (.., absolute, %2e%2e, a symlink out)', async () => {
  const fm = `effects: { fs: { data: { path: ./data } } }`
  assert.match(await outcome(`sys.fs.read('data', '../secret.txt')`, fm), /^failed: .*the path goes up \(\.\.\); paths are relative to the root 'data'/)
  assert.match(await outcome(`sys.fs.read('data', 'sub/../../secret.txt')`, fm), /^failed: .*goes up/)
  assert.match(await outcome(`sys.fs.read('data', '/etc/passwd')`, fm), /^failed: .*the path is absolute/)
  assert.match(await outcome(`sys.fs.read('data', 'sub\\\\..\\\\..\\\\secret.txt')`, fm), /^failed: .*backslash/)
  // Percent signs are part of a file name, not an escape: this is a file inside the root that does not exist.
  assert.equal(await outcome(`sys.fs.read('data', '%2e%2e/secret.txt')`, fm), "caught: sys.fs.read(\"data\", \"%2e%2e/secret.txt\"): no file '%2e%2e/secret.txt' in the root 'data'")
  const root = files()
  symlinkSync(join(root, 'secret.txt'), join(root, 'data', 'link.txt'))
  symlinkSync(root, join(root, 'data', 'up'))
  assert.match(await outcome(`sys.fs.read('data', 'link.txt')`, fm, root), /^caught: .*'link.txt' leads outside the root 'data' \(through a link\)/)
  assert.match(await outcome(`sys.fs.read('data', 'up/secret.txt')`, fm, root), /^caught: .*leads outside the root/)
  // A link that stays inside is fine.
  const inside = files()
  symlinkSync(join(inside, 'data', 'a.txt'), join(inside, 'data', 'same.txt'))
  assert.equal(await outcome(`sys.fs.read('data', 'same.txt')`, fm, inside), 'alpha')
})

test('attack: a FIFO, a folder or a huge file inside the root is refused, never waited on or read whole into the process that holds the log', async () => {
  const root = mkdtempSync(join(tmpdir(), 'loom-effects-odd-'))
  mkdirSync(join(root, 'data'))
  spawnSync('mkfifo', [join(root, 'data', 'pipe')])
  mkdirSync(join(root, 'data', 'folder'))
  writeFileSync(join(root, 'data', 'huge.bin'), Buffer.alloc(64 * 1024 * 1024, 0x61))
  writeFileSync(join(root, 'data', 'edge.txt'), Buffer.alloc(4 * 1024 * 1024, 0x62))
  const read = (path: string) => performEffect({ kind: 'fs.read', root: 'data', rootPath: './data', path } as never, root)
  const rss = process.memoryUsage().rss
  assert.deepEqual(await read('pipe'), { error: "'pipe' in the root 'data' is not a file" })
  assert.deepEqual(await read('folder'), { error: "'folder' in the root 'data' is not a file" })
  assert.deepEqual(await read('huge.bin'), { error: "'huge.bin' is larger than 4194304 bytes" })
  assert.ok(process.memoryUsage().rss - rss < 48 * 1024 * 1024, 'the huge file was not read whole')
  assert.equal(((await read('edge.txt')) as { text: string }).text.length, 4 * 1024 * 1024, 'a file of exactly the limit is read')
  rmSync(root, { recursive: true, force: true })
})

test('a connection refused is recorded, and the cell can catch it', async () => {
  const srv = await server()
  await srv.close()
  assert.equal(await outcome(`sys.http.get('${srv.url}/')`, `effects: { http: ['http://127.0.0.1:*'] }`), `caught: sys.http.get("${srv.url}/"): connection refused`)
})

test('without a runner that performs effects, a read with nothing recorded fails saying so', async () => {
  const e = await Engine.fromSource(notebook(READ_ONCE('http://127.0.0.1:9'), `effects: { http: ['http://127.0.0.1:*'] }`), { path: 'x.loom.md', clock: 'virtual' })
  await e.run({ untilIdle: true })
  assert.match(e.attempts().at(-1)!.reason, /no response is recorded and this runner performs no effects/)
})

test('a malformed effects front matter is refused with the key and what to write', async () => {
  const bad: [string, RegExp][] = [
    ['effects: 3', /front matter key "effects" must be a mapping/],
    ['effects: { http: http://x }', /"effects": http must be a list of origins/],
    ["effects: { http: ['http://x/path'] }", /"effects": http: "http:\/\/x\/path" is not an origin; write scheme:\/\/host/],
    ["effects: { http: ['ftp://x'] }", /is not an origin/],
    ["effects: { http: [null] }", /is not an origin/],
    ['effects: { fs: { data: ./data } }', /"effects": fs.data must be \{ path: .\/folder \}/],
    ['effects: { fs: { "../x": { path: . } } }', /the root name "..\/x" is not a name/],
    ['effects: { fs: { data: { path: ., write: yes } } }', /fs.data.write must be true or false/],
    ['effects: { net: [] }', /unknown key "net"/],
    [`effects: { http: [${Array.from({ length: 5000 }, () => "'http://a'").join(',')}, 7] }`, /7 is not an origin/],
  ]
  for (const [fm, want] of bad) {
    let err: unknown
    try {
      await Engine.fromSource(notebook({ s: 'export function step() {}' }, fm), { path: 'bad.loom.md' })
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof NotebookError, fm.slice(0, 60))
    assert.match((err as Error).message, want)
    assert.match((err as Error).message, /bad\.loom\.md/)
  }
})

test('an app without effects records its code event as before (no effects key)', async () => {
  const e = await Engine.fromSource(notebook({ s: 'export function step() { sys.abort() }' }), { path: 'x.loom.md', clock: 'virtual' })
  assert.deepEqual(Object.keys(plain(e.events()[0]!.input) as object).sort(), ['args', 'env', 'seed'])
})

const loom = (args: string[]) => loomAsync(args)

test('loom run: the confined app reads a granted URL and file through the launcher; replay --verify passes with the server stopped', async () => {
  const srv = await server()
  const root = files()
  const path = join(root, 'app.loom.md')
  writeFileSync(path, notebook({
    s: `const got = state.var<string[]>('got', [])
export function step() {
  if (got.get().length) sys.halt()
  else got.set([sys.http.get('${srv.url}/x').body, sys.fs.read('data', 'a.txt')])
}`,
  }, `effects:\n  http: ['http://127.0.0.1:*']\n  fs:\n    data: { path: ./data }`))
  const db = join(root, 'app.loom.db')
  await allowEffects(path)
  const r = await loom(['run', path, '--db', db, '--until-idle', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(srv.hits(), 1)
  await srv.close()
  const log = SqliteLog.open(db)
  const events = log.events()
  assert.deepEqual(events.map((e) => e.kind), ['code', 'effect', 'effect', 'step', 'step', 'halt'])
  assert.deepEqual(plain(events[3]!.writes[0]), { state: 'got', op: 'set', value: ['hello 1', 'alpha'] })
  log.close()
  const v = await loom(['replay', db, '--verify'])
  assert.equal(v.status, 0, v.stdout + v.stderr)
  const l = await loom(['log', db])
  assert.match(l.stdout, new RegExp(`effect {7}wrote sys.effects  GET ${srv.url}/x → 200 · \\d+ ms`))
  assert.match(l.stdout, /effect {7}wrote sys.effects  read data:a.txt → 5 B · \d+ ms/)
})

test('loom run: a notebook whose effects front matter is malformed exits 2 naming the notebook, the key and what to write', async () => {
  const root = files()
  const path = join(root, 'bad.loom.md')
  writeFileSync(path, notebook({ s: 'export function step() {}' }, `effects:\n  http: 'http://127.0.0.1:*'`))
  const r = await loom(['run', path, '--db', join(root, 'bad.loom.db'), '--until-idle'])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /bad\.loom\.md:2: front matter key "effects": http must be a list of origins/s)
})

test('exploration with --faults none gives a safe read no answer it did not record: no false deadlock or error, and it says what it left out', async () => {
  const r = explore(await Model.create(notebook({
    s: `const n = state.var<number>('n', 0)
export function step() {
  if (n.get() >= 2) return sys.halt()
  if (sys.fork(2) === 0) n.set(n.get() + 1)
  else n.set(n.get() + Number(sys.http.get('http://127.0.0.1:9/').body))
}`,
  }, `effects: { http: ['http://127.0.0.1:*'] }`), { path: 'x.loom.md', faults: [] }))
  assert.equal(r.violations.length, 0, JSON.stringify(r.violations))
  assert.equal(r.deadlocks, 0)
  assert.ok(r.unexplored.some((u) => /^effect responses — no response is recorded for sys\.http\.get\("http:\/\/127\.0\.0\.1:9\/"\): exploration gave it only no answer/.test(u)), r.unexplored.join('\n'))
  assert.ok(r.unexplored.some((u) => /^effect faults — timeout, refused, 5xx, failed, lost were not tried/.test(u)), r.unexplored.join('\n'))
})

test('the launcher checks a confined engine\'s effect requests again: ungranted, malformed or hostile ones are refused, not performed', async () => {
  const srv = await server()
  const root = files()
  const p = grantedPerformer(join(root, 'app.loom.md'), notebook({ s: '' }, `effects: { http: ['${srv.url}'], fs: { data: { path: ./data } } }`), async () => {})
  const refused = async (req: unknown) => assert.rejects(p.perform(req))
  await refused(null)
  await refused('http.get')
  await refused({ kind: 'http.post', url: `${srv.url}/` })
  await refused({ kind: 'http.get', url: 'http://localhost:9/' })
  await refused({ kind: 'http.get', url: `${srv.url}/`, headers: { 'x\r\nevil': 'y' } })
  await refused({ kind: 'fs.read', root: 'data', path: '../secret.txt' })
  await refused({ kind: 'fs.read', root: 'data', rootPath: '/', path: 'etc/passwd' }).catch(() => {})
  let deep: unknown = {}
  for (let i = 0; i < 10_000; i++) deep = { headers: deep }
  await refused({ kind: 'http.get', url: `${srv.url}/`, headers: deep })
  assert.equal(srv.hits(), 0)
  // The root's path is the launcher's, whatever the request says.
  assert.deepEqual((await p.perform({ kind: 'fs.read', root: 'data', rootPath: '/', path: 'a.txt' })).response, { text: 'alpha' })
  assert.equal(((await p.perform({ kind: 'http.get', url: `${srv.url}/ok`, headers: {} })).response as { status: number }).status, 200)
  await srv.close()
})

test('a cell cannot declare the state Loom keeps recorded responses in', async () => {
  await assert.rejects(Engine.fromSource(notebook({ s: `const x = state.map('sys.effects')` }), { path: 'x.loom.md' }), /state 'sys.effects' is Loom's .*give the state another name/)
})

test('hostile arguments to sys.http.get and sys.fs.read fail the transaction with what is wrong, and reach nothing', async () => {
  const srv = await server()
  const fm = `effects: { http: ['${srv.url}'], fs: { data: { path: ./data } } }`
  const cases: [string, RegExp][] = [
    [`sys.http.get(null)`, /the url is a string/],
    [`sys.http.get({ toString() { return '${srv.url}/' } })`, /the url is a string/],
    [`sys.http.get('not a url')`, /not an absolute URL/],
    [`sys.http.get('${srv.url}/' + 'x'.repeat(20000))`, /longer than 16384/],
    [`sys.http.get('${srv.url}/', { maxAge: -1 })`, /maxAge is a number of ms ≥ 0/],
    [`sys.http.get('${srv.url}/', { maxAge: NaN })`, /maxAge is a number/],
    [`sys.http.get('${srv.url}/', { headers: { a: { b: 1 } } })`, /header "a" is not a header name with a string value/],
    [`sys.http.get('${srv.url}/', { headers: { a: 'x'.repeat(20000) } })`, /headers are longer/],
    [`sys.http.get('${srv.url}/', { headers: (() => { const o = {}; o.self = o; return o })() })`, /headers/],
    [`sys.http.get('${srv.url}/', { get headers() { throw new Error('boom') } })`, /boom/],
    [`sys.fs.read(1, {})`, /the root and the path are strings/],
    [`sys.fs.read('data', '')`, /the path is empty/],
    [`sys.fs.read('data', 'a\\u0000b')`, /NUL/],
    [`sys.fs.read('data', 'a/'.repeat(3000))`, /longer than 4096/],
  ]
  for (const [call, want] of cases) assert.match(await outcome(call, fm), new RegExp(`^(failed|caught): .*${want.source}`), call.slice(0, 80))
  assert.equal(srv.hits(), 0)
  await srv.close()
})

test('loom serve: an http() that reads a granted URL answers once the launcher has read it; the read is an effect event', async () => {
  const srv = await server()
  const root = files()
  const path = join(root, 'served.loom.md')
  writeFileSync(path, notebook({
    api: `export function http(req) {
  return { status: 200, body: 'upstream said ' + sys.http.get('${srv.url}' + req.path).body }
}`,
  }, `effects: { http: ['${srv.url}'] }`))
  const db = join(root, 'served.loom.db')
  await allowEffects(path)
  const served = await serveApp(path, db)
  try {
    const app = served.app
    const first = await fetch(`${app}/a`)
    assert.equal(await first.text(), 'upstream said hello 1')
    const again = await fetch(`${app}/a`)
    assert.equal(await again.text(), 'upstream said hello 1', 'the same read is answered from the log')
    assert.equal(srv.hits(), 1)
  } finally {
    await served.stop()
    await srv.close()
  }
  const l = await loom(['log', db])
  assert.match(l.stdout, /effect {7}wrote sys.effects {2}GET http:\/\/127\.0\.0\.1:\d+\/a → 200/)
  assert.equal((await loom(['replay', db, '--verify'])).status, 0)
})

test('maxAge: 0 does not read for ever: a response counts as fresh for a second', async (t) => {
  const srv = await server()
  t.after(() => srv.close())
  const s = await session({
    s: `const got = state.counter('got')
export function step() {
  if (got.get() >= 3) sys.abort('done')
  sys.http.get('${srv.url}/z', { maxAge: 0 })
  got.add(1)
}`,
  }, `effects: { http: ['http://127.0.0.1:*'] }`, files(), 'real')
  t.after(() => s.log.close())
  await settle(s.engine)
  assert.equal(value(s.engine, 'got'), 3)
  // One read for the three steps; read again only once the last response was more than a second old (a loaded
  // machine may take longer than that between two steps): never two reads within a second.
  const reads = s.engine.events().filter((e) => e.kind === 'effect')
  assert.equal(srv.hits(), reads.length)
  for (let i = 1; i < reads.length; i++) assert.ok(reads[i]!.time - reads[i - 1]!.time > 1000, `read ${i + 1} came ${reads[i]!.time - reads[i - 1]!.time} ms after the one before, while that response was fresh`)
})

test('a hand edit that puts garbage where a response is kept is no response: the read is made again, nothing crashes', async () => {
  const srv = await server()
  const s = await session(READ_ONCE(srv.url), `effects: { http: ['http://127.0.0.1:*'] }`)
  await settle(s.engine)
  assert.equal(srv.hits(), 1)
  const hash = Object.keys(value(s.engine, 'sys.effects') as object)[0]!
  for (const garbage of [5, null, 'x', [], { at: 'soon', response: {} }, { at: 1, response: 7 }]) {
    s.engine.edit([{ state: 'sys.effects', key: hash, set: garbage }, { state: 'got', set: null }])
    await settle(s.engine)
    assert.equal((value(s.engine, 'got') as { status: number }).status, 200, JSON.stringify(garbage))
  }
  assert.equal(srv.hits(), 7)
  s.log.close()
  await srv.close()
})
