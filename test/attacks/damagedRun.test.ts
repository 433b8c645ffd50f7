// A damaged live log is not extended silently: `loom run` and the engine that
// `loom serve` opens refuse a damaged branch, with the reason and how to go
// on; following that advice (fork at the last sound event, run the fork) works.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { openSession } from '../../engine/replay/session.ts'
import { EngineHost } from '../../engine/host/EngineHost.ts'
import { memoryPair } from '../../engine/protocol/memoryTransport.ts'
import { EngineClient, ProtocolError } from '../../engine/protocol/client.ts'
import { LogDamageError } from '../../engine/replay/sqliteLog.ts'
import { notebook } from '../helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-damaged-run-'))
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const COUNTER = { c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }

let made = 0
/** A counter notebook and its log after `steps` steps, closed; in a folder of its own (loom serve's engine uses NAME.loom.db). */
async function counter(steps: number): Promise<{ nb: string; db: string }> {
  const folder = join(dir, `h${++made}`)
  mkdirSync(folder)
  const nb = join(folder, 'count.loom.md')
  writeFileSync(nb, notebook(COUNTER))
  const db = join(folder, 'count.loom.db')
  const s = await openSession(nb, { db })
  await s.engine.run({ steps })
  s.log.close()
  return { nb, db }
}

/** Changes one digit in the middle of the newest group commit's events. */
function damageNewestChunk(db: string): { first: number; last: number } {
  const d = new Database(db)
  const row = d.prepare('SELECT first, last, bodies FROM chunks ORDER BY first DESC LIMIT 1').get() as { first: number; last: number; bodies: string }
  let at = Math.floor(row.bodies.length / 2)
  while (!/[0-9]/.test(row.bodies[at]!)) at++
  d.prepare('UPDATE chunks SET bodies = ? WHERE first = ?').run(row.bodies.slice(0, at) + (row.bodies[at] === '1' ? '2' : '1') + row.bodies.slice(at + 1), row.first)
  d.close()
  return { first: row.first, last: row.last }
}

/** The fork command the refusal advises, as arguments. */
function advisedFork(stderr: string): { at: number; args: string[] } {
  const m = /loom fork (\S+) --from (\S+) --at (\d+) --name (\S+), then run with --branch (\S+)/.exec(stderr)
  assert.ok(m, `the refusal says how to continue: ${stderr}`)
  return { at: Number(m[3]), args: ['fork', m[1]!, '--from', m[2]!, '--at', m[3]!, '--name', m[4]!] }
}

test('loom run refuses a damaged branch (exit 2: the log given is bad input) and says how to continue; fork + run on the new branch works', async () => {
  const { nb, db } = await counter(1500)
  const chunk = damageNewestChunk(db)
  const events = () => (new Database(db, { readonly: true }).prepare('SELECT sum(last - first + 1) FROM chunks').pluck().get() as number)
  const before = events()
  const run = loom(['run', nb, '--db', db, '--steps', '5'])
  assert.equal(run.status, 2, run.stderr)
  assert.match(run.stderr, /branch 'main' is damaged, so Loom will not add events to it: branch 'main': event \d+ does not match its hash/)
  assert.equal(events(), before, 'nothing was added or cut')
  const fork = advisedFork(run.stderr)
  assert.ok(fork.at >= chunk.first - 1 && fork.at < chunk.last, `the advice forks before the damaged event (${fork.at}, chunk ${chunk.first}..${chunk.last})`)
  const forked = loom(fork.args)
  assert.equal(forked.status, 0, forked.stderr)
  const again = loom(['run', nb, '--db', db, '--branch', 'repaired', '--steps', '5', '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(JSON.parse(again.stdout).state.n, fork.at - 1 + 5, 'the fork continues from the last sound event (seq s holds n = s - 1)')
  assert.match(again.stderr, /is damaged on another branch/, 'the run still says the log holds damage elsewhere')
  assert.equal(loom(['replay', db, '--branch', 'repaired', '--verify']).status, 0, 'the repaired branch verifies')
  assert.equal(loom(['replay', db, '--branch', 'main', '--verify']).status, 1, 'main is still reported damaged')
})

test('loom run refuses a branch whose acknowledged events are missing (a lost WAL); fork at its head continues', async () => {
  const { nb, db } = await counter(300)
  // What a lost WAL leaves: the log as it was at event 301, and a record of 300 more acknowledged events.
  const behind = db.replace(/\.loom\.db$/, '-behind.loom.db')
  copyFileSync(db, behind)
  const more = loom(['run', nb, '--db', db, '--steps', '300'])
  assert.equal(more.status, 0, more.stderr)
  copyFileSync(db + '.heads', behind + '.heads')
  const run = loom(['run', nb, '--db', behind, '--steps', '1'])
  assert.equal(run.status, 2, run.stderr)
  assert.match(run.stderr, /branch 'main': events 302\.\.601 were acknowledged \(record in .*\.heads\) but are missing from the log — the WAL file was lost or truncated/)
  const fork = advisedFork(run.stderr)
  assert.equal(fork.at, 301)
  assert.equal(loom(fork.args).status, 0)
  const again = loom(['run', nb, '--db', behind, '--branch', 'repaired', '--steps', '2', '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(JSON.parse(again.stdout).state.n, 302)
  const verify = loom(['replay', behind, '--verify'])
  assert.equal(verify.status, 1)
  assert.match(verify.stderr, /events 302\.\.601 were acknowledged/)
  assert.equal(loom(['replay', behind, '--verify', '--branch', 'repaired']).status, 0)
})

test('the engine loom serve opens does not extend a damaged branch: the history stays readable, running is refused with the reason', async () => {
  const { nb, db } = await counter(1200)
  damageNewestChunk(db)
  const host = await EngineHost.open({ notebook: nb })
  const [ui, side] = memoryPair()
  host.connect(side)
  const client = new EngineClient(ui)
  try {
    const view = await client.call('notebook', {})
    assert.match(view.problems[0]?.message ?? '', /branch 'main' is damaged, so Loom will not add events to it/)
    await assert.rejects(client.call('step', {}), (err: Error) => err instanceof ProtocolError && /is damaged, so Loom will not add events to it.*loom fork/.test(err.message))
    const log = await client.call('log', { limit: 3 })
    assert.ok(log.events.length > 0, 'the history is still readable')
  } finally {
    client.close()
    await host.close()
  }
  assert.ok(existsSync(db))
})

test('a damaged branch refuses appends in the log itself, whoever calls it (typed error with code, message, where)', async () => {
  const { db } = await counter(1100)
  damageNewestChunk(db)
  const { SqliteLog } = await import('../../engine/replay/sqliteLog.ts')
  const log = SqliteLog.open(db)
  try {
    const refused = log.refusal()
    assert.ok(refused instanceof LogDamageError)
    assert.equal(refused.code, 'log-damaged')
    assert.equal(refused.where.file, db)
    assert.equal(refused.damage[0]!.branch, 'main')
    assert.equal(refused.damage[0]!.code, 'hash-mismatch')
    assert.throws(() => log.append({ seq: log.head + 1 } as never), LogDamageError)
  } finally {
    log.db.close()
  }
})

test('a fork whose whole history was lost with the WAL (the record names it, the log does not) is named by verify', async () => {
  const { nb, db } = await counter(100)
  const before = db.replace(/\.loom\.db$/, '-before.loom.db')
  copyFileSync(db, before)
  assert.equal(loom(['fork', db, '--at', '50', '--name', 'try']).status, 0)
  const run = loom(['run', nb, '--db', db, '--branch', 'try', '--steps', '20'])
  assert.equal(run.status, 0, run.stderr)
  copyFileSync(db + '.heads', before + '.heads')
  const lost = loom(['replay', before, '--verify', '--branch', 'try'])
  assert.equal(lost.status, 1, lost.stderr)
  assert.match(lost.stderr, /branch 'try': events up to 70 were acknowledged \(record in .*\.heads\) but the branch is missing from the log — the WAL file was lost or truncated/)
  const main = loom(['replay', before, '--verify'])
  assert.equal(main.status, 0, main.stderr)
  assert.match(main.stderr, /note: another branch is damaged: branch 'try'/)
})
