import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { Engine } from '../engine/runtime/engine.ts'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { plain } from './helpers.ts'

const SAMPLES = readdirSync('samples').filter((f) => f.endsWith('.loom.md')).sort()
const loom = (args: string[], input?: string) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', input: input ?? '' })

/** What each sample must do, seen from outside, after `steps` steps (or until it halts or waits). */
const EXPECT: Record<string, { input?: string; drive?: (e: Engine) => Promise<void>; check: (e: Engine, tty: string) => void }> = {
  'bank.loom.md': {
    check: (e, tty) => {
      assert.deepEqual(plain(e.state().accounts!.value), { alice: 115, bob: 20, carol: 15 })
      assert.equal(e.state().refused!.value, 1)
      assert.match(tty, /refused: carol has 60, cannot send 100/)
      assert.match(e.waiting!, /queue 'transfers' is empty/)
    },
  },
  'counter.loom.md': { check: (e) => assert.equal(e.state().count!.value, 1000) },
  'diehard.loom.md': {
    check: (e) => {
      assert.equal(e.status, 'paused', 'some pour is always possible: 1000 steps all commit')
      assert.ok((e.state().big!.value as number) <= 5 && (e.state().small!.value as number) <= 3)
    },
  },
  'ewd840.loom.md': {
    // Nodes wake each other until all are passive and node 0 has seen a white round: then nothing moves.
    check: (e) => {
      assert.ok(e.waiting, 'nothing can move')
      assert.deepEqual(plain(e.state().active!.value), [false, false, false])
      assert.deepEqual([e.state().tpos!.value, e.state().tcolor!.value, (plain(e.state().color!.value) as string[])[0]], [0, 'white', 'white'], 'termination detected')
    },
  },
  'echo.loom.md': {
    input: 'hello\nloom\n',
    check: (e, tty) => {
      assert.equal(tty, 'HELLO\nLOOM\n')
      assert.equal(e.state().lines!.value, 2)
    },
  },
  'jobs.loom.md': {
    drive: async (e) => {
      const call = (method: string, path: string, body = '', query: Record<string, string> = {}) => e.request({ method, path, query, headers: {}, body })
      const posted = await call('POST', '/jobs', '{"n": 20000}')
      assert.equal(posted.status, 303)
      assert.equal(posted.headers.location, '/jobs/1')
      assert.equal((await call('POST', '/jobs', '{"n": "lots"}')).status, 400)
      // The waiting GET commits only once the worker has done the job.
      const result = call('GET', '/jobs/1', '', { wait: '1' })
      await new Promise((resolve) => setImmediate(resolve))
      await e.run({ untilIdle: true })
      const done = await result
      assert.equal(done.status, 200)
      assert.deepEqual(JSON.parse(done.body), { id: 1, n: 20000, status: 'done', primes: 2262 })
    },
    check: (e) => {
      const kinds = e.events().map((x) => x.kind)
      assert.deepEqual(kinds, ['code', 'http', 'http', 'step', 'http'], 'a 400 is a committed answer too')
      assert.ok(e.attempts().some((a) => a.kind === 'http' && a.reason === 'job 1 is queued'))
    },
  },
  'paxos-commit.loom.md': {
    check: (e) => {
      assert.equal(e.status, 'paused', 'a leader can always act: 1000 steps all commit')
      assert.ok((e.state().msgs!.value as unknown[]).length > 3, 'messages were sent')
    },
  },
  'philosophers.loom.md': {
    check: (e) => {
      assert.equal(e.status, 'paused', 'never deadlocks: 1000 steps all commit')
      const meals = plain(e.state().meals!.value) as Record<string, number>
      assert.deepEqual(Object.keys(meals).sort(), ['0', '1', '2', '3', '4'], 'every philosopher eats')
    },
  },
  'timer.loom.md': {
    check: (e, tty) => {
      assert.equal(e.status, 'halted')
      assert.equal(tty, 'tick 1 (0 ms late)\ntick 2 (0 ms late)\ntick 3 (0 ms late)\n')
      const times = e.events().filter((x) => x.kind === 'step').map((x) => x.time)
      assert.deepEqual(times.map((t) => t - times[0]!), [0, 200, 400])
    },
  },
  'todo.loom.md': {
    drive: async (e) => {
      const call = (method: string, path: string, body = '') => e.request({ method, path, query: {}, headers: {}, body })
      assert.equal((await call('POST', '/todos', '{"title":"write docs"}')).status, 201)
      assert.equal((await call('POST', '/todos', '{"title":"ship"}')).status, 201)
      assert.equal((await call('POST', '/todos', 'not json')).status, 400)
      assert.equal((await call('POST', '/todos/1/done')).status, 200)
      assert.equal((await call('DELETE', '/todos/2')).status, 204)
      const list = await call('GET', '/todos')
      assert.deepEqual(JSON.parse(list.body), [{ id: 1, title: 'write docs', done: true }])
      assert.match((await call('GET', '/')).body, /<title>Todo<\/title>/)
    },
    check: (e) => {
      assert.equal(e.events().filter((x) => x.kind === 'http').length, 7)
      assert.equal(e.state().nextId!.value, 3)
    },
  },
  'reservations.loom.md': {
    // One request per batch: the seat is sold once. Two in one batch oversell (test/story.test.ts).
    drive: async (e) => {
      const call = (method: string, path: string, body = '') => e.request({ method, path, query: {}, headers: {}, body })
      const ann = await call('POST', '/reserve', '{"name":"ann"}')
      assert.equal(ann.status, 201)
      assert.deepEqual(JSON.parse(ann.body), { id: 1, name: 'ann', status: 'held' })
      // Bad input is a 400 that says what to send, never a hold or a crash: garbage, nulls, blanks, deep nesting.
      const deep = '['.repeat(5000) + ']'.repeat(5000)
      for (const body of ['not json', '', 'null', '{"name":null}', '{"name":"   "}', '{"name":{"first":"ann"}}', deep, '['.repeat(100_000)]) {
        const r = await call('POST', '/reserve', body)
        assert.equal(r.status, 400, body.slice(0, 40))
        assert.match(r.body, /send \{\\"name\\": \\"…\\"\} as JSON/)
      }
      assert.equal((await call('DELETE', '/reserve')).status, 404)
      await e.run({ steps: 10, untilIdle: true })
      assert.equal((await call('POST', '/reserve', '{"name":"bob"}')).status, 409)
      const seats = JSON.parse((await call('GET', '/seats')).body)
      assert.deepEqual(seats, { seats: 0, holds: [], reservations: [{ id: 1, name: 'ann', status: 'confirmed' }] })
    },
    check: (e) => {
      const events = e.events()
      assert.deepEqual(events.map((x) => x.kind), ['code', 'http', ...Array(9).fill('http'), 'step', 'http', 'http'])
      assert.equal(events[11]!.time - events[1]!.time, 2000, 'the batch is confirmed two seconds after its first hold')
      assert.equal(e.state().nextId!.value, 2, 'only the one good request took an id')
    },
  },
  'tcommit.loom.md': {
    check: (e) => {
      assert.ok(e.waiting, 'every RM decided: nothing can move')
      const rms = Object.values(plain(e.state().rmState!.value) as Record<string, string>)
      assert.ok(rms.every((s) => s === 'committed') || rms.every((s) => s === 'aborted'), rms.join())
    },
  },
  'twophase.loom.md': {
    check: (e) => {
      assert.equal(e.status, 'paused', 'an RM can always receive the decision again')
      const rms = Object.values(plain(e.state().rmState!.value) as Record<string, string>)
      assert.ok(rms.every((s) => s === (e.state().tmState!.value === 'committed' ? 'committed' : 'aborted')) || e.state().tmState!.value === 'init', rms.join())
    },
  },
  'tickets-race.loom.md': {
    // This run is the lucky interleaving; test/explore.test.ts shows exploration finding the unlucky one.
    check: (e, tty) => {
      assert.equal(e.status, 'halted')
      assert.equal(e.state().sold!.value, 1)
      assert.equal(tty, 'ann bought a ticket\n')
    },
  },
  'tickets.loom.md': {
    check: (e, tty) => {
      assert.equal(e.status, 'halted')
      assert.equal(e.state().sold!.value, 1)
      assert.match(tty, /^(ann|bob) bought a ticket\n(ann|bob) was too late\n$/)
    },
  },
  'tictactoe.loom.md': {
    check: (e, tty) => {
      assert.equal(e.status, 'halted')
      assert.ok(['X', 'O', 'draw'].includes(e.state().winner!.value as string))
      assert.match(tty, /(X wins|O wins|a draw)\n$/)
    },
  },
}

async function runSample(file: string) {
  const text = readFileSync(`samples/${file}`, 'utf8')
  const e = await Engine.fromSource(text, { path: file, clock: 'virtual', startTime: 1_700_000_000_000, checkTests: true })
  let tty = ''
  e.on('tty', (t) => (tty += t))
  if (EXPECT[file]?.input) e.input(EXPECT[file]!.input!)
  await e.run({ steps: 1000, untilIdle: true })
  await EXPECT[file]?.drive?.(e)
  return { e, tty }
}

test('every sample has a check here', () => {
  assert.deepEqual(SAMPLES, Object.keys(EXPECT).sort())
})

test("every port a sample's prose names is the one its front matter serves", () => {
  for (const file of SAMPLES) {
    const text = readFileSync(`samples/${file}`, 'utf8')
    const port = parseNotebook(text, file).settings.http
    for (const m of text.matchAll(/(?:127\.0\.0\.1|localhost):(\d+)/g)) assert.equal(Number(m[1]), port, `${file} names port ${m[1]}`)
  }
})

for (const file of SAMPLES) {
  test(`sample ${file} runs, does what its prose says, and its tests hold after every step`, async () => {
    const { e, tty } = await runSample(file)
    assert.deepEqual(e.testFailures, [])
    EXPECT[file]!.check(e, tty)
  })

  test(`sample ${file} is deterministic: two runs of 1,000 steps from scratch log identical events`, async () => {
    const one = (await runSample(file)).e.events()
    const two = (await runSample(file)).e.events()
    assert.ok(one.length > 3)
    // How long each took and waited (the profile's timings, a request's latency) are kept beside the event, outside its hash: they may differ.
    const logged = (events: typeof one) => plain(events.map(({ duration: _d, latency: _l, ...e }) => e))
    assert.deepEqual(logged(two), logged(one))
    assert.equal(two.at(-1)!.hash, one.at(-1)!.hash, 'same hash chain')
  })

  test(`loom test samples/${file} --steps 200 passes`, () => {
    const r = loom(['test', `samples/${file}`, '--steps', '200'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /tests? passed after \d+ events?/)
  })
}
