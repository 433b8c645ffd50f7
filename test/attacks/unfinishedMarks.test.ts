// Attacks on the marks of branches being written (meta 'unfinished:NAME',
// history/unfinishedBranches.ts), forged in a .loom.db from someone else:
// on the live branch, on a branch another was forked from, on a branch with
// acknowledged events, naming a process that is gone, one that is alive
// (this one), or garbage. Opening, even by a writer, never deletes or hides
// such a branch: every event it had is still there and verifies.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-marks-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const nb = join(dir, 'counter.loom.md')
const honest = join(dir, 'counter.loom.db')
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })
const json = (...args: string[]) => {
  const r = loom(...args, '--json')
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

before(() => {
  writeFileSync(nb, "# Counter\n\n```ts #tick\nconst x = state.var('x', 0)\nexport function step() {\n  x.set(x.get() + 1)\n}\n```\n")
  assert.equal(loom('run', nb, '--db', honest, '--steps', '20', '--no-fsync').status, 0)
  // 'side' forked from main at 5 with 3 events of its own; 'leaf' forked from side with 2.
  assert.equal(loom('fork', honest, '--at', '5', '--name', 'side').status, 0)
  assert.equal(loom('run', nb, '--db', honest, '--branch', 'side', '--steps', '3', '--no-fsync').status, 0)
  assert.equal(loom('fork', honest, '--from', 'side', '--at', '8', '--name', 'leaf').status, 0)
  assert.equal(loom('run', nb, '--db', honest, '--branch', 'leaf', '--steps', '2', '--no-fsync').status, 0)
})

function forged(name: string, marks: [string, string][]): string {
  const db = join(dir, `${name}.loom.db`)
  copyFileSync(honest, db)
  copyFileSync(`${honest}.heads`, `${db}.heads`)
  const raw = new Database(db)
  for (const [branch, value] of marks) raw.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(`unfinished:${branch}`, value)
  raw.close()
  return db
}

const heads = (db: string) => Object.fromEntries((json('branches', db) as { name: string; head: number }[]).map((b) => [b.name, b.head]))

test('a forged mark never deletes or hides an acknowledged branch, whatever it names, and a writer opening the log keeps every event', () => {
  const want = heads(honest)
  assert.deepEqual(Object.keys(want).sort(), ['leaf', 'main', 'side'])
  const now = Date.now()
  const cases: [string, [string, string][]][] = [
    ['the live branch, its writer gone', [['main', JSON.stringify({ pid: 0, since: now })]]],
    ['the live branch, its writer alive', [['main', JSON.stringify({ pid: process.pid, since: now })]]],
    ['a branch forked from', [['side', JSON.stringify({ pid: 0, since: now })]]],
    ['a leaf with acknowledged events, a mark made long after it', [['leaf', JSON.stringify({ pid: 0, since: now + 3_600_000 })]]],
    ['garbage', [['leaf', '{not json'], ['main', 'x'.repeat(100_000)], ['side', 'null']]],
    ['names that are not branches', [['', '{}'], ['../../etc/passwd', '{"pid":0}'], ['main\u0000', '{"pid":0}']]],
  ]
  for (const [what, marks] of cases) {
    const db = forged(what.replace(/\W+/g, '-'), marks)
    assert.deepEqual(heads(db), want, `${what}: listed before a writer opens`)
    // A writer opens it (loom run removes what a killed writer left): main goes on from where it was.
    const run = loom('run', nb, '--db', db, '--steps', '1', '--no-fsync')
    assert.equal(run.status, 0, `${what}: ${run.stderr}`)
    assert.deepEqual(heads(db), { ...want, main: want.main + 1 }, `${what}: after a writer opened it`)
    const verify = loom('replay', db, '--verify', '--branch', 'leaf')
    assert.equal(verify.status, 0, `${what}: ${verify.stderr}`)
  }
})
