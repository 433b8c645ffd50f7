// The writer lock beside a log (NAME.loom.db.lock) as a disk or a hand might leave it:
// garbage, empty, naming a process that is gone, naming one that lives.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { takeWriterLock, LogBusyError } from '../../engine/replay/writerLock.ts'
import { SqliteLog } from '../../engine/replay/sqliteLog.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-lock-'))
const old = Date.now() / 1000 - 60

test('a lock that is garbage or empty and not fresh is taken over; a fresh unreadable one means a writer is starting', () => {
  for (const [i, junk] of ['', '\0\0\xff garbage', '{"pid":"x"}', '[1,2'].entries()) {
    const db = join(dir, `junk-${i}.loom.db`)
    writeFileSync(`${db}.lock`, junk)
    assert.throws(() => takeWriterLock(db), (e: unknown) => e instanceof LogBusyError && /another Loom is starting on it/.test((e as Error).message), `fresh ${JSON.stringify(junk)}`)
    utimesSync(`${db}.lock`, old, old)
    const release = takeWriterLock(db)
    assert.equal(JSON.parse(readFileSync(`${db}.lock`, 'utf8')).pid, process.pid)
    release()
    assert.equal(existsSync(`${db}.lock`), false, 'let go on release')
  }
})

test('a lock naming a process that is gone is taken over; one naming a live process is refused with its pid and command', () => {
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  const db = join(dir, 'gone.loom.db')
  writeFileSync(`${db}.lock`, JSON.stringify({ pid: Number(gone.stdout), command: 'loom run x', since: 0 }))
  takeWriterLock(db)()
  const alive = join(dir, 'alive.loom.db')
  writeFileSync(`${alive}.lock`, JSON.stringify({ pid: process.ppid, command: 'loom serve y', since: 0 }))
  assert.throws(() => takeWriterLock(alive), new RegExp(`being written by another Loom \\(pid ${process.ppid}: loom serve y`))
  // The same process opening again (an engine restarted under one supervisor) shares its own lock.
  const mine = join(dir, 'mine.loom.db')
  const release = takeWriterLock(mine)
  takeWriterLock(mine)()
  assert.equal(existsSync(`${mine}.lock`), true, 'the second holder in the same process does not let go of the first')
  release()
})

test('one process opening its log twice keeps the lock until the last handle closes: closing the first leaves the log locked', () => {
  const db = join(dir, 'twice.loom.db')
  const first = SqliteLog.open(db, { writerThread: true })
  const second = SqliteLog.open(db, { writerThread: true })
  first.close()
  assert.equal(existsSync(`${db}.lock`), true, 'the second handle still writes the log')
  // Another process is still refused while the second handle is open.
  const other = spawnSync(process.execPath, ['--import', 'tsx', '-e', `import('${join(process.cwd(), 'engine/replay/writerLock.ts')}').then((m) => m.takeWriterLock(${JSON.stringify(db)})).then(() => process.exit(0), (e) => { process.stderr.write(e.message); process.exit(3) })`], { encoding: 'utf8' })
  assert.equal(other.status, 3, other.stderr)
  assert.match(other.stderr, new RegExp(`being written by another Loom \\(pid ${process.pid}`))
  second.close()
  assert.equal(existsSync(`${db}.lock`), false, 'let go when the last handle closes')
  first.close()
  assert.equal(existsSync(`${db}.lock`), false)
})
