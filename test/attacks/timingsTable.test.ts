// Attacks on the timings kept beside the log (history/timings.ts), through a
// .loom.db from someone else: the real writer makes the log, then SQLite is
// changed directly. The table is outside the hash chain, so a changed row is
// read as "not timed": `loom profile` never crashes nor shows NaN, and the
// writer keeps committing events on a log whose table is not Loom's.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-timings-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const nb = join(dir, 'counter.loom.md')
const honest = join(dir, 'counter.loom.db')
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })

before(() => {
  writeFileSync(nb, "# Counter\n\n```ts #tick\nconst x = state.var('x', 0)\nexport function step() {\n  x.set(x.get() + 1)\n}\n```\n")
  const r = loom('run', nb, '--db', honest, '--steps', '50', '--no-fsync')
  assert.equal(r.status, 0, r.stderr)
})

/** A copy of the honest log with `sql` run on it directly. */
function tampered(name: string, sql: string): string {
  const db = join(dir, `${name}.loom.db`)
  copyFileSync(honest, db)
  copyFileSync(`${honest}.heads`, `${db}.heads`)
  const raw = new Database(db)
  raw.exec(sql)
  raw.close()
  return db
}

const TAMPERINGS: [string, string][] = [
  ['a blob cut mid-number', "UPDATE timings SET ms = x'010203' WHERE first = 2"],
  ['text where a blob was', "UPDATE timings SET ms = 'text', key = 5 WHERE first = 2"],
  ['keys that are not JSON', "UPDATE timings SET keys = 'garbage' WHERE first = 2"],
  ['keys that are null', "UPDATE timings SET keys = 'null' WHERE first = 2"],
  ['keys of the wrong shape', "UPDATE timings SET keys = '[5,[{},{},{}]]' WHERE first = 2"],
  ['times and keys of different lengths', 'UPDATE timings SET ms = zeroblob(1000000), key = zeroblob(10) WHERE first = 2'],
  ['NaN, Infinity and a negative time', "UPDATE timings SET ms = x'0000c07f0000807f000080bf', key = zeroblob(6) WHERE first = 2"],
  ['a row at a negative and a huge first event', 'INSERT INTO timings SELECT branch, -5, ms, key, keys FROM timings WHERE first = 2; INSERT INTO timings SELECT branch, 9007199254740991, ms, key, keys FROM timings WHERE first = 2'],
  ['a table that is not Loom\'s', 'DROP TABLE timings; CREATE TABLE timings (x)'],
]

test('loom profile of a log whose timings were changed by hand answers, with finite numbers, for every change', () => {
  for (const [what, sql] of TAMPERINGS) {
    const db = tampered(what.replace(/\W+/g, '-'), sql)
    const json = loom('profile', db, '--json')
    assert.equal(json.status, 0, `${what}: ${json.stderr}`)
    const p = JSON.parse(json.stdout) as { events: number; timed: number; rows: { kind: unknown; count: number; total: number; max: number; mean: number }[] }
    assert.equal(p.events, 51, what)
    for (const r of p.rows) {
      assert.equal(typeof r.kind, 'string', what)
      for (const n of [r.count, r.total, r.max, r.mean]) assert.ok(Number.isFinite(n) && n >= 0, `${what}: ${JSON.stringify(r)}`)
    }
    const text = loom('profile', db)
    assert.equal(text.status, 0, `${what}: ${text.stderr}`)
    assert.doesNotMatch(text.stdout + text.stderr, /NaN|Infinity|at .*\.ts:\d+/, what)
  }
})

test('the writer commits events on a log whose timings table is not Loom\'s, and replay --verify passes', () => {
  const db = tampered('foreign', 'DROP TABLE timings; CREATE TABLE timings (x)')
  const r = loom('run', nb, '--db', db, '--steps', '5', '--no-fsync')
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stderr, /5 events committed \(continued at event 51\)/)
  const verify = loom('replay', db, '--verify')
  assert.equal(verify.status, 0, verify.stderr)
})
