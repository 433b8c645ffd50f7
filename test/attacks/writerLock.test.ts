// The writer lock beside a log (NAME.loom.db.lock) as a disk or a hand might leave it:
// garbage, empty, naming a process that is gone, naming one that lives.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { takeWriterLock, LogBusyError } from '../../engine/replay/writerLock.ts'

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
