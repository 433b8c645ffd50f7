import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { cpuClock } from '../engine/runtime/transaction/cpuClock.ts'

// What tells a runaway transaction from a stalled one (runBatch.ts) is the CPU time of the thread that runs
// cell code: with an exploration's threads computing beside it, the process's clock would blame a thread
// that stood still.
test("a thread's CPU clock counts its own work, not another thread's", { skip: process.platform !== 'linux' && 'a thread clock is read from /proc on Linux' }, async () => {
  const clock = cpuClock()
  assert.equal(clock.resolutionMs, 10)
  // A thread that waits, reading its clock (and the process's) before and after, while this thread computes.
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     import('tsx/esm/api').then(({ register }) => (register(), import(${JSON.stringify(new URL('../engine/runtime/transaction/cpuClock.ts', import.meta.url).href)}))).then(({ cpuClock }) => {
       const clock = cpuClock(); const before = clock.now(); const p0 = process.cpuUsage()
       parentPort.postMessage('waiting')
       Atomics.wait(workerData, 0, 0, 60000)
       const p = process.cpuUsage(p0)
       parentPort.postMessage({ thread: clock.now() - before, process: (p.user + p.system) / 1000 })
     })`,
    { eval: true, workerData: flag },
  )
  try {
    const got = new Promise<{ thread: number; process: number }>((resolve, reject) => {
      worker.on('message', (m) => typeof m === 'object' && resolve(m))
      worker.once('error', reject)
    })
    await new Promise((resolve) => worker.once('message', resolve))
    // 300 ms of this thread's CPU, however long a loaded machine takes to give it (at most 30 s).
    const start = clock.now()
    const deadline = performance.now() + 30_000
    while (clock.now() - start < 300 && performance.now() < deadline);
    const mine = clock.now() - start
    Atomics.store(flag, 0, 1)
    Atomics.notify(flag, 0)
    const r = await got
    assert.ok(mine >= 300, `this thread computed (${mine} ms)`)
    assert.ok(r.process >= mine - 20, `the process's clock counted this thread's work (${r.process} ms)`)
    assert.ok(r.thread <= 40, `the waiting thread's own clock stayed still (${r.thread} ms)`)
  } finally {
    await worker.terminate()
  }
})
