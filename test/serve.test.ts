// What `loom serve` answers over HTTP: the UI's files with strict security
// headers and the right types, nothing outside the bundle whatever the path
// says, only to its own name, and a clear page when the UI is not built.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, STABLE_PORT, type Serving } from '../engine/host/serve.ts'
import { serveApp } from './serveApp.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-serve-'))
const bundle = join(dir, 'renderer')
mkdirSync(join(bundle, 'fonts'), { recursive: true })
const files: Record<string, [string, string]> = {
  'index.html': ['<!doctype html><title>Loom</title><script src="app.js"></script>\n', 'text/html; charset=utf-8'],
  'app.js': ['console.log("loom")\n', 'text/javascript; charset=utf-8'],
  'app.js.map': ['{"version":3}\n', 'application/json; charset=utf-8'],
  'app.css': ['body { margin: 0 }\n', 'text/css; charset=utf-8'],
  'fonts/codicon.ttf': ['\x00\x01\x00\x00', 'font/ttf'],
  'logo.png': ['PNG', 'image/png'],
  'logo.svg': ['<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml'],
  'sys.json': ['{}', 'application/json; charset=utf-8'],
}
for (const [name, [body]] of Object.entries(files)) writeFileSync(join(bundle, name), body)
// Beside the bundle, where a path with .. would lead.
writeFileSync(join(dir, 'secret.txt'), 'the secret\n')
const notebook = join(dir, 'bank.loom.md')
writeFileSync(notebook, readFileSync('samples/bank.loom.md'))

const running: Serving[] = []
after(() => Promise.all(running.map((s) => s.close())))
async function start(rendererDir: string): Promise<Serving> {
  const s = await serve({ notebook, rendererDir, port: 0 })
  running.push(s)
  return s
}
const served = start(bundle)

/** A raw GET: the path goes out exactly as written (no client-side normalising of ..). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = ''
      res.setEncoding('latin1').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

const CSP = (port: number) =>
  `default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' ws://127.0.0.1:${port}; img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`

test('the served address is 127.0.0.1 on a free port, with a new token of 192 bits', async () => {
  const s = await served
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/)
  assert.equal(new URL(s.url).searchParams.get('token'), s.token)
  assert.notEqual(s.port, 0)
})

test('every file of the UI comes with its content type and the security headers', async () => {
  const { port } = await served
  for (const [name, [body, type]] of Object.entries(files)) {
    const r = await get(port, `/${name}`)
    assert.equal(r.status, 200, name)
    assert.equal(r.headers['content-type'], type, name)
    assert.equal(r.body, body, name)
    assert.equal(r.headers['content-security-policy'], CSP(port), name)
    assert.equal(r.headers['x-content-type-options'], 'nosniff', name)
    assert.equal(r.headers['x-frame-options'], 'DENY', name)
  }
  const index = await get(port, '/')
  assert.equal(index.status, 200)
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8')
  assert.equal(index.body, files['index.html']![0])
})

test('a reload revalidates each file: 304 while it is unchanged (the browser keeps what it compiled), 200 once rebuilt', async () => {
  const { port } = await served
  const first = await get(port, '/app.js')
  const etag = first.headers.etag as string
  assert.match(etag, /^"[^"]+"$/)
  assert.equal(first.headers['cache-control'], 'no-cache', 'always asked again: a rebuilt UI is never served stale')
  const again = await get(port, '/app.js', { 'if-none-match': etag })
  assert.equal(again.status, 304)
  assert.equal(again.body, '')
  assert.equal(again.headers['content-security-policy'], CSP(port))
  // A rebuild (another size and time): the whole new file.
  writeFileSync(join(bundle, 'app.js'), 'console.log("loom, rebuilt")\n')
  try {
    const rebuilt = await get(port, '/app.js', { 'if-none-match': etag })
    assert.equal(rebuilt.status, 200)
    assert.equal(rebuilt.body, 'console.log("loom, rebuilt")\n')
    assert.notEqual(rebuilt.headers.etag, etag)
  } finally {
    writeFileSync(join(bundle, 'app.js'), files['app.js']![0])
  }
})

test('without a port asked for, loom serve listens on the same one each start (4737, or the next free one), so the browser keeps its caches; taken, another', async () => {
  const first = await serve({ notebook, rendererDir: bundle })
  const port = first.port
  await first.close()
  assert.ok(port >= STABLE_PORT && port < STABLE_PORT + 10, `${port} is one of the stable ports`)
  const again = await serve({ notebook, rendererDir: bundle })
  try {
    assert.equal(again.port, port, 'the same port again')
    // A second loom serve while the first runs: the next stable port, not a failure.
    const second = await serve({ notebook, rendererDir: bundle, db: join(dir, 'second.loom.db') })
    try {
      assert.notEqual(second.port, port)
      assert.ok(second.port > 0)
    } finally {
      await second.close()
    }
  } finally {
    await again.close()
  }
})

test('a file named by its content\'s hash (a chunk, an asset) is kept by the browser without asking again; the rest are revalidated', async () => {
  const { port } = await served
  mkdirSync(join(bundle, 'assets'), { recursive: true })
  writeFileSync(join(bundle, 'chunk-AB12CD34.js'), 'export {}\n')
  writeFileSync(join(bundle, 'assets', 'codicon-LTRFOK3N.ttf'), '\x00\x01')
  writeFileSync(join(bundle, 'chunk-notahash.js'), 'export {}\n')
  for (const hashed of ['/chunk-AB12CD34.js', '/assets/codicon-LTRFOK3N.ttf']) {
    const r = await get(port, hashed)
    assert.equal(r.status, 200, hashed)
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', hashed)
  }
  for (const plain of ['/chunk-notahash.js', '/app.js', '/', '/assets/../chunk-AB12CD34.js']) {
    const r = await get(port, plain)
    if (r.status === 200) assert.equal(r.headers['cache-control'], 'no-cache', plain)
  }
})

test('no path reaches a file outside the bundle, however it is spelled', async () => {
  const { port } = await served
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2E%2E%2Fsecret.txt', '/..%5csecret.txt', '/fonts/../../secret.txt', '/fonts/%2e%2e/%2e%2e/secret.txt', `/${join(dir, 'secret.txt')}`, '//etc/passwd', '/%00index.html', '/%zz']) {
    const r = await get(port, path)
    assert.ok([400, 404].includes(r.status), `${path} answered ${r.status}`)
    assert.doesNotMatch(r.body, /the secret|root:/, path)
    assert.equal(r.headers['content-security-policy'], CSP(port), `${path}: errors carry the headers too`)
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path)
  }
})

test('only GET and HEAD, only to its own name', async () => {
  const { port } = await served
  const post = await get(port, '/index.html', {}, 'POST')
  assert.equal(post.status, 405)
  const head = await get(port, '/app.js', {}, 'HEAD')
  assert.equal(head.status, 200)
  assert.equal(head.body, '')
  // DNS rebinding: a page at another name that resolves to 127.0.0.1 gets nothing.
  const rebound = await get(port, '/index.html', { host: `attacker.example:${port}` })
  assert.equal(rebound.status, 421)
  assert.equal((await get(port, '/index.html', { host: `localhost:${port}` })).status, 200)
  const engine = await get(port, '/engine')
  assert.equal(engine.status, 426)
})

test('without a built UI the page says to run npm run build (503), with the same headers', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'loom-unbuilt-'))
  const s = await start(empty)
  const r = await get(s.port, '/')
  assert.equal(r.status, 503)
  assert.match(r.body, /npm run build/)
  assert.equal(r.headers['content-security-policy'], CSP(s.port))
  assert.equal(r.headers['x-content-type-options'], 'nosniff')
})

test('loom serve --env K=V is what sys.env shows the served app, as under loom run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-serve-env-'))
  const nb = join(dir, 'greet.loom.md')
  writeFileSync(nb, "---\nhttp: 0\n---\nA greeting from the configuration.\n\n```ts #api\nexport function http(req: { method: string; path: string }) {\n  return { status: 200, body: `hello ${sys.env.get('WHO') ?? 'nobody'}` }\n}\n```\n")
  const served = await serveApp(nb, join(dir, 'greet.loom.db'), process.env, ['--env', 'WHO=ada'])
  try {
    assert.equal(await (await fetch(`${served.app}/`)).text(), 'hello ada')
  } finally {
    await served.stop()
  }
  const bare = await serveApp(nb, join(dir, 'bare.loom.db'))
  try {
    assert.equal(await (await fetch(`${bare.app}/`)).text(), 'hello nobody')
  } finally {
    await bare.stop()
  }
})
