// The side tables (failures, latencies) are outside the hash chain and made by
// the first commit that needs them. A log someone sent, or changed by hand,
// may already have tables of those names that SQLite refuses to write, or a
// trigger: the events of a commit are never lost to what is beside them, and
// SQL of someone else's never runs inside Loom's writes.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateRawSync } from 'node:zlib'
import Database from 'better-sqlite3'
import { writeSide } from '../../engine/replay/history/sideRecords.ts'
import { LatencyReader } from '../../engine/replay/history/latencies.ts'
import { TimingReader } from '../../engine/replay/history/timings.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-side-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })
const stackTrace = /^\s+at .*:\d+:\d+\)?$/m

// A test that fails after every event from the 3rd on: every commit then carries failures.
const NB = `---
title: Side
---
\`\`\`ts #count
const n = state.counter('n')
export function step() { n.add(1) }
test('stays small', () => n.get() < 3)
\`\`\`
`

function logWith(name: string, sql: string): { nb: string; db: string } {
  const nb = join(dir, `${name}.loom.md`)
  const db = join(dir, `${name}.loom.db`)
  writeFileSync(nb, NB)
  assert.equal(loom('run', nb, '--steps', '1').status, 0)
  const raw = new Database(db)
  raw.exec(sql)
  raw.close()
  return { nb, db }
}

const events = (db: string) => JSON.parse(loom('log', db, '--json').stdout).length as number

test('a failures table that SQLite refuses to write (a constraint Loom never sets) loses the failures, not the events: loom run commits on, verify passes', () => {
  const { nb, db } = logWith('check', `DROP TABLE IF EXISTS failures; CREATE TABLE failures (branch INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, cell TEXT, line INTEGER, message TEXT NOT NULL CHECK (length(message) < 0), PRIMARY KEY (branch, seq, kind, name))`)
  const r = loom('run', nb, '--steps', '10', '--keep-going')
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, /stays small/)
  assert.doesNotMatch(r.stderr, stackTrace)
  assert.equal(events(db), 12)
  const v = loom('replay', db, '--verify')
  assert.equal(v.status, 0, v.stderr)
})

test("a log with a trigger (on a side table or Loom's own) is refused with its name and how to remove it; nothing is written", () => {
  for (const [i, table] of ['failures', 'chunks'].entries()) {
    const { nb, db } = logWith(`trigger${i}`, `CREATE TABLE IF NOT EXISTS failures (branch INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
      cell TEXT, line INTEGER, message TEXT NOT NULL, PRIMARY KEY (branch, seq, kind, name)) WITHOUT ROWID;
      CREATE TRIGGER "sneaky""${i}" BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'forged'); END;`)
    const r = loom('run', nb, '--steps', '10', '--keep-going')
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, new RegExp(`has a trigger "sneaky\\\\"${i}", which Loom never makes.*DROP TRIGGER "sneaky""${i}"`))
    assert.doesNotMatch(r.stderr, stackTrace)
    const raw = new Database(db)
    raw.exec(`DROP TRIGGER "sneaky""${i}"`)
    raw.close()
    assert.equal(events(db), 2, 'the refused run added nothing')
    assert.equal(loom('run', nb, '--steps', '3', '--keep-going').status, 1)
    assert.equal(events(db), 5)
  }
})

test('a latencies table SQLite refuses to write loses the latencies inside the commit, which goes on; one of a foreign shape is read as none', () => {
  const db = new Database(':memory:')
  db.exec('CREATE TABLE latencies (branch INTEGER NOT NULL, seq INTEGER NOT NULL, ms REAL NOT NULL CHECK (ms < 0), PRIMARY KEY (branch, seq)) WITHOUT ROWID; CREATE TABLE events (n)')
  db.transaction(() => {
    db.exec('INSERT INTO events VALUES (1)')
    writeSide(db, 1, 1, { latencies: [[1, 3.5]] })
    db.exec('INSERT INTO events VALUES (2)')
  })()
  assert.equal(db.prepare('SELECT count(*) FROM events').pluck().get(), 2)
  assert.equal(db.prepare('SELECT count(*) FROM latencies').pluck().get(), 0)
  db.exec(`DROP TABLE latencies; CREATE TABLE latencies (branch, seq, ms); INSERT INTO latencies VALUES (1, 1, 'x'), (1, 2, -1), (1, 3, 2.5), ('1', 4, 1)`)
  assert.deepEqual([...new LatencyReader(db).read(1, 1, 10)], [[3, 2.5]])
  // Without Loom's key, one seq may repeat: a page of events reads at most one latency each.
  db.exec('INSERT INTO latencies SELECT 1, 5, 1 FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000) SELECT i FROM n)')
  assert.deepEqual([...new LatencyReader(db).read(1, 1, 10)], [[3, 2.5], [5, 1]])
})

test('timing rows made by hand that overlap are read once per event: a page of events gets at most one timing each', () => {
  const db = new Database(':memory:')
  db.exec('CREATE TABLE timings (branch INTEGER NOT NULL, first INTEGER NOT NULL, ms BLOB NOT NULL, key BLOB NOT NULL, keys TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID')
  const insert = db.prepare('INSERT INTO timings VALUES (1, ?, ?, ?, ?)')
  const keys = JSON.stringify([['step', 'step', 'count']])
  // Events 1..10 at 1 ms, then 10,000 rows each claiming events from its first to 10,000 on.
  insert.run(1, Buffer.from(new Float32Array(10).fill(1).buffer), Buffer.alloc(20), keys)
  for (let first = 2; first <= 10_001; first++) insert.run(first, Buffer.from(new Float32Array(10).fill(2).buffer), Buffer.alloc(20), keys)
  const read = [...new TimingReader(db).read(1, 1, 12)]
  assert.deepEqual(read.map((t) => [t.seq, t.ms]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1], [7, 1], [8, 1], [9, 1], [10, 1], [11, 2], [12, 2]])
})

test('packed timing rows made by hand that inflate past any batch, or do not inflate, are read as not timed', () => {
  const db = new Database(':memory:')
  db.exec('CREATE TABLE timings (branch INTEGER NOT NULL, first INTEGER NOT NULL, ms BLOB NOT NULL, key BLOB NOT NULL, keys TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID')
  const insert = db.prepare('INSERT INTO timings VALUES (1, ?, ?, ?, ?)')
  const keys = JSON.stringify({ v: 2, keys: [['step', 'step', 'count']] })
  // 64 MB of ones deflate to a few kilobytes: inflating it whole would be a bomb.
  insert.run(1, deflateRawSync(Buffer.alloc(64 * 2 ** 20, 1)), Buffer.alloc(0), keys)
  insert.run(100, Buffer.from('not deflated'), Buffer.alloc(0), keys)
  insert.run(200, deflateRawSync(Buffer.from([11, 11])), deflateRawSync(Buffer.from([0])), keys)
  assert.deepEqual([...new TimingReader(db).read(1, 1, 300)], [], 'a bomb, bytes that are not deflate, keys of another length')
  insert.run(300, deflateRawSync(Buffer.from([11])), Buffer.alloc(0), keys)
  assert.deepEqual([...new TimingReader(db).read(1, 1, 300)].map((t) => [t.seq, t.ms]), [[300, 0.001]])
})

test('failure rows made by hand with escape sequences are listed by loom log with the escapes shown, never sent to the terminal', () => {
  const { db } = logWith('escapes', `CREATE TABLE IF NOT EXISTS failures (branch INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    cell TEXT, line INTEGER, message TEXT NOT NULL, PRIMARY KEY (branch, seq, kind, name)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS failures_from (branch INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
    INSERT INTO failures VALUES (1, 1, 'test', 'evil' || char(27) || ']0;TITLE' || char(7), 'count' || char(155), 3, 'gone' || char(27) || '[2J' || char(27) || ']52;c;ZWNobyBoaQ==' || char(7))`)
  for (const args of [['--failures'], []]) {
    const r = loom('log', db, ...args)
    assert.equal(r.status, 0, r.stderr)
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, `loom log ${args.join(' ')}`)
    assert.match(r.stdout, /test 'evil\\u001b\]0;TITLE\\u0007' failed \(#count\\u009b line 3\): gone\\u001b\[2J\\u001b\]52;c;ZWNobyBoaQ==\\u0007/)
  }
})

test('timing keys made by hand with escape sequences are shown by loom profile as escapes', () => {
  const { db } = logWith('profileEscapes', `UPDATE timings SET keys = json_set(keys, '$.keys', json_array(json_array('step', 'st' || char(27) || ']0;X' || char(7), 'count' || char(27) || '[2J')))`)
  const r = loom('profile', db)
  assert.equal(r.status, 0, r.stderr)
  assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
  assert.match(r.stdout, /st\\u001b\]0;X\\u0007\(\) in #count\\u001b\[2J/)
})
