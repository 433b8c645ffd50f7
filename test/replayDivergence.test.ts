// Replay with the fixed code, on the command line: a real `loom run` serving
// real HTTP records the oversell of test/fixtures/seats.loom.md, then
// `loom replay --code` with the fix says each divergence the user's way (the
// answer first, then the changes per state and key) and numbers it by its
// event on the new branch; a transaction that no longer commits says where it
// would have come.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeOutcome, describeNoCommit } from '../engine/replay/describeDivergence.ts'
import type { EventRecord } from '../engine/runtime/event.ts'
import { BUG, FIX, FIXTURE, oversell } from './seatsStory.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-replay-div-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

test('loom replay --code with the fix numbers each divergence by its event on the new branch and says it in words: the answer, then the seats and holds', async () => {
  const nb = join(dir, 'seats.loom.md')
  const db = join(dir, 'seats.loom.db')
  writeFileSync(nb, readFileSync(FIXTURE, 'utf8'))
  const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--port', '0', '--keep-going', '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  try {
    const app = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL: ${err}`)), 60_000)
      child.stderr.on('data', () => {
        const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(err)
        if (m) (clearTimeout(timer), resolve(m[1]!))
      })
    })
    await oversell(app, async () => ((await (await fetch(`${app}/sys/state`)).json()) as { state: { seats: number; holds: Record<string, string> } }).state)
  } finally {
    child.kill('SIGINT')
    await new Promise((r) => child.once('exit', r))
  }
  // 1 the code, 2–3 the holds, 4 the close, 5–6 the confirmations (the test fails after 6), 7 the look.
  const recorded = JSON.parse(loom('log', db, '--json').stdout) as EventRecord[]
  assert.deepEqual(recorded.map((e) => e.kind), ['code', 'http', 'http', 'http', 'step', 'step', 'http'])

  const fixed = join(dir, 'fixed.loom.md')
  writeFileSync(fixed, readFileSync(nb, 'utf8').replace(BUG, FIX))
  const r = loom('replay', db, '--code', fixed, '--onto', 'fixed', '--json')
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { inputs: number; diverged: number; divergences: { seq: number; now: number | null; after?: number; what: string }[] }
  assert.equal(out.inputs, 6, r.stdout)
  assert.deepEqual(out.divergences.map((d) => [d.seq, d.now]), [[3, 3], [6, null], [7, 6]], 'the second hold at 3 on both; the second confirmation no longer commits; the look is event 6 of the new branch')
  const [hold, confirm, look] = out.divergences
  assert.equal(hold!.what, 'answered 409 instead of 201 (now {"error":"sold out"}); holds["bob"]: none → "bob" recorded, unchanged now')
  assert.equal(confirm!.after, 5)
  assert.equal(confirm!.what, "it no longer commits (nothing is held); on 'fixed' it would have come after event 5")
  assert.equal(look!.what, 'answered 200 with seats: 0 instead of -1')
  const events = JSON.parse(loom('log', db, '--branch', 'fixed', '--json').stdout) as EventRecord[]
  assert.equal(events.length, 6, 'the new branch ends at the look, event 6: every mark is on it')
  assert.equal(events[5]!.kind, 'http')

  // The words without --json: the first divergence, numbered on the recorded branch.
  const text = loom('replay', db, '--code', fixed)
  assert.equal(text.status, 0, text.stderr)
  assert.match(text.stdout, /re-ran 6 recorded transactions of 'main' with .*fixed\.loom\.md: 3 came out differently; the first is event 3 \(http\): answered 409 instead of 201 \(now \{"error":"sold out"\}\); holds\["bob"\]: none → "bob" recorded, unchanged now\n/)
  assert.doesNotMatch(text.stdout, /"op":/, 'no raw writes')
})

/** A recorded event and its re-run, differing as asked. */
function pair(recorded: Partial<EventRecord>, now: Partial<EventRecord>): [EventRecord, EventRecord] {
  const base: EventRecord = { branch: 'main', seq: 2, kind: 'step', method: 'step', input: null, choices: [], time: 0, codeHash: 'c', reads: [], writes: [], outputs: {}, parentHash: '', hash: '' }
  return [{ ...base, ...recorded }, { ...base, ...now }]
}

test('a divergence is told from the value before: a var, a map entry, a counter, a queue; printed text as text', () => {
  const before = new Map<string, unknown>([['seats', 0], ['holds["ann"]', undefined], ['hits', 4]]) as Map<string, null>
  const [a, b] = pair(
    { writes: [{ state: 'seats', op: 'set', value: -1 }, { state: 'holds', op: 'set', key: 'ann', value: 'ann' }, { state: 'hits', op: 'add', value: 1 }], outputs: { tty: 'sold\n' } },
    { writes: [{ state: 'hits', op: 'add', value: 2 }, { state: 'jobs', op: 'queue', take: 1, push: [7] }], outputs: { tty: 'none left\n' } },
  )
  assert.equal(describeOutcome(a, b, before), 'seats: 0 → -1 recorded, unchanged now, holds["ann"]: none → "ann" recorded, unchanged now, hits: 4 → 5 recorded, 4 → 6 now, and 1 more; printed "none left\\n" instead of "sold\\n"')
  assert.equal(describeOutcome(a, a, before), null, 'the same outcome is no divergence')
  // A JSON answer: the fields that differ, a long list by its length.
  const booked = (n: number) => JSON.stringify({ seats: 1 - n, list: Array.from({ length: n }, (_, i) => ({ id: i, name: `guest ${i}` })), at: 5 })
  const [x, y] = pair({ kind: 'http', outputs: { http: { status: 200, body: booked(2) } } }, { kind: 'http', outputs: { http: { status: 200, body: booked(1) } } })
  assert.equal(describeOutcome(x, y), 'answered 200 with seats: 0 instead of -1, list: [{"id":0,"name":"guest 0"}] instead of 2 items')
  // Without the value before (it drifted since an earlier divergence): what it went to.
  assert.equal(describeOutcome(a, b), 'seats: → -1 recorded, unchanged now, holds["ann"]: → "ann" recorded, unchanged now, hits: +1 recorded, +2 now, and 1 more; printed "none left\\n" instead of "sold\\n"')
})

test('hostile outcomes are described in bounded words: huge and deeply nested values, nulls, thousands of keys, writes in another order', () => {
  let deep: unknown = 'bottom'
  for (let i = 0; i < 1000; i++) deep = { d: deep } // as deep as a value the log can hash
  const huge = 'x'.repeat(1_000_000)
  const many = Array.from({ length: 5000 }, (_, i) => ({ state: 'm', op: 'set' as const, key: `k${i}`, value: null }))
  const cases: [Partial<EventRecord>, Partial<EventRecord>][] = [
    [{ writes: [{ state: 'v', op: 'set', value: huge }] }, { writes: [{ state: 'v', op: 'set', value: null }] }],
    [{ outputs: { http: { status: 200, body: huge } } }, { outputs: { http: { status: 200, body: { a: null } } } }],
    [{ outputs: { http: null } }, { outputs: { http: 'garbage' } }],
    [{ writes: many }, { writes: [] }],
    [{ outputs: { tty: huge } }, { outputs: {} }],
    [{ outputs: { logs: [{ channel: 'c', message: huge }] } }, { outputs: { logs: [] } }],
    [{ writes: [{ state: 'a', op: 'set', value: 1 }, { state: 'b', op: 'set', value: 2 }] }, { writes: [{ state: 'b', op: 'set', value: 2 }, { state: 'a', op: 'set', value: 1 }] }],
    [{ outputs: { halt: true } }, { outputs: {} }],
  ]
  for (const [x, y] of cases) {
    const [a, b] = pair(x, y)
    const what = describeOutcome(a, b)
    assert.ok(what && what.length <= 400, `bounded: ${what?.slice(0, 80)}`)
    assert.doesNotMatch(what!, /"op":/)
  }
  const [a, b] = pair({ writes: [{ state: 'v', op: 'set', value: deep as null }] }, {})
  assert.ok(describeOutcome(a, b)!.length <= 400)
  assert.equal(describeOutcome(...pair({ writes: many }, {}))!.endsWith('and 4997 more'), true)
  assert.equal(describeNoCommit('x'.repeat(10_000), 'b', 3).length, 400)
})
