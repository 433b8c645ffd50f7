// Golden histories: logs written by an earlier build (scripts/make-fixtures.ts)
// must still open, verify by re-execution, and read back the same state.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { seek } from '../engine/replay/seek.ts'
import { plain } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-golden-'))
const FIXTURES = readdirSync('test/fixtures').filter((f) => f.endsWith('.loom.db')).sort()

/** Opens a copy: verifying must not depend on (or change) the committed file. */
function open(name: string): SqliteLog {
  const copy = join(dir, name)
  copyFileSync(join('test/fixtures', name), copy)
  return SqliteLog.open(copy, { create: false })
}

const state = (log: SqliteLog, branch = 'main', seq = log.branchInfo(branch)!.head) =>
  plain(Object.fromEntries(Object.entries(seek(log, { branch, seq })).map(([k, v]) => [k, v.value])))

test('there are golden histories to check', () => {
  assert.deepEqual(FIXTURES, ['bank.loom.db', 'echo.loom.db', 'effects.loom.db', 'livecode.loom.db', 'philosophers.loom.db', 'timer.loom.db'])
})

for (const name of FIXTURES) {
  test(`golden history ${name}: every branch replays and verifies`, async () => {
    const log = open(name)
    for (const b of log.branches()) {
      const r = await verifyBranch(log, b.name)
      assert.equal(r.ok, true, `${b.name}: ${JSON.stringify(r.failure)}`)
      assert.equal(r.events, b.head)
    }
    log.close()
  })
}

test('golden histories read back the state they were written with', () => {
  const bank = open('bank.loom.db')
  assert.deepEqual(state(bank), { accounts: { alice: 100, bob: 20, carol: 30 }, transfers: [], refused: 1 })
  assert.equal(bank.event('main', 6)!.kind, 'edit')
  bank.close()
  const echo = open('echo.loom.db')
  const tty = echo.eventsOf('main', 1, 100).map((e) => e.outputs.tty ?? '').join('')
  assert.equal(tty, 'GOLDEN\nHISTORIES\n')
  echo.close()
  const timer = open('timer.loom.db')
  assert.equal(timer.event('main', timer.head)!.kind, 'halt')
  assert.equal(state(timer).ticks, 3)
  timer.close()
  const live = open('livecode.loom.db')
  const codes = live.eventsOf('main', 1, 1000).filter((e) => e.kind === 'code')
  assert.deepEqual(codes.map((e) => e.method), [null, 'switch'])
  assert.equal((state(live) as { n: number }).n, 1080)
  assert.equal((state(live, 'alt') as { n: number }).n, 19)
  live.close()
  // Safe reads: two reads, reused, the URL read again once older than its maxAge; verified above with no world at all.
  const fx = open('effects.loom.db')
  assert.deepEqual(fx.eventsOf('main', 1, 100).map((e) => e.kind), ['code', 'effect', 'effect', 'step', 'step', 'effect', 'step', 'step', 'step', 'halt'])
  assert.deepEqual(state(fx).seen, ['rate 1 EUR', 'rate 1 EUR', 'rate 2 EUR', 'rate 2 EUR'])
  fx.close()
})
