// loom query's time limit is per batch of events: a batch that runs past it
// as a whole is evaluated again one event at a time, so an expression that
// is slow at every event still answers, and only an event that runs past the
// limit alone is named.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'loom-query-time-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

const nb = join(dir, 'counter.loom.md')
const db = join(dir, 'counter.loom.db')
copyFileSync('samples/counter.loom.md', nb)
assert.equal(loom('run', nb, '--steps', '499', '--no-fsync').status, 0)

// No clock in a question: work of a fixed size, about 2 ms an event here — a hundredth of the limit of 200 ms
// (a margin for a loaded machine), and 500 of them in one batch, five times the limit.
const slow = (then: string) => `(() => { let x = 0; for (let i = 0; i < 2e6; i++) x += i; return x > 0 && ${then} })()`

test('an expression slow at every event, each well within the limit, answers though a batch of them runs past it', () => {
  const r = loom('query', db, slow('event.seq % 100 === 0'), '--time-limit', '200', '--json')
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout).matches.map((m: { seq: number }) => m.seq), [100, 200, 300, 400, 500])
})

test('an expression that runs past the limit at one event alone is stopped there, naming it', () => {
  const r = loom('query', db, `event.seq === 250 ? (() => { for (;;); })() : ${slow('false')}`, '--time-limit', '200')
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /the expression ran past 200 ms at event 250 and was stopped/)
})
