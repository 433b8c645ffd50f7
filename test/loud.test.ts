// Failures are loud: a failed test or a step that throws for good ends loom
// run and loom test with exit 1, saying which, where and what it saw.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-loud-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })
let logs = 0
const db = () => join(dir, `run-${++logs}.loom.db`)

const STOCK = join(dir, 'stock.loom.md')
writeFileSync(STOCK, ['# Stock', '', '```ts #state', "const stock = state.var('stock', 2)", '```', '', '```ts #step', 'export function step() {', '  stock.set(stock.get() - 1)', '}', '```', '',
  '```ts #tests', "test('stock never negative', () => stock.get() >= 0)", '```', ''].join('\n'))
const THROWS = join(dir, 'throws.loom.md')
const THROWING = { work: "const n = state.var('n', 0)\nexport function step() {\n  const x: any = null\n  n.set(x.count + 1)\n}" }
writeFileSync(THROWS, ['# Throws', '', '```ts #work', THROWING.work, '```', ''].join('\n'))

test('loom run stops at a failed test: exit 1, naming the test, the event, its line and the state it saw', () => {
  const r = loom('run', STOCK, '--steps', '5', '--db', db())
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, /test 'stock never negative' failed (after|by) event \d+ \(step\): returned false/)
  assert.match(r.stderr, /at .*stock\.loom\.md:14 \(cell #tests, line 1\)/)
  assert.match(r.stderr, /it saw stock = -\d/)
  const json = loom('run', STOCK, '--steps', '5', '--db', db(), '--json')
  assert.equal(json.status, 1)
  const summary = JSON.parse(json.stdout) as { failures: { test: string; saw: { stock: number } }[]; state: { stock: number } }
  assert.equal(summary.failures[0]!.test, 'stock never negative')
  assert.ok(summary.failures[0]!.saw.stock < 0)
})

test('--keep-going: the failure is said and every step asked for runs; still exit 1', () => {
  const r = loom('run', STOCK, '--steps', '5', '--keep-going', '--db', db(), '--json')
  assert.equal(r.status, 1, r.stderr)
  const summary = JSON.parse(r.stdout) as { steps: number; state: { stock: number }; failures: unknown[] }
  assert.deepEqual([summary.steps, summary.state.stock], [5, -3])
  assert.ok(summary.failures.length >= 1)
})

test('loom test finds the exact event after which the test first failed, and the value it saw', () => {
  const r = loom('test', STOCK, '--steps', '5')
  assert.equal(r.status, 1)
  assert.match(r.stderr, /test 'stock never negative' failed after event 4 \(step\): returned false/)
  assert.match(r.stderr, /it saw stock = -1/)
})

test('a step that throws for good is stuck, not waiting: loom run and loom test exit 1 naming the error, cell and line', () => {
  for (const args of [['run', THROWS, '--steps', '3', '--db', db()], ['test', THROWS, '--steps', '3']]) {
    const r = loom(...args)
    assert.equal(r.status, 1, `${args[0]}: ${r.stdout}${r.stderr}`)
    assert.match(r.stderr, /stuck: step\(\) throws TypeError: Cannot read properties of null \(reading 'count'\)/)
    assert.match(r.stderr, /throws\.loom\.md:7 \(cell #work, line 4\)/)
  }
})

test('the engine says stuck (with the method, error and place) where it used to say waiting', async () => {
  const engine = await open(THROWING)
  await engine.run({ steps: 3, untilIdle: true })
  assert.match(engine.waiting ?? '', /^stuck: step\(\) throws TypeError: .* at #work line 4$/)
  assert.deepEqual([engine.stuck?.method, engine.stuck?.location?.cell, engine.stuck?.location?.line], ['step', 'work', 4])
})

test('a step that waits (an abort) is not stuck, and loom run exits 0', () => {
  const path = join(dir, 'waits.loom.md')
  writeFileSync(path, ['# Waits', '', '```ts #q', "const jobs = state.queue<number>('jobs', [1])", 'export function step() {', '  jobs.take()', '}', '```', ''].join('\n'))
  const r = loom('run', path, '--db', db(), '--json')
  assert.equal(r.status, 0, r.stderr)
  assert.equal((JSON.parse(r.stdout) as { stuck: unknown }).stuck, null)
})

test('a long-lived run (serving http) says each new runtime error as it happens, once per error and place', async () => {
  const path = join(dir, 'api.loom.md')
  writeFileSync(path, ['# Api', '', '```ts #api', "const hits = state.counter('hits')", 'export function http(req: { path: string }) {', "  if (req.path === '/boom') { const x: any = null; return x.y }", '  hits.add(1)', "  return { status: 200, body: 'ok' }", '}', '```', ''].join('\n'))
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['bin/loom.js', 'run', path, '--port', '0', '--db', db()], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL: ${err}`)), 60_000)
      child.stderr.on('data', () => {
        const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(err)
        if (m) (clearTimeout(timer), resolve(m[1]!))
      })
    })
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${url}/boom`)).status, 500)
    assert.equal((await fetch(`${url}/fine`)).status, 200)
    const until = Date.now() + 10_000
    while (!/http\(\) threw/.test(err) && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    assert.match(err, /loom: http\(\) threw after event \d+: TypeError: Cannot read properties of null \(reading 'y'\)\n  at .*api\.loom\.md:6 \(cell #api, line 3\)/)
    assert.equal(err.split('http() threw').length - 1, 1, err)
  } finally {
    child.kill('SIGINT')
    await new Promise((r) => child.once('exit', r))
  }
})

const RUNAWAY = { work: "const n = state.var('n', 0)\nfunction spin(k: number) {\n  let x = 0\n  while (x >= 0) {\n    x = (x + k) % 1000\n  }\n  return x\n}\nexport function step() {\n  n.set(n.get() + 1)\n  if (n.get() >= 2) spin(3)\n}" }

test('a runaway is located at the line it was running when the time limit cut it off: loom run and loom test exit 1 saying so, and the engine\'s status says it', async () => {
  const path = join(dir, 'runaway.loom.md')
  writeFileSync(path, ['# Runaway', '', '```ts #work', RUNAWAY.work, '```', ''].join('\n'))
  for (const args of [['run', path, '--steps', '5', '--time-limit', '200', '--db', db()], ['test', path, '--steps', '5', '--time-limit', '200']]) {
    const r = loom(...args)
    assert.equal(r.status, 1, `${args[0]}: ${r.stdout}${r.stderr}`)
    assert.match(r.stderr, /loom: runaway: step\(\) ran past its time limit of 200 ms\n  at .*runaway\.loom\.md:8 \(cell #work, line 5\)\n/)
  }
  const engine = await open(RUNAWAY, { timeLimitMs: 200 })
  await engine.run({ steps: 3, untilIdle: true })
  assert.equal(engine.waiting, 'runaway: step() ran past its time limit of 200 ms at #work line 5')
  assert.deepEqual([engine.stuck?.runaway, engine.stuck?.location?.line], [true, 5])
})

test('the line markers that locate a runaway change nothing a loop does: labels, continue, switch, do-while, bodies without braces', async () => {
  const engine = await open({
    work: [
      "const out = state.var<number[]>('out', [])",
      'export function step() {',
      '  const seen: number[] = []',
      '  outer: for (let i = 0; i < 4; i++) {',
      '    for (let j = 0; j < 4; j++) {',
      '      if (j > i) continue outer',
      '      switch (j) { case 0: seen.push(i); break; default: seen.push(i * 10 + j) }',
      '    }',
      '  }',
      '  let k = 0',
      '  do k++; while (k < 3)',
      '  for (const v of [1, 2]) seen.push(v * 100)',
      '  while (k-- > 0) seen.push(-k)',
      '  out.set(seen)',
      '  sys.halt()',
      '}',
    ].join('\n'),
  })
  await engine.run({ steps: 1 })
  assert.deepEqual(JSON.parse(JSON.stringify(engine.state().out!.value)), [0, 1, 11, 2, 21, 22, 3, 31, 32, 33, 100, 200, -2, -1, 0])
})

test('a cell that tampers with where runaways are noted breaks only its own runs: frozen, the loops throw (stuck); set to a string, a runaway is still said, at its method', async () => {
  const frozen = await open({ work: "declare const $loom$at: object\nObject.freeze($loom$at)\nconst n = state.var('n', 0)\nexport function step() {\n  for (let i = 0; i < 3; i++) n.set(n.get() + 1)\n}" })
  await frozen.run({ steps: 3, untilIdle: true })
  assert.match(frozen.waiting ?? '', /^stuck: step\(\) throws TypeError: .*line/)
  const garbage = await open({ work: "declare const $loom$at: { line: unknown }\nconst n = state.var('n', 0)\nexport function step() {\n  n.set(n.get() + 1)\n  while (true) { $loom$at.line = 'nowhere' }\n}" }, { timeLimitMs: 100 })
  await garbage.run({ steps: 3, untilIdle: true })
  assert.match(garbage.waiting ?? '', /^runaway: step\(\) ran past its time limit of 100 ms at #work line \d+$/)
})
