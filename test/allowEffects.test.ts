// A notebook you were sent grants what its author wrote: `loom run` and
// `loom serve` perform its effects only once you have allowed its grants
// (`loom allow NB`), and again after they change. Real processes, a real
// server on loopback, the real config file (in the test run's own folder).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { loomChild, notebook } from './helpers.ts'
import { serveApp } from './serveApp.ts'
import { allowedGrantsFile } from '../engine/host/allowedGrants.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-allow-'))
// Its own config folder: what other tests allowed does not count here, and this file's tests run in order.
const config = join(dir, 'config')
const env = { ...process.env, XDG_CONFIG_HOME: config }
after(() => rmSync(dir, { recursive: true, force: true }))

async function server() {
  let hits = 0
  const s = createServer((_req, res) => (hits++, res.end('42')))
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => hits, close: () => new Promise((r) => (s.closeAllConnections(), s.close(r))) }
}

/** `loom …` with this file's config folder; `input` is its stdin. */
const loom = (args: string[], input = '') => loomChild(args, { env, input }).done.then(({ status, stdout, stderr }) => ({ status, stdout, stderr }))

const READER = (url: string) => ({
  s: `const got = state.var('got', '')
export function step() {
  if (got.get()) sys.halt()
  else got.set(sys.http.get('${url}/rate').body)
}`,
})

test('loom run refuses a notebook whose grants you have not allowed, before anything runs or is logged, saying what it would reach', async () => {
  const srv = await server()
  const nb = join(dir, 'sent.loom.md')
  writeFileSync(nb, notebook(READER(srv.url), `effects:\n  http: ['http://127.0.0.1:*']\n  fs:\n    home: { path: /, write: true }`))
  const db = join(dir, 'sent.loom.db')
  const r = await loom(['run', nb, '--db', db, '--until-idle'], 'y\n') // stdin is not a terminal: no question is asked
  assert.equal(r.status, 2, r.stderr)
  assert.equal(r.stderr, `loom: ${nb} grants effects you have not allowed (or changed them since you did):\n  - reads from and sends to http://127.0.0.1 (any port)\n  - reads and writes files in / (the root 'home')\nread its effects: front matter, then allow them: loom allow ${nb}\n`)
  assert.equal(existsSync(db), false, 'no log was made')
  assert.equal(srv.hits(), 0)
  await srv.close()
})

test('loom allow says what the notebook may reach; then loom run performs its reads, until its grants change', async () => {
  const srv = await server()
  const nb = join(dir, 'mine.loom.md')
  const fm = `effects: { http: ['${srv.url}'] }`
  writeFileSync(nb, notebook(READER(srv.url), fm))
  const allowed = await loom(['allow', nb])
  assert.equal(allowed.status, 0, allowed.stderr)
  assert.equal(allowed.stdout, `${nb} may now, when loom run or loom serve runs it:\n  - reads from and sends to ${srv.url}\nuntil its effects: front matter changes.\n`)
  const run = await loom(['run', nb, '--db', join(dir, 'mine.loom.db'), '--until-idle'])
  assert.equal(run.status, 0, run.stderr)
  assert.equal(srv.hits(), 1)
  // Cells may change freely: what was allowed is the grants.
  writeFileSync(nb, notebook({ s: READER(srv.url).s.replace("'got'", "'rate'") }, fm))
  assert.equal((await loom(['run', nb, '--db', join(dir, 'mine2.loom.db'), '--until-idle'])).status, 0)
  assert.equal(srv.hits(), 2)
  // A grant added, or the same grants in another notebook (a copy you were sent), are asked about again.
  writeFileSync(nb, notebook(READER(srv.url), `effects: { http: ['${srv.url}', 'https://collect.example'] }`))
  const widened = await loom(['run', nb, '--db', join(dir, 'mine3.loom.db'), '--until-idle'])
  assert.equal(widened.status, 2)
  assert.match(widened.stderr, /- reads from and sends to https:\/\/collect\.example:443\n/)
  const copy = join(dir, 'copy.loom.md')
  copyFileSync(nb, copy)
  writeFileSync(copy, notebook(READER(srv.url), fm))
  assert.equal((await loom(['run', copy, '--db', join(dir, 'copy.loom.db'), '--until-idle'])).status, 2)
  assert.equal(srv.hits(), 2)
  await srv.close()
})

// `script` (util-linux) runs the command on a pseudo-terminal of its own: the question a person sees.
const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p))

test('at a terminal loom run asks, and remembers a yes; a no (or nothing) refuses', { skip: !script && 'no script(1) for a terminal' }, async () => {
  const nb = join(dir, 'asked.loom.md')
  writeFileSync(nb, notebook({ s: 'export function step() {\n  sys.halt()\n}' }, "effects: { http: ['http://127.0.0.1:9'] }"))
  const atTerminal = (answer: string) => new Promise<{ status: number | null; said: string }>((done) => {
    const child = spawn(script!, ['-qec', `${process.execPath} bin/loom.js run ${nb} --db ${join(dir, 'asked.loom.db')} --until-idle`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let said = ''
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      said += t
      // Typed once the question is on the screen, as a person would.
      if (said.includes('[y/N] ') && !child.stdin.writableEnded) child.stdin.end(answer)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('close', (status) => (clearTimeout(timer), done({ status, said })))
  })
  const no = await atTerminal('n\n')
  assert.equal(no.status, 2, no.said)
  assert.ok(no.said.includes(`${nb} grants effects you have not allowed (or changed them since you did):\r\n  - reads from and sends to http://127.0.0.1:9\r\nAllow them? (remembered, as loom allow ${nb} does) [y/N] `), no.said)
  const yes = await atTerminal('y\n')
  assert.equal(yes.status, 0, yes.said)
  assert.match(yes.said, /halted/)
  const again = await loom(['run', nb, '--db', join(dir, 'asked.loom.db'), '--until-idle'])
  assert.equal(again.status, 0, 'a yes is remembered: no question the second time, even without a terminal')
})

test('a notebook that grants nothing runs without a question, and loom allow says there is nothing to allow', async () => {
  const nb = join(dir, 'plain.loom.md')
  writeFileSync(nb, notebook({ s: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() === 2) sys.halt()\n  n.set(n.get() + 1)\n}" }))
  assert.equal((await loom(['run', nb, '--db', join(dir, 'plain.loom.db'), '--until-idle'])).status, 0)
  assert.deepEqual(await loom(['allow', nb]), { status: 0, stdout: `${nb} grants no effects: there is nothing to allow\n`, stderr: '' })
})

test('loom allow on a notebook that does not parse says why, and allows nothing', async () => {
  const nb = join(dir, 'broken.loom.md')
  writeFileSync(nb, notebook(READER('http://127.0.0.1:9'), "effects: { http: ['http://127.0.0.1:9'"))
  const r = await loom(['allow', nb])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, new RegExp(`^loom: ${nb.replace(/[.]/g, '\\.')}:\\d+: invalid YAML in front matter`))
  assert.equal(r.stdout, '')
})

test('loom serve: a read of a notebook not allowed waits, neither performed nor recorded as failed, and goes ahead once loom allow is run; its time is how long it took once performed, not how long it waited', async () => {
  const srv = await server()
  const nb = join(dir, 'served.loom.md')
  writeFileSync(nb, notebook({ api: `export function http(req) {\n  return { status: 200, body: 'rate ' + sys.http.get('${srv.url}' + req.path).body }\n}` }, `effects: { http: ['${srv.url}'] }`))
  const served = await serveApp(nb, join(dir, 'served.loom.db'), env)
  const app = served.app
  let performedWithin = Infinity
  try {
    const answer = fetch(`${app}/x`).then((r) => r.text())
    // Waiting is said on the terminal that serves; until then nothing reached the server.
    for (let i = 0; i < 600 && !/its reads and actions wait until you allow them: loom allow/.test(served.stderr()); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(served.stderr(), new RegExp(`loom: ${nb.replace(/[.]/g, '\\.')} grants effects you have not allowed \\(or changed them since you did\\):\\n  - reads from and sends to ${srv.url.replace(/[.]/g, '\\.')}\\nits reads and actions wait until you allow them: loom allow `))
    assert.equal(srv.hits(), 0)
    // A wait far longer than a loopback read takes, so that its time tells whether the wait was counted.
    await new Promise((r) => setTimeout(r, 3000))
    assert.equal(srv.hits(), 0)
    const waitEnded = performance.now()
    assert.equal((await loom(['allow', nb])).status, 0)
    assert.equal(await answer, 'rate 42')
    performedWithin = performance.now() - waitEnded
    assert.equal(srv.hits(), 1)
  } finally {
    await served.stop()
    await srv.close()
  }
  const log = await loom(['log', join(dir, 'served.loom.db')])
  assert.doesNotMatch(log.stdout, /error|failed/, 'no read was recorded as failed while it waited')
  const events = JSON.parse((await loom(['log', join(dir, 'served.loom.db'), '--json'])).stdout) as { kind: string; input: { ms: number } }[]
  const effect = events.find((e) => e.kind === 'effect')!
  assert.ok(effect.input.ms <= performedWithin, `the read took ${effect.input.ms} ms by its event, though it was answered within ${Math.round(performedWithin)} ms of loom allow`)
})

test('loom serve: an allowance withdrawn while it runs holds the next read back, and loom allow lets it go again (the file is read again when it changes, not for every effect)', async () => {
  const srv = await server()
  const nb = join(dir, 'withdrawn.loom.md')
  writeFileSync(nb, notebook({ api: `export function http(req) {\n  return { status: 200, body: 'rate ' + sys.http.get('${srv.url}' + req.path).body }\n}` }, `effects: { http: ['${srv.url}'] }`))
  assert.equal((await loom(['allow', nb])).status, 0)
  const served = await serveApp(nb, join(dir, 'withdrawn.loom.db'), env)
  try {
    assert.equal(await fetch(`${served.app}/a`).then((r) => r.text()), 'rate 42')
    assert.equal(await fetch(`${served.app}/b`).then((r) => r.text()), 'rate 42')
    assert.equal(srv.hits(), 2)
    // Withdrawn by hand: the file as it was, less this notebook's allowance (the same size is no disguise).
    const file = allowedGrantsFile(env)
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.replace(/"notebook": "[^"]*"/, (m) => m.replace(/[^"]/g, (c, i) => (i > 13 ? 'x' : c))))
    const answer = fetch(`${served.app}/c`).then((r) => r.text())
    for (let i = 0; i < 600 && !/its reads and actions wait until you allow them/.test(served.stderr()); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(served.stderr(), /its reads and actions wait until you allow them/)
    assert.equal(srv.hits(), 2, 'the read waits')
    assert.equal((await loom(['allow', nb])).status, 0)
    assert.equal(await answer, 'rate 42')
    assert.equal(srv.hits(), 3)
  } finally {
    await served.stop()
    await srv.close()
  }
})

test('attack: an allowed-grants file that is garbage, huge, a FIFO or a link to /dev/zero allows nothing and hangs nothing; loom allow replaces it', async () => {
  const nb = join(dir, 'hostile.loom.md')
  writeFileSync(nb, notebook(READER('http://127.0.0.1:9'), "effects: { http: ['http://127.0.0.1:9'] }"))
  const file = allowedGrantsFile(env)
  mkdirSync(join(config, 'loom'), { recursive: true })
  const forged = JSON.stringify({ allowed: [{ notebook: nb, grants: 'not the hash' }, { notebook: 1 }, null] })
  for (const make of [
    () => writeFileSync(file, forged),
    () => writeFileSync(file, '{"allowed": ['.repeat(50_000)), // deep, under the size bound
    () => writeFileSync(file, `{"allowed": [${'0,'.repeat(600_000)}0]}`),
    () => symlinkSync('/dev/zero', file),
    () => spawn('mkfifo', [file]).on('exit', () => {}),
  ]) {
    rmSync(file, { force: true })
    make()
    for (let i = 0; i < 50 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 20))
    const r = await loom(['run', nb, '--db', join(dir, 'hostile.loom.db'), '--until-idle'])
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /grants effects you have not allowed/)
  }
  rmSync(file, { force: true })
  writeFileSync(file, 'garbage')
  assert.equal((await loom(['allow', nb])).status, 0)
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { allowed: unknown[] }).allowed.length, 1)
})
