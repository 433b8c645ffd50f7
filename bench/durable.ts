// The counter sample on Loom's durable SQLite log (fsync every group commit):
// timed runs on fresh logs, and a long history built with heap readings on the way.
import { join, resolve } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { writeHeapSnapshot } from 'node:v8'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
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

/**
 * The same as durableLoom through `loom run` as a user runs it: the cells in a
 * confined process, SQLite in the launcher over the socket pair. One whole
 * run of warm + steps; the rate is read from the log itself, between the
 * commit times of the first and last timed events (events are stamped when
 * their batch commits, to the millisecond). Returns the timed milliseconds.
 */
export async function confinedLoom(dir: string, warm: number, steps: number): Promise<number> {
  const db = join(dir, `confined-${++logs}.loom.db`)
  const loom = resolve(import.meta.dirname, '..', 'bin', 'loom.js')
  // The code event, then a start event (the counter has none), then the steps: event 2 + warm is the first timed one.
  await promisify(execFile)(process.execPath, [loom, 'run', SAMPLE, '--db', db, '--steps', String(warm + steps), '--json'], { maxBuffer: 64 * 2 ** 20 })
  const log = SqliteLog.open(db, { create: false })
  try {
    const first = log.event('main', warm + 1)
    const last = log.event('main', warm + steps + 1)
    if (!first || !last) throw new Error(`confined loom: the log has ${log.head} events, not ${warm + steps + 1}`)
    return Math.max(last.time - first.time, 1)
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
  /**
   * Heap in use, garbage collected: once the engine has opened its log (its code loaded, no step run yet), once it
   * runs (its first hundredth of the steps: the code a step runs compiled), after the first part (a tenth of the
   * steps) and at the end. The difference from `running` is not the history's: V8 keeps compiling more of the
   * engine all the way (bundledHistory.ts tells the two apart in the heap snapshots).
   */
  heap: { open: { events: number; mb: number }; running: { events: number; mb: number }; early: { events: number; mb: number }; late: { events: number; mb: number }; collected: boolean }
}

/** The readings buildHistory also takes a heap snapshot at, after reading the heap's size (for heapKinds.ts). */
export const SNAPSHOTS = ['running', 'early', 'late'] as const

/** Where buildHistory leaves the heap snapshot of a reading: in the history's directory, removed with it. */
export const heapSnapshotFile = (dir: string, reading: (typeof SNAPSHOTS)[number]) => join(dir, `heap-${reading}.heapsnapshot`)

/**
 * Builds a history of `steps` steps on one engine in two parts (a tenth, then the rest), reading the heap after each
 * and leaving a heap snapshot of it (heapSnapshotFile). The bench runs it bundled, in a process of its own
 * (bundledHistory.ts), and reads the snapshots there, where parsing them does not touch the heap measured.
 */
export async function buildHistory(dir: string, steps: number, sample = SAMPLE): Promise<Built> {
  const db = join(dir, 'history.loom.db')
  const { engine, log } = await openSession(sample, { db })
  try {
    const open = { events: engine.head, ...(await settledHeapMB()) }
    const warm = Math.round(steps / 100)
    const first = Math.round(steps / 10)
    let ms = await timedSteps(engine, warm)
    const running = { events: engine.head, ...(await settledHeapMB()) }
    writeHeapSnapshot(heapSnapshotFile(dir, 'running'))
    ms += await timedSteps(engine, first - warm)
    const early = { events: engine.head, ...(await settledHeapMB()) }
    writeHeapSnapshot(heapSnapshotFile(dir, 'early'))
    ms += await timedSteps(engine, steps - first)
    const late = { events: engine.head, ...(await settledHeapMB()) }
    writeHeapSnapshot(heapSnapshotFile(dir, 'late'))
    checkCount(engine, steps)
    return {
      db,
      events: engine.head,
      steps,
      buildStepsPerSecond: steps / (ms / 1000),
      heap: { open: { events: open.events, mb: open.mb }, running: { events: running.events, mb: running.mb }, early: { events: early.events, mb: early.mb }, late: { events: late.events, mb: late.mb }, collected: open.collected && running.collected && early.collected && late.collected },
    }
  } finally {
    log.close()
  }
}
