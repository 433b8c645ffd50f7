// Assume breach for the REPL's and the queries' evaluator process: the
// test-only switch (LOOM_TEST_BREACH=1, see breach.preload.js) hands a
// `loom query` expression the evaluator process's own `process` and
// `require`. Even then it reads no file outside Loom's code, writes none,
// starts no process or thread, loads no native code, sees no environment
// variable and, inside bubblewrap, reaches no socket. And what reaches the
// evaluator on its pipe (from a broken engine) does not end it.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { osSandbox } from '../../engine/host/osSandbox.ts'
import { evaluatorProcesses, relayEvaluator } from '../../engine/host/evaluatorSpawn.ts'
import { Evaluator } from '../../engine/host/evaluator.ts'
import { evaluateReadOnly } from '../../engine/host/evaluate.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-evaluator-'))
const db = join(dir, 'bank.loom.db')
const secret = join(dir, 'secret.txt')
const planted = join(dir, 'planted.txt')
const addon = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node')
let server: Server
let port = 0
let connections = 0
before(async () => {
  copyFileSync('test/fixtures/bank.loom.db', db)
  writeFileSync(secret, 'the user\'s secret')
  server = createServer((socket) => (connections++, socket.destroy()))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as { port: number }).port
})
after(() => {
  server?.close()
  rmSync(dir, { recursive: true, force: true })
})

test('an expression handed the evaluator process itself cannot read, write, spawn, start a thread, load native code or see the environment', async () => {
  const attempt = (what: string, code: string) => `try { ${code}; out[${JSON.stringify(what)}] = 'done' } catch (e) { out[${JSON.stringify(what)}] = e.code || e.message }`
  const expr = `event.seq === 1 && (() => {
    const { process, require } = __breach
    const out = {}
    ${attempt('read', `require('fs').readFileSync(${JSON.stringify(secret)}, 'utf8')`)}
    ${attempt('write', `require('fs').writeFileSync(${JSON.stringify(planted)}, 'x')`)}
    ${attempt('spawn', `require('child_process').spawnSync('/bin/sh', ['-c', 'true'])`)}
    ${attempt('thread', `new (require('worker_threads').Worker)('1', { eval: true })`)}
    ${attempt('addon', `process.dlopen({ exports: {} }, ${JSON.stringify(addon)})`)}
    out.env = Object.keys(process.env).length
    require('net').connect(${port}, '127.0.0.1').on('error', () => {})
    return JSON.stringify(out)
  })()`
  const r = spawnSync(process.execPath, ['bin/loom.js', 'query', db, expr, '--json'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, LOOM_TEST_BREACH: '1', SECRET_TOKEN: 'hunter2' } })
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(JSON.parse(r.stdout).matches[0].value)
  assert.deepEqual(out, { read: 'ERR_ACCESS_DENIED', write: 'ERR_ACCESS_DENIED', spawn: 'ERR_ACCESS_DENIED', thread: 'ERR_ACCESS_DENIED', addon: 'ERR_DLOPEN_DISABLED', env: 0 })
  assert.equal(existsSync(planted), false)
  await new Promise((r) => setTimeout(r, 300))
  if (osSandbox().kind === 'bwrap') assert.equal(connections, 0, 'inside bubblewrap the evaluator has no network')
})

test('garbage on the evaluator pipe (not JSON, unknown ops and contexts, bad state, deep nesting, a huge line) is ignored or answered with an error, and the next expression answers', async () => {
  const processes = evaluatorProcesses(64)
  const said: string[] = []
  processes.onData((t) => said.push(t))
  const evaluator = new Evaluator(processes, 64)
  try {
    processes.hold(true)
    for (const line of [
      'not json',
      'null',
      '[]',
      '{"id":900001,"op":"run","ctx":424242,"script":"1","filename":"x","timeout":100}',
      '{"id":900002,"op":"fly"}',
      '{"id":900003,"op":"open","ctx":7,"state":"[[[","bindings":"{}","moment":"{}"}',
      '{"id":900004,"op":"open","ctx":8,"state":null,"bindings":null,"moment":null}',
      '['.repeat(200_000),
      'x'.repeat(8 << 20),
    ]) processes.write(line + '\n')
    assert.deepEqual(await evaluateReadOnly(evaluator, "accounts.get('bob') + 1", { accounts: { kind: 'map', value: { bob: 41 } } }), 42)
    const answers = said.join('').split('\n').filter((l) => l.startsWith('{"id":9000'))
    assert.deepEqual(answers.map((l) => JSON.parse(l).id), [900001, 900002, 900003, 900004])
    assert.ok(answers.every((l) => typeof JSON.parse(l).error === 'string'), answers.join('\n'))
    assert.ok(!said.join('').includes('"died"'), 'the evaluator process lived through it')
  } finally {
    processes.close()
  }
})

test("a broken engine that floods its evaluator pipe and never reads the answers costs loom serve's relay no more than the pipes' buffers", async () => {
  const sockets: Socket[] = []
  const relay = createServer((s) => (sockets.push(s), relayEvaluator(s, 64)))
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r))
  const engine = connect((relay.address() as { port: number }).port, '127.0.0.1')
  try {
    await new Promise((r) => engine.once('connect', r))
    engine.pause() // reads none of its answers
    // Each line is answered with an error (no such context): 30 MB of requests, 17 MB of answers: more than the kernel buffers of a loopback connection.
    const line = '{"id":1,"op":"run","ctx":424242,"script":"1","filename":"x","timeout":100}\n'
    const chunk = line.repeat(1 << 13)
    for (let i = 0; i < 48 && !engine.destroyed; i++) engine.write(chunk)
    // Bounded: until the evaluator has answered and what the relay took in for the engine stops growing (or 20 s).
    let relayedBytes = 0
    for (let i = 0, still = 0; i < 200 && still < 5; i++) {
      await new Promise((r) => setTimeout(r, 100))
      const now = sockets[0] ? sockets[0].bytesWritten + sockets[0].writableLength : 0
      still = now > 0 && now === relayedBytes ? still + 1 : 0
      relayedBytes = now
    }
    const last = sockets[0]?.writableLength ?? 0
    assert.ok(last < 1 << 20, `the relay holds ${last} bytes of answers for an engine that does not read them`)
    // The engine reads again: the answers flow, the evaluator lived through it.
    let got = ''
    engine.setEncoding('utf8')
    engine.on('data', (t: string) => (got = (got + t).slice(-1000)))
    engine.resume()
    engine.write('{"id":7,"op":"run","ctx":424243,"script":"1","filename":"x","timeout":100}\n')
    for (let i = 0; i < 300 && !got.includes('"id":7'); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(got, /"id":7,"error":"no context 424243"/)
    assert.doesNotMatch(got, /"died"/)
  } finally {
    engine.destroy()
    relay.close()
  }
})
