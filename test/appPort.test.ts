// `loom serve` runs the app's own HTTP port as `loom run` does: real requests
// from any client on loopback become http transactions on the timeline, and
// the window says where the app answers. Against the real CLI, engine process
// and log.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { notebook } from './helpers.ts'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-app-port-'))
// An empty folder: the page itself is not asked for here, only the engine and the app.
const RENDERER = mkdtempSync(join(tmpdir(), 'loom-renderer-'))
after(() => rmSync(dir, { recursive: true, force: true }))
after(() => rmSync(RENDERER, { recursive: true, force: true }))

interface Served {
  child: ChildProcess
  out: () => string
  err: () => string
  url: string
  token: string
  app: string
}

function serve(notebook: string, ...args: string[]): Promise<Served> {
  const child = spawn(process.execPath, ['bin/loom.js', 'serve', notebook, '--port', '0', ...args], { env: { ...process.env, LOOM_RENDERER_DIR: RENDERER }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const ui = /^Loom is serving .* at (http:\/\/127\.0\.0\.1:\d+)\/\?token=([\w-]+)$/m.exec(out)
      const app = /^The app answers HTTP at (http:\/\/127\.0\.0\.1:\d+) /m.exec(out)
      if (ui && app) resolve({ child, out: () => out, err: () => err, url: ui[1]!, token: ui[2]!, app: app[1]! })
    })
    child.on('exit', (code) => reject(new Error(`loom serve ended (${code}) before serving its app: ${out}${err}`)))
  })
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGINT')
  })
}

async function hello(s: Served) {
  const client = new EngineClient(await connectEngine(`${s.url.replace('http:', 'ws:')}/engine`, s.url))
  try {
    return await client.call('hello', { token: s.token })
  } finally {
    client.close()
  }
}

/** The log's http events, read by the CLI once serve has stopped. */
function httpEvents(db: string): { method: string; input: { method: string; path: string }; outputs: { http?: { status: number } } }[] {
  const r = spawnSync(process.execPath, ['bin/loom.js', 'log', db, '--json'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return (JSON.parse(r.stdout) as { kind: string }[]).filter((e) => e.kind === 'http') as never
}

test('loom serve answers on the app\'s own port: a real request from curl\'s side is an http event in the log, and the window says where the app is', async () => {
  const nb = join(dir, 'todo.loom.md')
  copyFileSync('samples/todo.loom.md', nb)
  const db = join(dir, 'todo.loom.db')
  const s = await serve(nb, '--app-port', '0', '--db', db)
  try {
    const created = await fetch(`${s.app}/todos`, { method: 'POST', body: JSON.stringify({ title: 'from a real client' }) })
    assert.equal(created.status, 201, await created.clone().text())
    const list = (await (await fetch(`${s.app}/todos`)).json()) as { title: string }[]
    assert.deepEqual(list.map((t) => t.title), ['from a real client'])
    // /sys beside it, as under loom run: the history as JSON.
    const sys = await fetch(`${s.app}/sys/log?limit=100`)
    assert.equal(sys.status, 200)
    assert.match(await sys.text(), /"kind":"http"/)
    const h = await hello(s)
    assert.deepEqual(h.app, { url: s.app })
  } finally {
    await stop(s.child)
  }
  const events = httpEvents(db)
  // /sys is answered beside the app, never as one of its transactions.
  assert.deepEqual(events.map((e) => [e.input.method, e.input.path, e.outputs.http?.status]), [['POST', '/todos', 201], ['GET', '/todos', 200]])
})

test('the app\'s port outlives a crashed engine process: no request meanwhile is refused a connection, and the restarted engine answers', async () => {
  const nb = join(dir, 'crash.loom.md')
  copyFileSync('samples/todo.loom.md', nb)
  const s = await serve(nb, '--app-port', '0', '--db', join(dir, 'crash.loom.db'))
  try {
    assert.equal((await fetch(`${s.app}/todos`)).status, 200)
    const pid = Number(/engine process (\d+)/.exec(s.err())?.[1])
    assert.ok(pid > 0, s.err())
    process.kill(pid, 'SIGKILL')
    // A request caught in the crash gets 503 (the app stopped); one after it waits for the new engine process.
    const until = Date.now() + 60_000
    for (;;) {
      const r = await fetch(`${s.app}/todos`)
      if (r.status === 200) break
      assert.equal(r.status, 503, await r.text())
      assert.ok(Date.now() < until, 'the restarted engine never answered')
      await new Promise((ok) => setTimeout(ok, 50))
    }
    assert.match(s.err(), /restarted it on the same log/)
  } finally {
    await stop(s.child)
  }
})

test('an app port taken by another program: loom serve refuses at once (exit 2), naming the port and --app-port', async () => {
  const taken = createServer()
  await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok))
  const port = (taken.address() as { port: number }).port
  try {
    const nb = join(dir, 'busy.loom.md')
    copyFileSync('samples/todo.loom.md', nb)
    const r = spawnSync(process.execPath, ['bin/loom.js', 'serve', nb, '--port', '0', '--app-port', String(port), '--db', join(dir, 'busy.loom.db')], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOOM_RENDERER_DIR: RENDERER } })
    assert.equal(r.status, 2, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`port ${port} is in use.*--app-port`))
    assert.doesNotMatch(r.stdout, /Loom is serving/)
  } finally {
    taken.close()
  }
})

test('a notebook without an http: setting or --app-port opens no app port', async () => {
  const nb = join(dir, 'counter.loom.md')
  copyFileSync('samples/counter.loom.md', nb)
  const child = spawn(process.execPath, ['bin/loom.js', 'serve', nb, '--port', '0', '--db', join(dir, 'counter.loom.db')], { env: { ...process.env, LOOM_RENDERER_DIR: RENDERER }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (/Loom is serving/.test(out)) resolve()
      })
      child.on('exit', () => reject(new Error(out)))
    })
    const m = /at (http:\/\/127\.0\.0\.1:\d+)\/\?token=([\w-]+)$/m.exec(out)!
    const h = await hello({ child, out: () => out, err: () => '', url: m[1]!, token: m[2]!, app: '' })
    assert.equal(h.app, undefined)
    assert.doesNotMatch(out, /The app answers HTTP/)
  } finally {
    await stop(child)
  }
})

test('a request that throws shows in /sys/attempts as soon as its 500 is answered, under loom serve and loom run alike, with no commit after it', async () => {
  const nb = join(dir, 'fail.loom.md')
  writeFileSync(nb, notebook({ api: "const n = state.var('n', 0)\nexport function http(req: { path: string }) {\n  if (req.path === '/boom') throw new Error('boom')\n  n.set(n.get() + 1)\n  return { status: 200, body: 'ok' }\n}" }))
  const check = async (app: string) => {
    for (let i = 1; i <= 3; i++) {
      const r = await fetch(`${app}/boom`)
      assert.equal(r.status, 500)
      assert.match(await r.text(), /^boom \(fail\.loom\.md:\d+ \(cell #api, line 3\)\)/)
      const attempts = (await (await fetch(`${app}/sys/attempts`)).json()) as { reason: string; location: { cell: string; line: number } }[]
      assert.equal(attempts.length, i, `${app}: after failed request ${i}, /sys/attempts has it`)
      assert.deepEqual([attempts.at(-1)!.reason, attempts.at(-1)!.location.cell, attempts.at(-1)!.location.line], ['boom', 'api', 3])
    }
  }
  const s = await serve(nb, '--app-port', '0', '--db', join(dir, 'fail-serve.loom.db'))
  try {
    await check(s.app)
  } finally {
    await stop(s.child)
  }
  const run = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--port', '0', '--db', join(dir, 'fail-run.loom.db')], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    let err = ''
    const app = await new Promise<string>((resolve, reject) => {
      run.stderr!.setEncoding('utf8').on('data', (d: string) => {
        err += d
        const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(err)
        if (m) resolve(m[1]!)
      })
      run.on('exit', (code) => reject(new Error(`loom run ended (${code}): ${err}`)))
    })
    await check(app)
  } finally {
    await stop(run)
  }
})
