// /sys on the app's port serves to whoever reaches it: a page of another
// site is refused (403, saying why), and nothing it serves carries a
// credential — while the log keeps them, as `loom log` shows, for replay.
// Real `loom run --port 0`, real HTTP.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'loom-sys-'))
const notebook = join(dir, 'creds.loom.md')
const db = join(dir, 'creds.loom.db')
writeFileSync(notebook, [
  '# Creds', '',
  '```ts #api',
  "const seen = state.counter('seen')",
  'export function http(req: { path: string }) {',
  '  seen.add(1)',
  "  return { status: 200, headers: { 'Set-Cookie': 'session=from-the-app; HttpOnly', 'content-type': 'text/plain' }, body: 'ok' }",
  '}',
  '```', '',
].join('\n'))

const SECRETS = { authorization: 'Bearer the-bearer-secret', cookie: 'sid=the-cookie-secret', 'proxy-authorization': 'Basic the-proxy-secret' }

let app: ChildProcess
let base = ''
before(async () => {
  app = spawn(process.execPath, ['bin/loom.js', 'run', notebook, '--db', db, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  base = await new Promise<string>((resolve, reject) => {
    app.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d
      const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(err)
      if (m) resolve(m[1]!)
    })
    app.once('exit', (code) => reject(new Error(`loom run ended (${code}) before serving: ${err}`)))
  })
  const res = await fetch(`${base}/hello`, { headers: SECRETS })
  assert.equal(res.status, 200)
})
after(() => {
  if (app.exitCode === null) app.kill('SIGKILL')
})

const sysLog = (headers: Record<string, string> = {}) => fetch(`${base}/sys/log?limit=5`, { headers })

test('a page of another origin is refused /sys with 403, saying why', async () => {
  for (const path of ['/sys/log?limit=5', '/sys/events?after=0&timeout=0', '/sys/state', '/sys/branches', '/sys/attempts']) {
    const res = await fetch(`${base}${path}`, { headers: { origin: 'http://evil.example' } })
    assert.equal(res.status, 403, path)
    assert.match(((await res.json()) as { error: string }).error, /not a page of http:\/\/evil\.example/)
  }
  // The opaque origin of a sandboxed frame or a file:// page is another origin too.
  assert.equal((await sysLog({ origin: 'null' })).status, 403)
  // DNS rebinding's name, when it does send an Origin, is not the app's either.
  assert.equal((await sysLog({ origin: `http://localhost.evil.example:${new URL(base).port}` })).status, 403)
})

test('a page that rebinds its own name to 127.0.0.1 (no Origin on its GET, its name in Host) is refused /sys with 421', async () => {
  const { port } = new URL(base)
  const get = (host: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/sys/log?limit=5', headers: { host } }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }))
    }).on('error', reject).end()
  })
  const rebound = await get(`evil.example:${port}`)
  assert.equal(rebound.status, 421)
  assert.match(rebound.body, /only to this machine's own names/)
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) assert.equal((await get(host)).status, 200, host)
})

test('curl (no Origin) and the app\'s own pages get /sys/log, with every credential header redacted', async () => {
  for (const headers of [{}, { origin: base }] as Record<string, string>[]) {
    const res = await sysLog(headers)
    assert.equal(res.status, 200)
    const text = await res.text()
    for (const secret of ['the-bearer-secret', 'the-cookie-secret', 'the-proxy-secret', 'from-the-app']) assert.ok(!text.includes(secret), `${secret} is not served`)
    const http = (JSON.parse(text) as { kind: string; input: { headers: Record<string, string> }; outputs: { http: { headers: Record<string, string> } } }[]).find((e) => e.kind === 'http')!
    assert.equal(http.input.headers.authorization, '[redacted]')
    assert.equal(http.input.headers.cookie, '[redacted]')
    assert.equal(http.input.headers['proxy-authorization'], '[redacted]')
    assert.equal(http.outputs.http.headers['set-cookie'], '[redacted]')
    assert.equal(http.outputs.http.headers['content-type'], 'text/plain', 'other headers are shown as they were')
  }
  const events = await (await fetch(`${base}/sys/events?after=0`)).text()
  assert.ok(!/the-bearer-secret|the-cookie-secret|from-the-app/.test(events))
  assert.match(events, /\[redacted\]/)
})

test('the log itself keeps the real headers: loom log shows them to whoever may read the file', async () => {
  app.kill('SIGINT')
  await new Promise((resolve) => app.once('exit', resolve))
  const r = spawnSync(process.execPath, ['bin/loom.js', 'log', db, '--json'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const http = (JSON.parse(r.stdout) as { kind: string; input: { headers: Record<string, string> }; outputs: { http: { headers: Record<string, string> } } }[]).find((e) => e.kind === 'http')!
  assert.equal(http.input.headers.authorization, SECRETS.authorization)
  assert.equal(http.input.headers.cookie, SECRETS.cookie)
  assert.equal(http.outputs.http.headers['set-cookie'], 'session=from-the-app; HttpOnly')
})
