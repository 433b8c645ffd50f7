// Where the time went: every committed event's run time, measured by the one
// transaction door and kept beside the log (outside the hash chain), added up
// per method and cell by `loom profile` and the window's profile op; and the
// window's diff op, which answers what `loom diff` prints.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { encodeEvent } from '../engine/runtime/log.ts'
import { EngineHost } from '../engine/host/EngineHost.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { checkRequest } from '../engine/protocol/validate.ts'
import { checkCommit } from '../engine/replay/commitCheck.ts'
import { encodeTimings, TimingReader, writeTimings } from '../engine/replay/history/timings.ts'
import type { EventRecord } from '../engine/runtime/event.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-profile-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

/** step() busy-loops a counted number of iterations (milliseconds each, so the order holds on a loaded machine); http() answers at once. */
const BUSY = {
  slow: "const n = state.var('n', 0)\nexport function step() {\n  let x = 0\n  for (let i = 0; i < 8000000; i++) x += i % 7\n  n.set(n.get() + (x > 0 ? 1 : 0))\n}",
  api: "export function http(req) { return { status: 200, body: 'ok' } }",
}
const GET = { method: 'GET', path: '/', query: {}, headers: {}, body: '' }

let made = 0
async function busyLog(steps: number, requests: number): Promise<string> {
  const nb = join(dir, `busy-${++made}.loom.md`)
  writeFileSync(nb, notebook(BUSY))
  const db = nb.replace(/\.md$/, '.db')
  const s = await openSession(nb, { db })
  await s.engine.run({ steps })
  for (let i = 0; i < requests; i++) assert.equal((await s.engine.request(GET)).status, 200)
  s.log.close()
  return db
}

test('the method that loops more is slower: profile rows in order of total time, with their counts, and the order each sort gives', async () => {
  const db = await busyLog(12, 30)
  const log = SqliteLog.open(db, { create: false })
  const p = log.profile('main')
  log.db.close()
  assert.equal(p.events, 43)
  assert.equal(p.timed, 43, 'every committed event is timed, the code event too')
  assert.deepEqual(p.rows.map((r) => [r.kind, r.method, r.cell, r.count]), [['step', 'step', 'slow', 12], ['http', 'http', 'api', 30], ['code', null, null, 1]])
  const [step, http] = p.rows
  assert.ok(step!.mean > http!.mean && step!.p50 > http!.p95, 'a step loops 8,000,000 times (some ms, far above any preemption a loaded machine makes); a request does not loop')
  for (const r of p.rows) {
    assert.ok(r.max >= r.p95 && r.p95 >= r.p50 && r.p50 > 0 && Math.abs(r.total - r.mean * r.count) < 0.01 * r.count)
    assert.equal(r.slowest[0]!.ms, r.max)
    assert.ok(r.slowest.every((s, i) => i === 0 || s.ms <= r.slowest[i - 1]!.ms), 'slowest first')
  }
  assert.ok(step!.slowest.every((s) => s.seq >= 2 && s.seq <= 13), 'the steps are events 2..13')

  const json = (args: string[]) => {
    const r = loom('profile', db, '--json', ...args)
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout) as typeof p
  }
  assert.deepEqual(json([]).rows.map((r) => r.method), ['step', 'http', null])
  assert.deepEqual(json(['--sort', 'count']).rows.map((r) => r.method), ['http', 'step', null])
  assert.deepEqual(json(['--sort', 'mean', '--top', '1']).rows.map((r) => r.method), ['step'])
  const text = loom('profile', db)
  assert.equal(text.status, 0)
  const lines = text.stdout.trim().split('\n')
  assert.match(lines[0]!, /^method\s+count\s+total ms\s+mean\s+p50\s+p95\s+max\s+slowest event$/)
  assert.match(lines[1]!, /^step\(\) in #slow\s+12\s/)
  assert.match(lines[2]!, /^http\(\) in #api\s+30\s/)
  assert.match(lines[4]!, /^slowest events: (\d+ step\(\) in #slow [\d.]+ ms, ){4}\d+ step\(\) in #slow [\d.]+ ms$/)
  assert.match(text.stderr, /branch 'main' \(live\): 43 timed events of 43, by total/)
})

test('attempts that did not commit are counted per method, with the time they ran', async () => {
  const nb = join(dir, 'throws.loom.md')
  writeFileSync(nb, notebook({ api: "const hits = state.counter('hits')\nexport function http(req) {\n  hits.add(1)\n  if (req.body === 'bad') throw new Error('bad request')\n  return { status: 200, body: 'ok' }\n}" }))
  const db = nb.replace(/\.md$/, '.db')
  const s = await openSession(nb, { db })
  for (const body of ['', 'bad', '', 'bad', 'bad']) await s.engine.request({ ...GET, body })
  s.log.close()
  const p = JSON.parse(loom('profile', db, '--json').stdout) as { rows: { method: string | null; count: number }[]; aborted: { kind: string; method: string; count: number; total: number }[] }
  assert.equal(p.rows.find((r) => r.method === 'http')!.count, 2)
  assert.deepEqual(p.aborted.map((a) => [a.kind, a.method, a.count]), [['http', 'http', 3]])
  assert.ok(p.aborted[0]!.total > 0)
  assert.match(loom('profile', db).stdout, /aborted attempts \(of the recent ones the log keeps\): http\(\) 3 × /)
})

test('timings stay outside the hash chain: the events hash as before, replay --verify passes, and the log format is unchanged', async () => {
  const db = await busyLog(5, 3)
  const log = SqliteLog.open(db, { create: false })
  const events = log.eventsOf('main')
  // What the log hashes is the event's canonical encoding; a time does not enter it.
  const e = events[1]!
  assert.equal(encodeEvent({ ...e, duration: 123.456, cell: 'slow' }), encodeEvent(e))
  assert.equal((await verifyBranch(log, 'main')).ok, true)
  log.db.close()
  const r = loom('replay', db, '--verify')
  assert.equal(r.status, 0, r.stderr)
  const raw = new Database(db, { readonly: true })
  assert.equal(raw.prepare(`SELECT value FROM meta WHERE key = 'version'`).pluck().get(), '2', 'no format bump: an older Loom reads this log as before')
  const rows = raw.prepare('SELECT count(*) FROM timings').pluck().get() as number
  assert.ok(rows >= 1 && rows <= events.length, 'at most one row per group commit')
  raw.close()
})

test('a batch of steps keeps its timings in under a byte per event, read back to a tenth of a microsecond', () => {
  const db = new Database(':memory:')
  const timed = (duration: number | undefined, method = 'step') => ({ kind: 'step', method, cell: 'count', ...(duration === undefined ? {} : { duration }) }) as EventRecord
  // A thousand steps of one method, each a few microseconds: under a byte each, no key bytes.
  const steps = Array.from({ length: 1000 }, (_, i) => timed(0.0005 + (i % 7) * 0.001))
  writeTimings(db, 1, 1, encodeTimings(steps)!, 0, steps.length)
  const size = db.prepare('SELECT length(ms) + length(key) FROM timings WHERE first = 1').pluck().get() as number
  assert.ok(size <= steps.length / 2, `${size} bytes for ${steps.length} timings`)
  // Long and unmeasured events and two methods in one batch read back as they were.
  const mixed = [timed(1234.56789), timed(undefined), timed(0.00004, 'other'), timed(0), timed(86_400_000)]
  writeTimings(db, 1, 1001, encodeTimings(mixed)!, 0, mixed.length)
  const read = [...new TimingReader(db).read(1, 1, 2000)]
  assert.equal(read.length, steps.length + mixed.length - 1, 'the unmeasured event is not timed')
  const wanted = [...steps, ...mixed].map((e, i) => ({ seq: i + 1, e })).filter(({ e }) => e.duration !== undefined)
  for (const [i, { seq, e }] of wanted.entries()) {
    assert.equal(read[i]!.seq, seq)
    assert.equal(read[i]!.method, e.method)
    // Float32 in transit, tenths of a microsecond stored.
    assert.ok(Math.abs(read[i]!.ms - e.duration!) <= 0.00005 + e.duration! * 1e-7, `event ${seq}: ${read[i]!.ms} for ${e.duration}`)
  }
})

test('a log written before timings opens, says "no timings recorded", is not written by reading, and times what is added to it', async () => {
  const nb = join(dir, 'philosophers.loom.md')
  copyFileSync('samples/philosophers.loom.md', nb)
  const db = nb.replace(/\.md$/, '.db')
  copyFileSync('test/fixtures/philosophers.loom.db', db)
  const r = loom('profile', db)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^no timings recorded on branch 'main'/)
  const j = JSON.parse(loom('profile', db, '--json').stdout) as { timed: number; rows: unknown[]; events: number }
  assert.deepEqual([j.timed, j.rows], [0, []])
  const tables = () => {
    const raw = new Database(db, { readonly: true })
    const names = raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()
    raw.close()
    return names
  }
  assert.ok(!tables().includes('timings'), 'a reader never writes')
  assert.equal(loom('replay', db, '--verify').status, 0)

  const s = await openSession(nb, { db })
  await s.engine.run({ steps: 3 })
  s.log.close()
  assert.ok(tables().includes('timings'))
  const after = JSON.parse(loom('profile', db, '--json').stdout) as { timed: number; events: number; rows: { method: string | null; count: number }[] }
  assert.ok(after.events >= j.events + 3)
  assert.equal(after.timed, after.events - j.events, 'the old events stay untimed; the new ones are timed')
  assert.equal(loom('replay', db, '--verify').status, 0)
})

test('a fork\'s profile counts the history it shares with its parent, then its own events', async () => {
  const db = await busyLog(6, 0)
  assert.equal(loom('fork', db, '--at', '4', '--name', 'what-if').status, 0)
  const nb = db.replace(/\.db$/, '.md')
  const s = await openSession(nb, { db, branch: 'what-if' })
  await s.engine.run({ steps: 2 })
  s.log.close()
  const p = JSON.parse(loom('profile', db, '--branch', 'what-if', '--json').stdout) as { events: number; timed: number; rows: { method: string | null; count: number }[] }
  assert.deepEqual([p.events, p.timed], [6, 6])
  assert.equal(p.rows.find((r) => r.method === 'step')!.count, 5, 'steps 2..4 of main, then two of its own')
})

test('bad input to loom profile is exit 2 with what to give', async () => {
  const db = await busyLog(1, 0)
  for (const [args, said] of [
    [[db, '--sort', 'fastest'], /--sort takes total, mean, max, count, p50, p95; got 'fastest'/],
    [[db, '--top', '0'], /--top takes a whole number ≥ 1/],
    [[db, '--top', 'x'], /--top takes a whole number/],
    [[db, '--branch', 'nope'], /there is no branch 'nope'/],
    [[join(dir, 'missing.loom.db')], /no such log/],
    [[], /needs a log/],
  ] as const) {
    const r = loom('profile', ...args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
    assert.match(r.stderr, said)
  }
  const notLog = join(dir, 'garbage.loom.db')
  writeFileSync(notLog, 'not sqlite at all '.repeat(100))
  const r = loom('profile', notLog)
  assert.equal(r.status, 2, r.stderr)
})

/** A host for `nb` in this process, and a client over an in-memory pair. */
async function hostOf(nb: string): Promise<{ client: EngineClient; close(): Promise<void> }> {
  const host = await EngineHost.open({ notebook: nb })
  const [ui, engine] = memoryPair()
  host.connect(engine)
  const client = new EngineClient(ui)
  return { client, async close() { client.close(); await host.close() } }
}

test('the diff op answers what loom diff prints, across branches, and bounds its answer with first N of M', async () => {
  const bankDir = mkdtempSync(join(dir, 'bank-'))
  const nb = join(bankDir, 'bank.loom.md')
  copyFileSync('samples/bank.loom.md', nb)
  const db = nb.replace(/\.md$/, '.db')
  assert.equal(loom('run', nb, '--steps', '4').status, 0)
  assert.equal(loom('fork', db, '--at', '2', '--name', 'what-if').status, 0)
  const cli = (a: string, b: string) => JSON.parse(loom('diff', db, a, b, '--json').stdout) as unknown[]
  const expected = [cli('1', '3'), cli('what-if@2', '5'), cli('3', '3')]
  const { client, close } = await hostOf(nb)
  try {
    const one = await client.call('diff', { from: { branch: 'main', seq: 1 }, to: { branch: 'main', seq: 3 } })
    const two = await client.call('diff', { from: { branch: 'what-if', seq: 2 }, to: { branch: 'main', seq: 5 } })
    const none = await client.call('diff', { from: { branch: 'main', seq: 3 }, to: { branch: 'main', seq: 3 } })
    assert.deepEqual([one.changes, two.changes, none.changes], expected)
    assert.deepEqual([one.lines, one.shown], [4, 4], 'three keys of accounts, and transfers')
    // Bounded: the first two lines (two keys of accounts) of four.
    const cut = await client.call('diff', { from: { branch: 'main', seq: 1 }, to: { branch: 'main', seq: 3 }, limit: 2 })
    assert.deepEqual([cut.lines, cut.shown, cut.changes.length], [4, 2, 1])
    assert.deepEqual((cut.changes[0] as { keys: { key: string }[] }).keys.map((k) => k.key), ['alice', 'bob'])
    // Profile and timings of a log written by loom run (a confined engine: the times crossed its link).
    const p = await client.call('profile', { branch: 'main' })
    assert.equal(p.timed, p.events)
    const t = await client.call('timings', { branch: 'main', from: 2, to: 3 })
    assert.deepEqual(t.timings.map((x) => [x.seq, x.kind]), [[2, 'step'], [3, 'step']])
    const page = await client.call('log', { branch: 'main', from: 2, limit: 1 })
    assert.equal(typeof page.events[0]!.duration, 'number', 'the event details show how long it ran')
  } finally {
    await close()
  }
})

test('a huge value in a diff is cut, saying how long it is', async () => {
  const nb = join(dir, 'big.loom.md')
  writeFileSync(nb, notebook({ big: "const text = state.var('text', 'small')\nexport function step() { text.set('x'.repeat(100000)) }" }))
  const s = await openSession(nb, { db: nb.replace(/\.md$/, '.db') })
  await s.engine.run({ steps: 1 })
  s.log.close()
  const { client, close } = await hostOf(nb)
  try {
    const r = await client.call('diff', { from: { branch: 'main', seq: 1 }, to: { branch: 'main', seq: 2 } })
    const c = r.changes[0] as { before: string; after: string }
    assert.equal(c.before, 'small')
    assert.match(c.after, /^"x{1999}… \(100,002 characters as JSON; loom diff prints it whole\)$/)
  } finally {
    await close()
  }
})

test('hostile profile, timings and diff requests are refused with what was wrong; the host keeps answering', async () => {
  const bad: [string, unknown, RegExp][] = [
    ['diff', {}, /diff needs 'from'/],
    ['diff', { from: 'main@1', to: { branch: 'main', seq: 1 } }, /'from' must be a moment like \{"branch":"main","seq":12\}/],
    ['diff', { from: { branch: 'main', seq: -1 }, to: { branch: 'main', seq: 1 } }, /must be a moment/],
    ['diff', { from: { branch: null, seq: 1 }, to: { branch: 'main', seq: 1 } }, /must be a moment/],
    ['diff', { from: { branch: 'main', seq: 1, extra: { deep: [] } }, to: { branch: 'main', seq: 1 } }, /must be a moment/],
    ['diff', { from: { branch: 'main', seq: 1 }, to: { branch: 'main', seq: 1 }, limit: 0 }, /'limit' must be a whole number ≥ 1/],
    ['timings', { from: 1 }, /timings needs 'to'/],
    ['timings', { from: 1.5, to: 2 }, /'from' must be an event number/],
    ['profile', { branch: 7 }, /'branch' must be a string/],
    ['profile', { sort: 'total' }, /profile takes no parameter 'sort'/],
  ]
  for (const [op, params, said] of bad) {
    const r = checkRequest({ kind: 'request', id: 1, op, params })
    assert.equal(r.ok, false, `${op} ${JSON.stringify(params)}`)
    assert.match((r as { problem: { message: string } }).problem.message, said)
  }
  let deep: unknown = 1
  for (let i = 0; i < 200; i++) deep = { branch: 'main', seq: deep }
  assert.equal(checkRequest({ kind: 'request', id: 1, op: 'diff', params: { from: deep, to: deep } }).ok, false)

  const db = await busyLog(3, 0)
  const { client, close } = await hostOf(db.replace(/\.db$/, '.md'))
  try {
    const refused = async (op: 'diff' | 'timings' | 'profile', params: object, said: RegExp) => {
      await assert.rejects(client.call(op as 'profile', params as { branch?: string }), (err: Error) => said.test(err.message))
    }
    await refused('diff', { from: { branch: 'nope', seq: 1 }, to: { branch: 'main', seq: 1 } }, /there is no branch 'nope'/)
    await refused('diff', { from: { branch: 'main', seq: 1 }, to: { branch: 'main', seq: 99 } }, /has events 1\.\.4; there is no event 99/)
    await refused('timings', { from: 3, to: 2 }, /empty range/)
    await refused('timings', { from: 1, to: 5000 }, /at most 1000 events' timings at once/)
    // Refused with the reason: the name is cut where the error says where, so the client still reads it.
    await refused('profile', { branch: 'x'.repeat(100_000) }, /^there is no branch 'x{1000}/)
    const p = await client.call('profile', {})
    assert.deepEqual(p.rows.map((r) => [r.method, r.count]), [['step', 3], [null, 1]])
  } finally {
    await close()
  }
})

test('a confined engine\'s commit with malformed timings is refused before anything is written', () => {
  const text = '{"branch":"main","seq":1,"kind":"step","codeHash":"' + 'a'.repeat(64) + '"}'
  const commit = (timings: unknown) => ({ op: 'commit' as const, first: 1, count: 1, texts: text, cuts: [null], kinds: ['step'], code: 'a'.repeat(64), snapshots: [], attempts: [], storedCode: [], cells: [], timings })
  assert.doesNotThrow(() => checkCommit(commit(undefined) as never, 'main', 0))
  const b64 = (a: Float32Array | Uint16Array) => Buffer.from(a.buffer).toString('base64')
  const ms = (...x: number[]) => b64(Float32Array.from(x))
  const key = (...x: number[]) => b64(Uint16Array.from(x))
  const step: [string, string, string][] = [['step', 'step', 'c']]
  assert.doesNotThrow(() => checkCommit(commit({ ms: ms(0.5), key: key(0), keys: step }) as never, 'main', 0))
  for (const t of [null, 'x', { ms: [0.5], key: [0], keys: step }, { ms: ms(1, 2), key: key(0, 0), keys: step }, { ms: ms(NaN), key: key(0), keys: step },
    { ms: ms(1), key: key(5), keys: step }, { ms: ms(1), key: key(0), keys: [['step', 7, 'c']] }, { ms: ms(-3), key: key(0), keys: step },
    { ms: ms(1), key: key(0), keys: Array.from({ length: 70_000 }, () => ['step', null, null]) }, { ms: 'A'.repeat(10_000_000), key: key(0), keys: step },
    { ms: '!!!!', key: key(0), keys: step }]) {
    assert.throws(() => checkCommit(commit(t) as never, 'main', 0), /commit: .*timing/, JSON.stringify(t)?.slice(0, 80))
  }
})
