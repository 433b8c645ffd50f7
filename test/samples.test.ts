import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Engine } from '../engine/runtime/engine.ts'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { plain, allowEffects } from './helpers.ts'

const SAMPLES = readdirSync('samples').filter((f) => f.endsWith('.loom.md')).sort()
const loom = (args: string[], input?: string) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', input: input ?? '' })

/**
 * What each sample must do, seen from outside, after `steps` steps (or until it halts or waits);
 * `env` as `--env` gives it, and the fewest events two runs must log alike (default 4).
 */
const EXPECT: Record<string, { input?: string; env?: Record<string, string>; events?: number; drive?: (e: Engine) => Promise<void>; check: (e: Engine, tty: string) => void }> = {
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
  // No runner performs its actions here (test/samples.test.ts runs it against the real payment service below): the first charge waits.
  'orders.loom.md': {
    env: { PAYMENTS: 'http://127.0.0.1:9' },
    events: 2,
    check: (e) => {
      assert.equal((plain(e.state().orders!.value) as Record<string, { status: string }>).A1!.status, 'charging')
      assert.deepEqual(plain(e.state().charges!.value), { '2.0': { order: 'A1', key: 'order-A1' } })
      assert.match(e.waiting!, /waiting for the payment service/)
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
  const e = await Engine.fromSource(text, { path: file, clock: 'virtual', startTime: 1_700_000_000_000, checkTests: true, ...(EXPECT[file]?.env ? { env: EXPECT[file]!.env } : {}) })
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
    // A port handed to the app with --env (NAME=http://127.0.0.1:P) is another service's, which the app calls.
    const others = new Set([...text.matchAll(/=https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)/g)].map((m) => Number(m[1])))
    for (const m of text.matchAll(/(?:127\.0\.0\.1|localhost):(\d+)/g)) if (!others.has(Number(m[1]))) assert.equal(Number(m[1]), port, `${file} names port ${m[1]}`)
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
    assert.ok(one.length >= (EXPECT[file]!.events ?? 4))
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

/** Starts samples/payments-server.mjs on a free port: the origin it prints, and how to stop it. */
async function paymentsServer(): Promise<{ origin: string; stop: () => void }> {
  const child = spawn(process.execPath, ['samples/payments-server.mjs', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const origin = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => (child.kill(), reject(new Error(`the payment service printed no origin: ${out}`))), 30_000)
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      out += t
      const m = /payments on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) (clearTimeout(timer), resolve(m[1]!))
    })
  })
  return { origin, stop: () => child.kill() }
}

/** The `$ npx loom …` blocks of a sample's prose: the arguments, and the lines it says come out (`…`: anything). */
function shownRuns(text: string): { args: string[]; lines: string[] }[] {
  return [...text.matchAll(/```\n\$ npx loom (.*)\n([\s\S]*?)```/g)].map((m) => ({ args: m[1]!.split(' '), lines: m[2]!.split('\n').filter((l) => l && l.trim() !== '…') }))
}

/** Every line the prose shows is in `out`, in order; `…` inside a line stands for anything. */
function showsTrue(lines: string[], out: string): void {
  const got = out.split('\n')
  let at = 0
  for (const line of lines) {
    const re = new RegExp('^' + line.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$')
    while (at < got.length && !re.test(got[at]!)) at++
    assert.ok(at < got.length, `the prose shows\n${line}\nbut loom printed\n${out}`)
    at++
  }
}

test('sample orders.loom.md: loom run against the real payment service charges each order once and writes its receipt; the bug and the fix explore as its prose shows', async () => {
  const root = mkdtempSync(join(tmpdir(), 'loom-orders-'))
  try {
    mkdirSync(join(root, 'samples', 'receipts'), { recursive: true })
    const text = readFileSync('samples/orders.loom.md', 'utf8')
    const path = join(root, 'samples', 'orders.loom.md')
    writeFileSync(path, text)
    await allowEffects(path)
    const srv = await paymentsServer()
    try {
      const r = loom(['run', path, '--env', `PAYMENTS=${srv.origin}`, '--until-idle'])
      assert.equal(r.status, 0, r.stdout + r.stderr)
      const charges = (await (await fetch(`${srv.origin}/charges`)).json()) as { order: string; amount: number }[]
      assert.deepEqual(charges.map((c) => [c.order, c.amount]), [['A1', 30], ['B2', 45]])
    } finally {
      srv.stop()
    }
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'samples', 'receipts', 'A1.json'), 'utf8')), { order: 'A1', amount: 30, payment: JSON.stringify({ charge: 1, order: 'A1', amount: 30 }) })
    assert.ok(existsSync(join(root, 'samples', 'receipts', 'B2.json')))
    const state = JSON.parse(loom(['state', join(root, 'samples', 'orders.loom.db'), '--json']).stdout) as { orders: Record<string, { status: string }> }
    assert.deepEqual(Object.values(state.orders).map((o) => o.status), ['done', 'done'])

    // The first version, as the prose's diff shows it: its explore finds the double charge the prose prints; the fix's finds nothing.
    const diff = /```diff\n([\s\S]*?)```/.exec(text)![1]!.split('\n')
    const side = (sign: string) => diff.filter((l) => l.startsWith(sign)).map((l) => l.slice(1)).join('\n')
    assert.ok(text.includes(side('+')), 'the diff ends in the code as it is')
    const [bug, fix] = shownRuns(text)
    writeFileSync(path, text.replace(side('+'), side('-')))
    const b = spawnSync(process.execPath, [join(process.cwd(), 'bin/loom.js'), ...bug!.args], { cwd: root, encoding: 'utf8' })
    assert.equal(b.status, 1, b.stdout + b.stderr)
    showsTrue(bug!.lines, b.stdout)
    writeFileSync(path, text)
    const f = spawnSync(process.execPath, [join(process.cwd(), 'bin/loom.js'), ...fix!.args], { cwd: root, encoding: 'utf8' })
    assert.equal(f.status, 0, f.stdout + f.stderr)
    showsTrue(fix!.lines, f.stdout)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
