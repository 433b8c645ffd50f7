import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { SharedSeen } from '../engine/replay/sharedSeen.ts'
import { evenOut } from '../engine/replay/exploreParallel.ts'

test('two threads claiming the same 100,000 states at once: each state is claimed by exactly one of them', async () => {
  const n = 100_000
  const buffers = SharedSeen.create(2 ** 18)
  // The start signal, then each thread's progress (seenClaimer.js keeps them in step).
  const go = new Int32Array(new SharedArrayBuffer(12), 0, 1)
  // One thread walks the states from the start, the other from the middle: every state is raced for.
  const won = await Promise.all([0, n / 2].map((from, me) => new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL('./fixtures/seenClaimer.js', import.meta.url), { workerData: { buffers, n, from, go, me } })
    w.once('message', (m: number) => resolve(m))
    w.once('error', reject)
    w.once('exit', (code) => code && reject(new Error(`exit ${code}`)))
  })))
  assert.equal(won[0]! + won[1]!, n, `claimed ${won.join(' + ')}`)
  assert.ok(won[0]! > 0 && won[1]! > 0, `each thread claimed some: ${won.join(', ')}`)
  const seen = new SharedSeen(buffers)
  assert.equal(seen.size, n)
  // Halves that are 0 are states like any other (the threads claimed (0, 0) and every 7th with a low half of 0): once, never again.
  assert.equal(seen.claim(0, 0), false)
  assert.equal(seen.claim(0, 12345), true)
  assert.equal(seen.claim(0, 12345), false)
})

test('the seen set grown keeps every state it had, and says when it wants room', () => {
  const seen = new SharedSeen(SharedSeen.create(1024))
  let asked = 0
  for (let k = 0; k < 600; k++) {
    assert.equal(seen.claim(k * 7919, k), true)
    if (seen.wantsRoom && !asked) asked = k + 1
  }
  assert.equal(asked, 513, 'it wants room once more than half full')
  seen.grown()
  assert.equal(seen.wantsRoom, false)
  for (let k = 0; k < 600; k++) assert.equal(seen.claim(k * 7919, k), false, `state ${k} was lost in growing`)
  assert.equal(seen.claim(1, 600), true)
})

test('a seen set that was never grown stops with an error that says what to do, instead of probing for ever', () => {
  const seen = new SharedSeen(SharedSeen.create(1024))
  assert.throws(() => {
    for (let k = 0; k < 1024; k++) seen.claim(k, k + 1)
  }, /the seen set shared by the exploration threads filled up before it could grow \(961 states\): explore with fewer --workers, or on one thread/)
})

test('--max-states is one bound for every thread: the room is taken state by state until none is left', () => {
  const seen = new SharedSeen(SharedSeen.create(1024))
  seen.allow(3)
  assert.deepEqual([seen.take(), seen.take(), seen.take(), seen.take()], [true, true, true, false])
})

test('a level found by one thread is shared out evenly before it is expanded; a level nearly even is left as it is', () => {
  assert.deepEqual(evenOut([1000, 0]), [{ give: [{ to: 1, count: 500 }], take: [] }, { give: [], take: [0] }])
  assert.deepEqual(evenOut([900, 0, 0]), [{ give: [{ to: 1, count: 300 }, { to: 2, count: 300 }], take: [] }, { give: [], take: [0] }, { give: [], take: [0] }])
  assert.deepEqual(evenOut([510, 490]), [{ give: [], take: [] }, { give: [], take: [] }])
  assert.deepEqual(evenOut([5, 0]), [{ give: [], take: [] }, { give: [], take: [] }], 'a handful of states is not worth moving')
})

test('a thread that has just joined in (or is slower) is given a part of the level in proportion to its pace, so the faster one does not wait for it', () => {
  // The thread that started the search goes four times as fast as the one joining in: a fifth of the level goes over.
  assert.deepEqual(evenOut([1000, 0], [4, 1]), [{ give: [{ to: 1, count: 200 }], take: [] }, { give: [], take: [0] }])
  // A slow thread with more than its share gives the surplus to the fast one.
  assert.deepEqual(evenOut([500, 500], [3, 1]), [{ give: [], take: [1] }, { give: [{ to: 0, count: 250 }], take: [] }])
  assert.deepEqual(evenOut([800, 200], [4, 1]), [{ give: [], take: [] }, { give: [], take: [] }], 'already in proportion')
})
