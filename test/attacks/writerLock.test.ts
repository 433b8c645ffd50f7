// The writer lock beside a log (NAME.loom.db.lock) as a disk or a hand might leave it:
// garbage, empty, naming a process that is gone, naming one that lives.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
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

test('one process naming its log relatively and absolutely holds one lock: letting go of one name does not unlock the other', () => {
  const db = join(dir, 'named-twice.loom.db')
  const byRelative = takeWriterLock(relative(process.cwd(), db))
  const byFull = takeWriterLock(db)
  byRelative()
  assert.equal(existsSync(`${db}.lock`), true, 'still held through the other name')
  byFull()
  assert.equal(existsSync(`${db}.lock`), false)
})

test('loom serve on a log another Loom writes says who, exit 2, before printing an address that would serve nothing', () => {
  const nb = join(dir, 'served.loom.md')
  writeFileSync(nb, '```ts\nconst n = state.var(\'n\', 0)\n```\n')
  writeFileSync(join(dir, 'served.loom.db.lock'), JSON.stringify({ pid: process.pid, command: 'loom serve served.loom.md', since: 0 }))
  const r = spawnSync(process.execPath, ['bin/loom.js', 'serve', nb, '--port', '0'], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 2, r.stdout + r.stderr)
  assert.equal(r.stdout, '', 'no address printed')
  assert.match(r.stderr, new RegExp(`being written by another Loom \\(pid ${process.pid}: loom serve served\\.loom\\.md`))
})

test('loom serve stopped (SIGTERM) while its engine starts ends normally and leaves no lock behind', async () => {
  const { spawn } = await import('node:child_process')
  const nb = join(dir, 'stopped-early.loom.md')
  writeFileSync(nb, '```ts\nconst n = state.var(\'n\', 0)\n```\n')
  const serve = spawn(process.execPath, ['bin/loom.js', 'serve', nb, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  serve.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
  const exited = new Promise<[number | null, string | null]>((resolve) => serve.on('exit', (code, signal) => resolve([code, signal])))
  // As soon as the address is printed: the page may load while the engine process still opens the log.
  await new Promise<void>((resolve) => serve.stdout.setEncoding('utf8').on('data', (t: string) => ((out += t), /serving/.test(out) && resolve())))
  serve.kill('SIGTERM')
  assert.deepEqual(await exited, [0, null], err)
  assert.match(err, /loom: stopped; everything committed is in the log/)
  assert.equal(existsSync(join(dir, 'stopped-early.loom.db.lock')), false)
})
