// The counter sample on Loom's durable SQLite log (fsync every group commit):
// timed runs on fresh logs, and a long history built with heap readings on the way.
import { join } from 'node:path'
import { openSession } from '../engine/replay/session.ts'
import type { Engine } from '../engine/runtime/engine.ts'
import { SAMPLE } from './loom.ts'
import { settledHeapMB } from './memory.ts'

let logs = 0

/** Runs `steps` steps and checks that every one committed and counted; returns the milliseconds `engine.run` took. */
async function timedSteps(engine: Engine, steps: number): Promise<number> {
  const head = engine.head
  const t0 = performance.now()
  const summary = await engine.run({ steps })
  const ms = performance.now() - t0
  if (summary.steps !== steps || engine.head - head !== steps) {
    throw new Error(`durable loom: asked for ${steps} steps, committed ${summary.steps} (${engine.head - head} events, status ${summary.status})`)
  }
  return ms
}

function checkCount(engine: Engine, expected: number): void {
  const count = Object.values(engine.state())[0]?.value
  if (count !== expected) throw new Error(`durable loom: expected the count to reach ${expected}, it is ${JSON.stringify(count)}`)
}

/** A fresh log in `dir`: `warm` untimed steps, then `steps` timed ones; returns the milliseconds of the timed part. */
export async function durableLoom(dir: string, warm: number, steps: number): Promise<number> {
  const { engine, log } = await openSession(SAMPLE, { db: join(dir, `run-${++logs}.loom.db`) })
  try {
    await timedSteps(engine, warm)
    const ms = await timedSteps(engine, steps)
    checkCount(engine, warm + steps)
    return ms
  } finally {
    log.close()
  }
}

export interface Built {
  db: string
  /** Events in the log (the steps and the code event before them). */
  events: number
  steps: number
  buildStepsPerSecond: number
  /** Heap in use after the first part (a tenth of the steps) and at the end, garbage collected. */
  heap: { early: { events: number; mb: number }; late: { events: number; mb: number }; collected: boolean }
}

/** Builds a history of `steps` steps on one engine in two parts (a tenth, then the rest), reading the heap after each. */
export async function buildHistory(dir: string, steps: number): Promise<Built> {
  const db = join(dir, 'history.loom.db')
  const { engine, log } = await openSession(SAMPLE, { db })
  try {
    const first = Math.round(steps / 10)
    let ms = await timedSteps(engine, first)
    const early = { events: engine.head, ...(await settledHeapMB()) }
    ms += await timedSteps(engine, steps - first)
    const late = { events: engine.head, ...(await settledHeapMB()) }
    checkCount(engine, steps)
    return {
      db,
      events: engine.head,
      steps,
      buildStepsPerSecond: steps / (ms / 1000),
      heap: { early: { events: early.events, mb: early.mb }, late: { events: late.events, mb: late.mb }, collected: early.collected && late.collected },
    }
  } finally {
    log.close()
  }
}
