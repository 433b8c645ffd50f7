// A lost WAL loses acknowledged events silently unless something outside the
// WAL remembers them. A real `loom run` is killed with SIGKILL once it has
// acknowledged work; then its WAL is deleted, or truncated at seeded random
// points. No acknowledged event may go missing unreported: either it is in the
// log, or `loom replay --verify` exits 1 naming the missing range.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, copyFileSync, existsSync, statSync, truncateSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteLog } from '../../engine/replay/sqliteLog.ts'
import { seededRandom } from '../helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-wal-'))
const nb = join(dir, 'count.loom.md')
writeFileSync(nb, `# Count

\`\`\`ts #count
const n = state.var('n', 0)
export function step() {
  const v = n.get() + 1
  n.set(v)
  sys.tty.write(v + '\\n')
}
\`\`\`
`)
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })

/** Runs the app until it has printed (acknowledged) `lines` values, kills it with SIGKILL, and returns what it acknowledged. */
function runAndKill(db: string, lines: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (out.split('\n').length > lines) child.kill('SIGKILL')
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') return reject(new Error(`loom run ended by itself (${code}): ${err}`))
      // Only whole lines were acknowledged.
      resolve(out.split('\n').slice(0, -1).map(Number))
    })
  })
}

let copies = 0
/** A copy of the killed run's files (log, WAL, shared memory, heads record) to attack. */
function copyOf(db: string): string {
  const to = join(dir, `attack-${++copies}.loom.db`)
  for (const suffix of ['', '-wal', '-shm', '.heads']) if (existsSync(db + suffix)) copyFileSync(db + suffix, to + suffix)
  return to
}

/** Checks the promise: every acknowledged value is in the log, or verify exits 1 naming a range that holds it. */
function checkNothingLostUnreported(db: string, acked: number[], what: string): 'intact' | 'reported' {
  const verify = loom(['replay', db, '--verify'])
  assert.doesNotMatch(verify.stderr, /\n\s+at /, `${what}: no stack trace`)
  // Seq s holds n = s - 1 (event 1 is the code event); the value v was printed by event v + 1.
  const needed = acked.length ? acked.at(-1)! + 1 : 0
  let head = 0
  try {
    const log = SqliteLog.open(db, { create: false })
    head = log.head
    log.db.close()
  } catch {
    head = 0 // the log cannot even be opened: verify must have said what was acknowledged
  }
  if (verify.status === 0) {
    assert.ok(head >= needed, `${what}: verify passed, so every acknowledged event must be there (head ${head}, acknowledged up to event ${needed})`)
    const state = JSON.parse(loom(['state', db, '--json']).stdout)
    assert.ok(state.n >= acked.at(-1)!, `${what}: acknowledged ${acked.at(-1)}, the log has n = ${state.n}`)
    return 'intact'
  }
  assert.equal(verify.status, 1, `${what}: ${verify.stderr}`)
  if (head >= needed) return 'reported' // damage of another kind (a torn page), named; nothing acknowledged is missing
  const m = /branch 'main': events? (\d+)(?:\.\.(\d+))? (?:was|were) acknowledged \(record in [^)]*\.heads\) but (?:(?:is|are) missing from|cannot be read from) the log — the WAL file was lost or truncated/.exec(verify.stderr)
  assert.ok(m, `${what}: verify names the missing acknowledged events: ${verify.stderr}`)
  const from = Number(m[1])
  const to = Number(m[2] ?? m[1])
  assert.ok(from <= head + 1, `${what}: the missing range starts where the log ends (${from}, head ${head})`)
  assert.ok(to >= needed, `${what}: the missing range covers every acknowledged event (to ${to}, acknowledged up to ${needed})`)
  return 'reported'
}

test('SIGKILL, then the WAL deleted or truncated at seeded random points: no acknowledged event goes missing unreported', { timeout: 180_000 }, async () => {
  const next = seededRandom(20261204)
  const outcomes: string[] = []
  for (let round = 1; round <= 2; round++) {
    const db = join(dir, `run-${round}.loom.db`)
    const acked = await runAndKill(db, 2_000 + Math.floor(next() * 20_000))
    assert.ok(acked.length > 0, 'the app acknowledged work before the kill')
    assert.ok(existsSync(db + '-wal') && statSync(db + '-wal').size > 0, 'after SIGKILL the acknowledged history is (partly) only in the WAL')
    assert.ok(existsSync(db + '.heads'), 'the heads record is beside the log')
    // As killed: everything acknowledged is there.
    assert.equal(checkNothingLostUnreported(copyOf(db), acked, `round ${round}, as killed`), 'intact')
    // The WAL deleted.
    const deleted = copyOf(db)
    rmSync(deleted + '-wal')
    outcomes.push(checkNothingLostUnreported(deleted, acked, `round ${round}, WAL deleted`))
    // The WAL truncated at random points (a copy made mid-write, a full disk, a careless tool).
    const size = statSync(db + '-wal').size
    for (let i = 0; i < 4; i++) {
      const cut = copyOf(db)
      const at = Math.floor(next() * size)
      truncateSync(cut + '-wal', at)
      outcomes.push(checkNothingLostUnreported(cut, acked, `round ${round}, WAL truncated at ${at} of ${size}`))
    }
  }
  assert.ok(outcomes.includes('reported'), `at least one attack lost acknowledged events, and verify said so: ${outcomes}`)
})

test('a log whose heads record is missing (an older Loom, or removed) opens and verifies, and says it cannot detect a lost WAL', async () => {
  const db = join(dir, 'no-record.loom.db')
  const acked = await runAndKill(db, 500)
  rmSync(db + '.heads')
  const verify = loom(['replay', db, '--verify'])
  assert.equal(verify.status, 0, verify.stderr)
  assert.match(verify.stderr, /has no record of acknowledged events .*a lost WAL cannot be detected/)
  const log = loom(['log', db, '--limit', '1'])
  assert.equal(log.status, 0, log.stderr)
  // A run continues, says so, and starts the record again.
  const run = loom(['run', nb, '--db', db, '--steps', '3'])
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stderr, /has no record of acknowledged events .*which starts the record/)
  assert.ok(existsSync(db + '.heads'))
  assert.ok(acked.length > 0)
})

test('a damaged heads record is reported by verify (exit 1), never a crash, and a run refuses until it is moved aside', async () => {
  const db = join(dir, 'bad-record.loom.db')
  await runAndKill(db, 300)
  for (const [name, bytes] of [['garbage', Buffer.from('not a record at all\n'.repeat(20))], ['newer', Buffer.from('loom-heads 99 '.padEnd(255) + '\n')]] as const) {
    const copy = copyOf(db)
    writeFileSync(copy + '.heads', bytes)
    const verify = loom(['replay', copy, '--verify'])
    assert.equal(verify.status, 1, `${name}: ${verify.stderr}`)
    assert.match(verify.stderr, /the record of acknowledged events \(.*\.heads\) cannot be read/)
    assert.doesNotMatch(verify.stderr, /\n\s+at /)
    const run = loom(['run', nb, '--db', copy, '--steps', '1'])
    assert.equal(run.status, 2, run.stderr)
    assert.match(run.stderr, /move the record aside/)
  }
  // One slot's two copies both damaged: that branch's record is reported damaged.
  const copy = copyOf(db)
  const { readFileSync } = await import('node:fs')
  const record = readFileSync(copy + '.heads')
  record.write('XX', 256 + 2)
  record.write('XX', 512 + 2)
  writeFileSync(copy + '.heads', record)
  const verify = loom(['replay', copy, '--verify'])
  assert.equal(verify.status, 1, verify.stderr)
  assert.match(verify.stderr, /is damaged for branch 'main'/)
})
