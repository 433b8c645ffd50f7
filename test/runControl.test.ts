// The run-control state machine, driven through the engine API: every
// transition a user can cause (Run, Pause, Step, a wait, a wake, a halt).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, value } from './helpers.ts'
import type { Engine, EngineStatus } from '../engine/runtime/engine.ts'
import { TRANSITIONS } from '../engine/runtime/control/runControl.ts'

/** A bank of one queue: each step takes a job, so the loop waits (parks) whenever the queue is empty. */
const JOBS = {
  jobs: `const jobs = state.queue<number>('jobs', [1])
const done = state.counter('done')
export function step() { done.add(jobs.take()) }`,
}

/** Every status the listeners hear, in order. */
function heard(e: Engine): EngineStatus[] {
  const seen: EngineStatus[] = []
  e.on('status', (s) => seen.push(s))
  return seen
}

/** Resolves when the engine reports `status`. */
function reaches(e: Engine, status: EngineStatus): Promise<void> {
  return new Promise((resolve) => {
    if (e.status === status) return resolve()
    const off = e.on('status', (s) => {
      if (s === status) {
        off()
        resolve()
      }
    })
  })
}

test('a new app is ready, and Pause before Run leaves it paused', async () => {
  const e = await open(JOBS)
  assert.equal(e.status, 'ready')
  e.pause()
  assert.equal(e.status, 'paused')
})

test('Run goes from running to parked when the step waits, and Pause works while it is parked', async () => {
  const e = await open(JOBS)
  const seen = heard(e)
  const loop = e.run()
  await reaches(e, 'parked')
  assert.match(e.waiting ?? '', /queue 'jobs' is empty/)
  e.pause()
  assert.equal(e.status, 'paused', 'Pause answers at once, even while the app waits')
  const summary = await loop
  assert.equal(summary.status, 'paused')
  assert.match(e.waiting ?? '', /queue 'jobs' is empty/, 'paused, it still says what the next step waits for')
  assert.deepEqual(seen, ['running', 'parked', 'paused'])
})

test('a parked app runs again when what it waits for commits, then parks again', async () => {
  const e = await open(JOBS)
  const loop = e.run()
  await reaches(e, 'parked')
  const seen = heard(e)
  e.edit([{ state: 'jobs', push: 5 }])
  await reaches(e, 'running')
  await reaches(e, 'parked')
  assert.equal(value(e, 'done'), 6)
  e.pause()
  await loop
  assert.deepEqual(seen, ['running', 'parked', 'paused'])
})

test('a paused app does not wake when what it waits for commits; Run goes on', async () => {
  const e = await open(JOBS)
  const loop = e.run()
  await reaches(e, 'parked')
  e.pause()
  await loop
  e.edit([{ state: 'jobs', push: 5 }])
  assert.equal(e.status, 'paused')
  assert.equal(value(e, 'done'), 1)
  const again = e.run()
  await reaches(e, 'parked')
  assert.equal(value(e, 'done'), 6)
  e.pause()
  await again
})

test('Step leaves the app paused, from ready and from paused, saying what the next step waits for', async () => {
  const e = await open(JOBS)
  assert.ok(e.step(), 'the first step commits')
  assert.equal(e.status, 'paused')
  assert.equal(e.step(), null, 'the next one waits')
  assert.equal(e.status, 'paused')
  assert.match(e.waiting ?? '', /queue 'jobs' is empty/)
})

test('an app with nothing to do is idle while it runs, and Pause works there too', async () => {
  const e = await open({ s: `const n = state.counter('n')\nexport function start() { n.add(1) }` })
  const loop = e.run()
  await reaches(e, 'idle')
  e.pause()
  assert.equal((await loop).status, 'paused')
})

test('a run that stops at its step count with work left is paused; one that finds nothing to do is idle or parked', async () => {
  const counting = await open({ s: `const n = state.counter('n')\nexport function step() { n.add(1) }` })
  assert.equal((await counting.run({ steps: 3 })).status, 'paused')
  const waiting = await open(JOBS)
  assert.equal((await waiting.run({ untilIdle: true })).status, 'parked')
  const empty = await open({ s: `const n = state.counter('n')\nexport function start() { n.add(1) }` })
  assert.equal((await empty.run({ untilIdle: true })).status, 'idle')
})

test('a halted app stays halted: Run, Pause and Step change nothing', async () => {
  const e = await open({ s: `export function step() { sys.halt() }` })
  assert.equal((await e.run()).status, 'halted')
  const seen = heard(e)
  e.pause()
  assert.equal(e.step(), null)
  assert.equal((await e.run()).status, 'halted')
  assert.equal(e.status, 'halted')
  assert.deepEqual(seen, [], 'the listeners hear no change')
})

test('the transition table: Pause works in every state but halted, Step always leaves the app paused', () => {
  for (const [state, moves] of Object.entries(TRANSITIONS)) {
    if (state === 'halted') {
      assert.deepEqual(moves, {}, 'nothing leaves halted')
      continue
    }
    assert.equal(moves.pause ?? state, 'paused', `pause from ${state}`)
    assert.equal(moves.step ?? state, 'paused', `step from ${state}`)
    assert.equal(moves.halt, 'halted', `halt from ${state}`)
  }
})
