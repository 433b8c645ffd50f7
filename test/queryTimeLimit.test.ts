// loom query's time limit is for each batch of 500 events together: one
// slow at every event is stopped saying so (and answers with a longer
// limit); only an event that runs past the limit alone is called a loop.
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

test('an expression slow at every event is stopped saying the limit ran out over many events together, not blamed as a loop; a longer limit lets it answer', () => {
  const r = loom('query', db, slow('event.seq % 100 === 0'), '--time-limit', '200')
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /the expression ran past 200 ms over events 1\.\.\d+ together \(the limit is for each 500 events\) and was stopped at event \d+: a slow expression needs a longer limit \(loom query --time-limit MS\)/)
  assert.doesNotMatch(r.stderr, /loop/)
  const longer = loom('query', db, slow('event.seq % 100 === 0'), '--time-limit', '60000', '--json')
  assert.equal(longer.status, 0, longer.stderr)
  assert.deepEqual(JSON.parse(longer.stdout).matches.map((m: { seq: number }) => m.seq), [100, 200, 300, 400, 500])
})

test('an expression that runs past the limit at one event alone is stopped there, as a loop', () => {
  const r = loom('query', db, `event.seq === 250 ? (() => { for (;;); })() : false`, '--time-limit', '200')
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /the expression ran past 200 ms at event 250 and was stopped \(a loop that does not end\?\)/)
})
