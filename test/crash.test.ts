// Acknowledged-then-killed: a real `loom run` under load is killed with
// SIGKILL at seeded random moments; every transaction it acknowledged
// (printed, which happens only after its group commit) must survive.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { seek } from '../engine/replay/seek.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { seededRandom as random } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-crash-'))
const nb = join(dir, 'load.loom.md')
writeFileSync(nb, `# Load

\`\`\`ts #load
const n = state.var('n', 0)
const total = state.counter('total')
export function step() {
  const v = n.get() + 1
  n.set(v)
  total.add(v)
  sys.tty.write(v + '\\n')
}
test('total is the sum 1..n', () => total.get() === (n.get() * (n.get() + 1)) / 2)
\`\`\`
`)
const db = join(dir, 'load.loom.db')


/** Runs the app until it has acknowledged some work, kills it at a random moment after, and returns what it acknowledged. */
function runAndKill(delayMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let armed = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (!armed) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), delayMs)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`loom run ended by itself (${code}): ${err}`))
      // Only whole lines were acknowledged; a torn last line is not counted.
      resolve(out.split('\n').slice(0, -1).map(Number))
    })
  })
}

test('SIGKILL at 20 random moments under load loses no acknowledged transaction and never breaks verification', { timeout: 240_000 }, async () => {
  const next = random(20261121)
  let highest = 0
  // The log's head after the previous round: this round's steps are the events after it.
  let before = 0
  for (let round = 1; round <= 20; round++) {
    const acked = await runAndKill(Math.floor(next() * 250))
    assert.ok(acked.length > 0, `round ${round}: the app acknowledged work before the kill`)
    // It continued exactly where the previous run left off.
    assert.equal(acked[0], highest + 1, `round ${round}: resumed after ${highest}`)
    for (let i = 1; i < acked.length; i++) assert.equal(acked[i], acked[i - 1]! + 1)
    const last = acked.at(-1)!
    const log = SqliteLog.open(db)
    const state = Object.fromEntries(Object.entries(seek(log, { branch: 'main', seq: log.head })).map(([k, v]) => [k, v.value]))
    assert.ok((state.n as number) >= last, `round ${round}: acknowledged ${last}, log has ${state.n}`)
    // Every acknowledged value is an event in the log, with its output (reading the whole log each round cost 8 s).
    const events = log.eventsOf('main', before + 1).filter((e) => e.kind === 'step')
    const printed = new Set(events.map((e) => Number(e.outputs.tty)))
    for (const v of acked) assert.ok(printed.has(v), `round ${round}: acknowledged ${v} is in the log`)
    const verify = await verifyBranch(log, 'main')
    assert.equal(verify.ok, true, `round ${round}: ${JSON.stringify(verify.failure)}`)
    before = log.head
    log.close()
    highest = state.n as number
  }
  const final = spawnSync(process.execPath, ['bin/loom.js', 'replay', db, '--verify'], { encoding: 'utf8' })
  assert.equal(final.status, 0, final.stderr)
})
