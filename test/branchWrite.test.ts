import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { unfinishedBranches } from '../engine/replay/history/unfinishedBranches.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-branchwrite-'))
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const COUNTER = { c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }

async function history(name: string, steps: number): Promise<string> {
  const nb = join(dir, `${name}.loom.md`)
  writeFileSync(nb, notebook(COUNTER))
  const db = join(dir, `${name}.loom.db`)
  const s = await openSession(nb, { db })
  await s.engine.run({ steps })
  s.log.close()
  return db
}

/** The branch's own events in the log, read as another process would. */
function ownEvents(db: string, name: string): number {
  const c = new Database(db, { readonly: true, fileMustExist: true })
  try {
    const id = c.prepare('SELECT id FROM branches WHERE name = ?').pluck().get(name) as number | undefined
    return id === undefined ? 0 : ((c.prepare('SELECT MAX(last) FROM chunks WHERE branch = ?').pluck().get(id) as number | null) ?? 0)
  } finally {
    c.close()
  }
}

test('an import killed with SIGKILL half-way leaves no partial branch: hidden at once, removed by the next writer, the live branch unchanged', async () => {
  const big = await history('big', 300_000)
  const file = join(dir, 'big.jsonl')
  assert.equal(loom(['export', big, '--out', file]).status, 0)
  const db = await history('target', 50) // a code event and 50 steps
  const before = loom(['state', db, '--json']).stdout

  const child = spawn(process.execPath, ['bin/loom.js', 'import', db, file, '--name', 'copy'], { stdio: 'ignore' })
  // Stopped as soon as the log shows the branch's first events (bounded: 60 s), then killed.
  let seen = 0
  for (let i = 0; i < 12_000 && seen === 0 && child.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 5))
    seen = ownEvents(db, 'copy')
  }
  child.kill('SIGSTOP')
  assert.ok(seen > 0 && seen < 300_001, `the import was stopped half-way (it had written ${seen} of 300001 events)`)
  const c = new Database(db, { readonly: true })
  assert.deepEqual(unfinishedBranches(c).map((u) => u.name), ['copy'], 'stopped half-way, the branch is still marked unfinished')
  c.close()
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))

  // Readers do not show it.
  const listed = JSON.parse(loom(['branches', db, '--json']).stdout) as { name: string }[]
  assert.deepEqual(listed.map((b) => b.name), ['main'])
  const verify = loom(['replay', db, '--verify'])
  assert.equal(verify.status, 0, verify.stdout + verify.stderr)
  assert.equal(loom(['state', db, '--json']).stdout, before, 'the live branch is unchanged')

  // The next writer removes it, events and all, and says nothing is damaged.
  const log = SqliteLog.open(db, { writerThread: true })
  assert.deepEqual(log.damageAtOpen, [])
  assert.equal(log.branchInfo('copy'), null)
  log.close()
  assert.equal(ownEvents(db, 'copy'), 0)
  // The name is free again, and a whole import is shown.
  const again = loom(['import', db, file, '--name', 'copy'])
  assert.equal(again.status, 0, again.stderr)
  assert.deepEqual((JSON.parse(loom(['branches', db, '--json']).stdout) as { name: string; head: number }[]).map((b) => [b.name, b.head]), [['main', 51], ['copy', 300_001]])
  const verified = loom(['replay', db, '--verify'])
  assert.equal(verified.status, 0, verified.stdout + verified.stderr)
})

test('a branch another live process is still writing is not removed by a writer that opens meanwhile', async () => {
  const db = await history('busy', 10)
  const log = SqliteLog.open(db)
  log.makeBranch('mine', null, true)
  const writer = SqliteLog.open(db, { writerThread: true })
  assert.ok(writer.branchInfo('mine'), 'its writer (this process) is alive: it stays')
  assert.equal(writer.branches().some((b) => b.name === 'mine'), false, 'but it is not listed until finished')
  log.finishBranch('mine')
  assert.equal(writer.branches().some((b) => b.name === 'mine'), true)
  writer.close()
  log.close()
})

test('a damaged unfinished mark is not believed: the branch stays and is shown (opening never deletes on a mark only a hand could make), and a mark with no branch is cleared', async () => {
  const db = await history('marks', 5)
  const log = SqliteLog.open(db)
  log.makeBranch('half', { branch: 'main', seq: 3 }, true)
  log.close()
  const c = new Database(db)
  c.prepare(`UPDATE meta SET value = ? WHERE key = 'unfinished:half'`).run('{not json')
  c.prepare(`INSERT INTO meta (key, value) VALUES ('unfinished:ghost', '{"pid":1}')`).run()
  c.prepare(`INSERT INTO meta (key, value) VALUES ('unfinished:ghost2', ?)`).run('x'.repeat(100_000))
  c.close()
  const writer = SqliteLog.open(db, { writerThread: true })
  assert.ok(writer.branchInfo('half'))
  assert.deepEqual(writer.branches().map((b) => b.name), ['main', 'half'])
  assert.deepEqual(writer.damageAtOpen, [])
  writer.close()
  const r = new Database(db, { readonly: true })
  assert.deepEqual(unfinishedBranches(r), [], 'marks with no branch are cleared, whoever they name; a damaged one is not believed')
  r.close()
})
