// A .loom.db from someone else, made by the real writer and then changed in
// SQLite directly where no hash covers it (the cells' sources beside a code
// version): `loom query`, `loom state` and `loom replay --verify` answer
// with a sentence and an exit code, never a stack trace, and write nothing.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { SqliteLog } from '../../engine/replay/sqliteLog.ts'
import type { EventRecord } from '../../engine/runtime/event.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-crafted-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

test("cells' sources changed by hand (not JSON, null, another shape, a cell named __proto__) are read as none: query still answers by the states' own names", () => {
  const sources = ['garbage', 'null', '{"cells":5}', '[{"id":5}]', '[{"id":"__proto__","line":1,"source":"const constructor = state.map(\\"accounts\\")"}]']
  for (const [i, text] of sources.entries()) {
    const db = join(dir, `sources${i}.loom.db`)
    copyFileSync('test/fixtures/bank.loom.db', db)
    const raw = new Database(db)
    raw.prepare('UPDATE code SET sources = ?').run(text)
    raw.close()
    const was = sha(db)
    const r = loom('query', db, "$state.accounts.get('bob') < 50", '--json')
    assert.equal(r.status, 0, `${text}: ${r.stderr}`)
    assert.deepEqual(JSON.parse(r.stdout).matches.map((m: { seq: number }) => m.seq), [3, 4, 5, 6, 7], text)
    for (const args of [['state', db, '--at', '3'], ['replay', db, '--verify']]) {
      const s = loom(...args)
      assert.ok(s.status === 0 || s.status === 1 || s.status === 2, `${args[0]} on ${text}: ${s.status}\n${s.stderr}`)
      assert.doesNotMatch(s.stderr, /^\s+at .*:\d+:\d+\)?$/m, `${args[0]} on ${text}: a stack trace, not a sentence`)
    }
    assert.equal(sha(db), was, text)
  }
})

// A snapshot's bytes are checked against its hash, but whoever crafts a log can write a new hash to match.
test('a snapshot that is not one, with a matching hash, is passed over like a damaged one: state and query past it answer, verify names it', () => {
  const nb = join(dir, 'counter.loom.md')
  copyFileSync('samples/counter.loom.md', nb)
  const honest = join(dir, 'snap.loom.db')
  assert.equal(loom('run', nb, '--db', honest, '--steps', '1100', '--no-fsync').status, 0)
  const right = loom('state', honest, '--at', '1050', '--json')
  assert.equal(right.status, 0, right.stderr)
  const forgeries = ['null', '5', '{"states":5}', '[{"name":"count","kind":"map","version":1,"value":1}]', '[{"name":"count","kind":"counter","version":1,"value":"x"}]', '[{"name":"count","kind":"nope","version":1,"value":1}]', '[{"kind":"var","version":1,"value":1}]']
  for (const [i, data] of forgeries.entries()) {
    const db = join(dir, `forged${i}.loom.db`)
    copyFileSync(honest, db)
    copyFileSync(`${honest}.heads`, `${db}.heads`)
    const raw = new Database(db)
    assert.equal(raw.prepare('UPDATE snapshots SET data = ?, hash = ?').run(data, createHash('sha256').update(data).digest('hex')).changes, 1)
    raw.close()
    const s = loom('state', db, '--at', '1050', '--json')
    assert.equal(s.status, 0, `${data}: ${s.stderr}`)
    assert.deepEqual(JSON.parse(s.stdout).values, JSON.parse(right.stdout).values, data)
    const q = loom('query', db, 'count.get() === 1049', '--from', '1040', '--json')
    assert.equal(q.status, 0, `${data}: ${q.stderr}`)
    const v = loom('replay', db, '--verify')
    assert.equal(v.status, 1, `${data}: ${v.stderr}`)
    assert.match(v.stderr, /snapshot/, data)
  }
})

test('writes that do not fit their state (a key set on a var, a state named __proto__), written by the real writer: query rolls the state forward and answers', () => {
  const nb = join(dir, 'counter2.loom.md')
  copyFileSync('samples/counter.loom.md', nb)
  const db = join(dir, 'misfit.loom.db')
  assert.equal(loom('run', nb, '--db', db, '--steps', '20', '--no-fsync').status, 0)
  const log = SqliteLog.open(db)
  const last = log.event(log.branch, log.head)!
  const misfits = [[{ state: 'count', op: 'set', key: 'k', value: 1 }], [{ state: '__proto__', op: 'set', value: { polluted: 1 } }], [{ state: 'count', op: 'delete', key: 'k' }]]
  for (const [i, writes] of misfits.entries()) log.append({ ...last, seq: last.seq + 1 + i, writes: writes as EventRecord['writes'], hash: '', parentHash: '' })
  log.flush()
  log.close()
  const was = sha(db)
  const r = loom('query', db, "count.get() >= 19 && typeof $state === 'object'", '--json')
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout).matches.map((m: { seq: number }) => m.seq), [20, 21, 22, 23, 24])
  assert.equal(sha(db), was)
})
