// `loom query DB EXPR`: when did X first happen, against histories whose
// answers are known — the bank sample's transfers, a counter run with loom
// run (100,000 events), real HTTP requests — and hostile expressions, which
// fail with where and why and leave the log exactly as it was.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'

const dir = mkdtempSync(join(tmpdir(), 'loom-query-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })
const bank = join(dir, 'bank.loom.db')
const counter = join(dir, 'counter.loom.db')
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

interface Answer { ok: boolean; evaluated: number; count: number; matches: { seq: number; kind: string; value?: unknown }[]; errors: { seq: number; message: string; line?: number; column?: number }[]; errorCount: number }
const ask = (db: string, expr: string, ...args: string[]) => {
  const r = loom('query', db, expr, '--json', ...args)
  return { status: r.status, stderr: r.stderr, answer: (r.stdout ? JSON.parse(r.stdout) : null) as Answer }
}

before(() => {
  // Event 1 is the code; 2..5 take the four transfers (the third, carol's 100, is refused); 6 is an edit; 7 a step.
  copyFileSync('test/fixtures/bank.loom.db', bank)
  // A counter: event 1 is the code, event k+1 leaves x = k. 100,000 steps of it, as a person would make them.
  const nb = join(dir, 'counter.loom.md')
  writeFileSync(nb, "# Counter\n\n```ts #tick\nconst x = state.var('x', 0)\nconst last = state.map<number>('last', {})\nexport function step() {\n  x.set(x.get() + 1)\n  if (x.get() % 2) last.set('odd', x.get())\n}\n```\n")
  const r = loom('run', nb, '--db', counter, '--steps', '100000', '--no-fsync')
  assert.equal(r.status, 0, r.stderr)
})

test('the first event after which a counter passed 36 is event 38 (the code is event 1)', () => {
  const r = loom('query', counter, 'x.get() > 36', '--first')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, '     38  step\n', 'no padding left at the end of the line')
  assert.match(r.stderr, /branch 'main' \(live\), events 1–38: 1 match/)
})

test('over a branch of 100,000 events, a predicate finds every moment it held, in order', () => {
  const { status, answer } = ask(counter, 'x.get() % 25000 === 0 && last.get("odd") === x.get() - 1')
  assert.equal(status, 0)
  assert.equal(answer.evaluated, 100001)
  assert.deepEqual(answer.matches.map((m) => m.seq), [25001, 50001, 75001, 100001])
  const last = ask(counter, 'x.get() === 100000').answer
  assert.deepEqual(last.matches.map((m) => m.seq), [100001])
})

test('on the bank sample: when bob first had less than 50, when a transfer was refused, and what alice held where it changed', () => {
  assert.deepEqual(ask(bank, "accounts.get('bob') < 50").answer.matches.map((m) => m.seq), [3, 4, 5, 6, 7])
  assert.deepEqual(ask(bank, 'refused.get() > 0', '--first').answer.matches.map((m) => m.seq), [4])
  // Over the event: what it logged and wrote to the terminal, and its kind.
  assert.deepEqual(ask(bank, "event.logs.some((l) => l.channel === 'refused')").answer.matches.map((m) => m.seq), [4])
  assert.deepEqual(ask(bank, "event.tty !== null && event.tty.startsWith('carol')").answer.matches.map((m) => m.seq), [5])
  assert.deepEqual(ask(bank, "event.kind === 'edit' && event.wrote").answer.matches, [{ seq: 6, kind: 'edit', method: 'edit', value: ['transfers'] }])
  // A value that is not true is shown beside its event.
  const alice = ask(bank, "event.wrote.includes('accounts') && accounts.get('alice')").answer
  assert.deepEqual(alice.matches.map((m) => [m.seq, m.value]), [[1, 100], [2, 70], [3, 70], [5, 115], [7, 100]])
  // Bound names and $state reach the same states.
  assert.equal(ask(bank, '$state.transfers.size() === 0').answer.matches[0]!.seq, 5)
})

test('no match exits 1, a match exits 0 (like grep); --from and --to bound the events asked about; --limit keeps the first N of M', () => {
  const none = loom('query', bank, "accounts.get('carol') > 1000")
  assert.equal(none.status, 1)
  assert.match(none.stderr, /no match/)
  assert.deepEqual(ask(bank, 'true', '--from', '3', '--to', '5').answer.matches.map((m) => m.seq), [3, 4, 5])
  // x is 0 after the code event too.
  const many = loom('query', counter, 'x.get() % 10 === 0', '--limit', '3')
  assert.equal(many.status, 0)
  assert.equal(many.stdout.trim().split('\n').length, 3)
  assert.match(many.stderr, /10001 matches \(the first 3 of 10001; --limit N shows more\)/)
  assert.equal(loom('query', bank, 'true', '--from', '5', '--to', '3').status, 2)
  assert.match(loom('query', bank, 'true', '--branch', 'nope').stderr, /there is no branch 'nope'/)
  assert.match(loom('query', '--help').stdout, /event\.http .*status/)
})

test('an http event carries its request and response: the requests that failed with a 5xx are found', async () => {
  const nb = join(dir, 'api.loom.md')
  const db = join(dir, 'api.loom.db')
  writeFileSync(nb, "# Api\n\n```ts #api\nconst hits = state.counter('hits')\nexport function http(req) {\n  hits.add(1)\n  if (req.path === '/boom') return { status: 500, body: 'no' }\n  return { status: 200, body: 'ok ' + req.path }\n}\n```\n")
  const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--db', db, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const gone = new Promise((resolve) => child.on('exit', resolve))
  try {
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
    let url = ''
    for (let i = 0; i < 600 && !url; i++) {
      url = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1] ?? ''
      if (!url) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(url, err)
    for (const path of ['/a', '/boom', '/b']) await (await fetch(url + path)).text()
  } finally {
    child.kill('SIGINT')
    await gone
  }
  const { answer } = ask(db, 'event.http !== null && event.http.status >= 500 && event.http.path')
  assert.deepEqual(answer.matches.map((m) => [m.kind, m.value]), [['http', '/boom']])
  assert.deepEqual(ask(db, "event.http && event.http.response === 'ok /b' && hits.get()").answer.matches.map((m) => m.value), [3])
})

test('hostile expressions fail with where and why, never crash, and leave the log byte for byte as it was', () => {
  const before = sha(bank)
  // Does not parse: exit 2, saying so and where.
  const broken = loom('query', bank, "accounts.get('bob' <")
  assert.equal(broken.status, 2)
  assert.match(broken.stderr, /the expression does not parse \(at its end\): Unexpected token/)
  assert.match(loom('query', bank, "true &&\n  accounts.get('bob') <> 1").stderr, /does not parse \(line 2\): Unexpected token '>'/)
  assert.equal(loom('query', bank, '   ').status, 2)
  // Loops forever: the sandbox's watchdog stops it, naming the event it was at.
  const loop = loom('query', bank, "event.seq === 4 ? (() => { for (;;) {} })() : false", '--time-limit', '300')
  assert.equal(loop.status, 2)
  assert.match(loop.stderr, /the expression ran past 300 ms at event 4 and was stopped/)
  // Throws at some events: each is reported with the place in the expression, and the query goes on.
  const some = ask(bank, "event.seq > 5 ? accounts.nope() : event.seq === 3")
  assert.equal(some.status, 0)
  assert.deepEqual(some.answer.matches.map((m) => m.seq), [3])
  assert.deepEqual(some.answer.errors.map((e) => [e.seq, e.line, e.column]), [[6, 1, 26], [7, 1, 26]])
  assert.match(some.answer.errors[0]!.message, /nope is not a function/)
  // Throws at every event: bad input, exit 2. Reaching for the host or writing state throws.
  for (const expr of ['process.exit(3)', "require('fs')", "this.constructor.constructor('return process')().exit(3)", "accounts.set('bob', 1e9)", "refused.add(1)", "transfers.take()", "Object.defineProperty(accounts, 'get', { value: 1 })"]) {
    const r = ask(bank, expr)
    assert.equal(r.status, 2, `${expr}: ${r.stderr}`)
    assert.equal(r.answer.errorCount, 7, expr)
  }
  assert.match(ask(bank, "accounts.set('bob', 1e9)").answer.errors[0]!.message, /read-only/)
  // Changes to a copy stay in the copy; the next event sees the log's state.
  assert.deepEqual(ask(bank, "(accounts.get('zed') === undefined) && event.seq === 7").answer.matches.map((m) => m.seq), [7])
  // Huge answers are cut to a size that can be shown; deep nesting parses or is refused, never crashes.
  const huge = ask(bank, "'x'.repeat(1_000_000)", '--time-limit', '5000').answer
  assert.equal(huge.count, 7)
  assert.match(String(huge.matches[0]!.value), /… \(1000002 characters\)$/)
  const deep = loom('query', bank, '('.repeat(20000) + '1' + ')'.repeat(20000))
  assert.ok(deep.status === 0 || deep.status === 2, deep.stderr)
  assert.doesNotMatch(deep.stderr, /at .*\.ts:\d+/)
  assert.equal(sha(bank), before)
})

test('a changed byte in the events a query reads is said (exit 2), not answered from', () => {
  const db = join(dir, 'damaged.loom.db')
  copyFileSync(counter, db)
  // Event 700's stored body, one digit changed (whatever row holds it).
  const d = new Database(db)
  const row = d.prepare('SELECT first, bodies FROM chunks WHERE first <= ? AND last >= ? ORDER BY branch LIMIT 1').get(700, 700) as { first: number; bodies: string }
  const lines = row.bodies.split('\n')
  lines[700 - row.first] = lines[700 - row.first]!.replace('"value":699', '"value":698')
  d.prepare('UPDATE chunks SET bodies = ? WHERE first = ?').run(lines.join('\n'), row.first)
  d.close()
  const r = loom('query', db, 'x.get() === 99999')
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /is damaged: branch 'main': event 700 does not match its hash: .*: nothing after event 699 was asked/)
})

// ---- the same questions through the engine protocol (the window's Questions panel) ----

async function host(log: string) {
  const { EngineHost } = await import('../engine/host/EngineHost.ts')
  const { memoryPair } = await import('../engine/protocol/memoryTransport.ts')
  const { EngineClient } = await import('../engine/protocol/client.ts')
  const sub = mkdtempSync(join(dir, 'host-'))
  const path = join(sub, 'bank.loom.md')
  copyFileSync('samples/bank.loom.md', path)
  copyFileSync(log, join(sub, 'bank.loom.db'))
  const h = await EngineHost.open({ notebook: path })
  const [ui, engine] = memoryPair()
  h.connect(engine)
  const client = new EngineClient(ui)
  return { client, db: join(sub, 'bank.loom.db'), close: async () => (client.close(), await h.close()) }
}

test('the query op answers as loom query does, bounded to the first N of M, with progress notices that carry its job', async () => {
  const { client, close } = await host('test/fixtures/bank.loom.db')
  try {
    const progress: unknown[] = []
    client.on('progress', (n) => progress.push(n))
    // Opening the notebook in a host adds its code event (8) after the fixture's 7 events.
    const r = await client.call('query', { expr: "accounts.get('bob') < 50 && event.seq <= 7" })
    assert.deepEqual([r.branch, r.count, r.matches.map((m) => m.seq), r.errorCount, r.damage], ['main', 5, [3, 4, 5, 6, 7], 0, null])
    assert.ok(progress.some((n) => (n as { op?: string; job: number }).op === 'query' && (n as { job: number }).job === r.job))
    const few = await client.call('query', { expr: 'event.seq', limit: 2, to: 7 })
    assert.deepEqual([few.count, few.matches.map((m) => m.value)], [7, [1, 2]])
    const broken = await client.call('query', { expr: 'accounts.get(' }).catch((e: Error) => e)
    assert.match((broken as Error).message, /the expression does not parse/)
    assert.equal((broken as { code?: string }).code, 'badInput')
    const beyond = await client.call('query', { expr: 'true', to: 99 }).catch((e: Error) => e)
    assert.match((beyond as Error).message, /has events 1\.\.8; there is no event 99/)
  } finally {
    await close()
  }
})

test('the retroLogs op re-enacts the branch with the notebook as edited in the window (not saved), writing nothing', async () => {
  const { client, db, close } = await host('test/fixtures/bank.loom.db')
  try {
    const nb = await client.call('notebook', {})
    const step = nb.cells.find((c) => c.source.includes('export function step'))!
    const before = sha(db)
    const plain = await client.call('retroLogs', {})
    assert.deepEqual(plain.events.map((e) => [e.seq, e.lines.map((l) => l.channel)]), [[2, []], [3, []], [4, ['refused']], [5, []], [7, []]])
    assert.equal(sha(db), before)
    const edited = await client.call('editCell', { cell: step.id, source: step.source.replace('const t = transfers.take()', "const t = transfers.take()\n  sys.log('take', t.amount)") })
    assert.equal(edited.ok, true)
    const r = await client.call('retroLogs', { limit: 2 })
    assert.deepEqual(r.events.map((e) => [e.seq, e.lines.map((l) => [l.channel, l.message])]), [[2, [['take', 30]]], [3, [['take', 60]]]])
    assert.deepEqual([r.found, r.lines, r.diverged], [5, 6, 0])
  } finally {
    await close()
  }
})

test('garbage parameters to query and retroLogs are refused as bad requests, and the engine answers on', async () => {
  const { client, close } = await host('test/fixtures/bank.loom.db')
  try {
    const bad: [string, unknown][] = [
      ['query', {}], ['query', { expr: 42 }], ['query', { expr: null }], ['query', { expr: 'true', limit: -1 }], ['query', { expr: 'true', limit: 0 }],
      ['query', { expr: 'true', from: 'x' }], ['query', { expr: 'true', branch: {} }], ['query', { expr: 'true', nope: 1 }], ['query', 'true'], ['query', null],
      ['query', { expr: 'true', to: 1e308 }], ['query', { expr: 'true', branch: 'nope' }], ['query', { expr: '('.repeat(100_000) }],
      ['retroLogs', { limit: 'all' }], ['retroLogs', { branch: 7 }], ['retroLogs', []], ['retroLogs', { branch: 'nope' }],
    ]
    for (const [op, params] of bad) {
      const r = await (client.call as (op: string, p: unknown) => Promise<unknown>)(op, params).then(() => null, (e: Error) => e)
      assert.ok(r instanceof Error, `${op} ${JSON.stringify(params).slice(0, 80)} was answered`)
    }
    // A predicate that never ends is stopped by the watchdog, naming the event; the engine answers on.
    const loop = await client.call('query', { expr: 'event.seq === 3 ? (() => { for (;;) {} })() : false' }).then(() => null, (e: Error & { code?: string }) => e)
    assert.match(loop!.message, /ran past 1000 ms at event 3 and was stopped/)
    assert.equal(loop!.code, 'timeLimit')
    // A 3 MB name is an expression like any other: it throws at every event, and what is said of it is cut short.
    const long = await client.call('query', { expr: 'x'.repeat(3_000_000) })
    assert.equal(long.errorCount, long.evaluated)
    assert.ok(long.errors.every((e) => e.message.length <= 501))
    assert.equal((await client.call('query', { expr: 'refused.get() > 0', limit: 1 })).matches[0]!.seq, 4)
  } finally {
    await close()
  }
})
