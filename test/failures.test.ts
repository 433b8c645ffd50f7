// Failures kept with the history: a test that failed after an event, or a
// method that threw, is written beside the log (outside the hash chain) in
// the group commit that follows, so a reopened window and `loom log` see what
// the live run saw — and a row forged in that side table is never believed
// beyond what it is.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openSession } from '../engine/replay/session.ts'
import { EngineHost } from '../engine/host/EngineHost.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { checkCommit } from '../engine/replay/commitCheck.ts'
import type { FailureList } from '../engine/replay/history/failures.ts'
import { PendingSide, badSide } from '../engine/replay/history/sideRecords.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-failures-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

/** Steps count to 4 (the test breaks after the count reaches 3); a request with body 'bad' throws at #api line 3. */
const CELLS = {
  count: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() >= 4) sys.abort('done')\n  n.set(n.get() + 1)\n}\ntest('small', () => n.get() < 3)",
  api: "export function http(req) {\n  const body = String(req.body)\n  if (body === 'bad') throw new Error('bad request')\n  return { status: 200, body: 'ok' }\n}",
}
const GET = { method: 'GET', path: '/', query: {}, headers: {}, body: '' }

let made = 0
/** A log where 'small' failed after events 4 and 5 (checked after every commit, as the window's engine does) and a request threw after event 5. */
async function failingLog(): Promise<{ nb: string; db: string }> {
  const nb = join(dir, `count-${++made}.loom.md`)
  writeFileSync(nb, notebook(CELLS))
  const db = nb.replace(/\.md$/, '.db')
  const s = await openSession(nb, { db, checkTests: true })
  await s.engine.run({ steps: 4 })
  await s.engine.request({ ...GET, body: 'bad' })
  s.log.close()
  return { nb, db }
}

const listOf = (db: string, ...args: string[]): FailureList & { verified: boolean } => {
  const r = loom('log', db, '--failures', '--json', ...args)
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

test('a failed test and a method that threw are kept with the log: loom log lists them under their events, and --failures --json lists them, not verified', async () => {
  const { db } = await failingLog()
  const list = listOf(db)
  assert.equal(list.verified, false, 'kept outside the hash chain: never claimed as verified')
  assert.equal(list.notRecordedUntil, 0)
  assert.deepEqual(list.failures.map((f) => [f.seq, f.kind, f.name, f.cell, f.line]), [
    [4, 'test', 'small', 'count', 6], [5, 'test', 'small', 'count', 6], [5, 'error', 'http', 'api', 3],
  ])
  assert.match(list.failures[2]!.message, /bad request/)

  const text = loom('log', db)
  assert.equal(text.status, 0, text.stderr)
  assert.match(text.stdout, /^ {5}4 .*\n {8}✗ test 'small' failed \(#count line 6\): returned false\n/m)
  assert.match(text.stdout, /✗ http threw \(#api line 3\): .*bad request/)
  const json = JSON.parse(loom('log', db, '--json').stdout) as { seq: number; failures?: { kind: string; name: string }[] }[]
  assert.deepEqual(json.filter((e) => e.failures).map((e) => [e.seq, e.failures!.map((f) => f.name)]), [[4, ['small']], [5, ['small', 'http']]])
  assert.equal(loom('replay', db, '--verify').status, 0, 'the side table changes nothing the chain verifies')
  const raw = new Database(db, { readonly: true })
  assert.equal(raw.prepare(`SELECT value FROM meta WHERE key = 'version'`).pluck().get(), '2', 'no format bump: an older Loom reads this log as before')
  raw.close()
})

test('a host opened again on the log answers the same failures the live run found (what a reopened window marks and counts)', async () => {
  const { nb, db } = await failingLog()
  const host = await EngineHost.open({ notebook: nb, db })
  const [ui, engine] = memoryPair()
  host.connect(engine)
  const client = new EngineClient(ui)
  try {
    const lists = await client.call('failures', {})
    assert.deepEqual(lists.map((l) => [l.branch, l.failures.map((f) => `${f.seq}:${f.kind}:${f.name}`)]), [['main', ['4:test:small', '5:test:small', '5:error:http']]])
    // Hostile limits are refused by the validator, and the host keeps answering.
    for (const limit of [-1, 1.5, 'x', 1e20]) await assert.rejects(client.call('failures', { limit } as never), /limit/)
    assert.equal((await client.call('failures', { limit: 1 }))[0]!.failures.length, 1)
    assert.equal((await client.call('failures', { limit: 0 }))[0]!.failures.length, 1, 'at least one is asked for')
  } finally {
    client.close()
    await host.close()
  }
})

test('a fork lists the failures of the history it shares with its parent up to the fork, then its own', async () => {
  const { db } = await failingLog()
  assert.equal(loom('fork', db, '--at', '4', '--name', 'what-if').status, 0)
  const list = listOf(db, '--branch', 'what-if')
  assert.deepEqual(list.failures.map((f) => [f.branch, f.seq, f.name]), [['what-if', 4, 'small']], 'event 5 and its failures are main\'s own')
  assert.equal(list.notRecordedUntil, 0)
  const bad = loom('log', db, '--failures', '--branch', 'nope')
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /there is no branch 'nope'/)
})

test('a log written before failures were kept says they were not recorded (not that there were none), and records what is added', async () => {
  const nb = join(dir, 'philosophers.loom.md')
  copyFileSync('samples/philosophers.loom.md', nb)
  const db = nb.replace(/\.md$/, '.db')
  copyFileSync('test/fixtures/philosophers.loom.db', db)
  const head = (JSON.parse(loom('log', db, '--json', '--limit', '1').stdout) as { seq: number }[])[0]!.seq
  const r = loom('log', db, '--failures')
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stderr, /failures not recorded for events up to \d+ \(a Loom before this version wrote them\)/)
  const before = listOf(db)
  assert.ok(before.notRecordedUntil >= head && before.failures.length === 0)
  const raw = () => new Database(db, { readonly: true })
  const r0 = raw()
  assert.ok(!(r0.prepare(`SELECT name FROM sqlite_master WHERE name = 'failures'`).get()), 'a reader never writes')
  r0.close()

  const s = await openSession(nb, { db, checkTests: true })
  const old = s.resumedAt
  await s.engine.run({ steps: 3 })
  s.log.close()
  assert.equal(listOf(db).notRecordedUntil, old, 'the events this Loom added have their failures recorded')
  assert.equal(loom('replay', db, '--verify').status, 0)
})

test('rows forged in the failures table are not believed beyond what they are: garbage is left out, nothing crashes, the chain still verifies', async () => {
  const { nb, db } = await failingLog()
  const w = new Database(db)
  const put = w.prepare('INSERT OR REPLACE INTO failures (branch, seq, kind, name, cell, line, message) VALUES (?, ?, ?, ?, ?, ?, ?)')
  put.run(1, 999, 'test', 'past the head', null, null, 'x')          // after an event the branch does not have
  put.run(1, -3, 'test', 'negative', null, null, 'x')
  put.run(1, 2, 'explosion', 'unknown kind', null, null, 'x')
  put.run(1, 2, 'test', Buffer.from('a blob'), null, null, 'x')
  put.run(1, 2, 'error', 'bad line', 'c', 'seven', 'x')
  put.run(1, 3, 'test', 'huge', null, null, 'y'.repeat(1_000_000))
  put.run(1, 3, 'test', 'forged but well formed', 'count', 1, 'looks real')
  w.prepare('INSERT OR REPLACE INTO failures_from (branch, seq) VALUES (?, ?)').run(99, -7)
  w.close()
  const list = listOf(db)
  assert.deepEqual(list.failures.map((f) => `${f.seq}:${f.name}`), ['3:forged but well formed', '4:small', '5:small', '5:http'], 'only rows of the shape Loom writes, at events the branch has')
  assert.equal(list.verified, false, 'a well-formed forged row is shown as recorded, never as verified')
  assert.equal(loom('log', db).status, 0)
  assert.equal(loom('replay', db, '--verify').status, 0, 'the side table is outside the hash chain')
  const host = await EngineHost.open({ notebook: nb, db })
  const [ui, engine] = memoryPair()
  host.connect(engine)
  const client = new EngineClient(ui)
  assert.equal((await client.call('failures', {}))[0]!.failures.length, 4)
  client.close()
  await host.close()

  // A table of that name that Loom did not make: no failures, events still listed and written.
  const x = new Database(db)
  x.exec('DROP TABLE failures; CREATE TABLE failures (whatever TEXT)')
  x.close()
  assert.deepEqual(listOf(db).failures, [])
  assert.equal(loom('log', db).status, 0)
  const s = await openSession(nb, { db, checkTests: true })
  await s.engine.request({ ...GET, body: 'bad' })
  s.log.close()
  assert.equal(loom('replay', db, '--verify').status, 0)
})

test('a confined engine\'s commit with malformed failures is refused before anything is written', () => {
  const text = '{"branch":"main","seq":1,"kind":"step","codeHash":"' + 'a'.repeat(64) + '"}'
  const commit = (failures: unknown) => ({ op: 'commit' as const, first: 1, count: 1, texts: text, cuts: [null], code: 'a'.repeat(64), snapshots: [], attempts: [], storedCode: [], cells: [], side: { failures } })
  const good = { seq: 1, kind: 'test', name: 't', cell: 'c', line: 2, message: 'returned false' }
  assert.doesNotThrow(() => checkCommit(commit(undefined) as never, 'main', 0))
  assert.doesNotThrow(() => checkCommit(commit([good, { ...good, seq: 0, kind: 'error', cell: null, line: null }]) as never, 'main', 0))
  for (const f of [null, 'x', {}, [null], [{ ...good, seq: 2 }], [{ ...good, seq: -1 }], [{ ...good, kind: 'boom' }], [{ ...good, name: 7 }],
    [{ ...good, message: 'm'.repeat(10_000) }], [{ ...good, line: 1.5 }], [{ ...good, cell: {} }], Array.from({ length: 2000 }, () => good)]) {
    assert.throws(() => checkCommit(commit(f) as never, 'main', 0), /commit: .*failure/, JSON.stringify(f)?.slice(0, 80))
  }
})

test('a test broken after every event of a huge batch fills one commit\'s failures at most, so a confined engine\'s commit is never refused for it', () => {
  const side = new PendingSide()
  side.addFailure({ seq: 1, kind: 'test', name: 'ignored', cell: null, line: null, message: 'x' })
  assert.equal(side.take(), undefined, 'an engine that checks no tests says nothing about failures')
  side.recordFailures()
  for (let seq = 1; seq <= 5000; seq++) side.addFailure({ seq, kind: 'test', name: 'small', cell: 'c', line: 1, message: 'returned false' })
  const taken = side.take()!
  assert.equal(taken.failures!.length, 1000)
  assert.equal(badSide(taken, 5000), null)
  assert.deepEqual(side.take(), { failures: [] }, 'the next commit still says failures are recorded (none)')
})
