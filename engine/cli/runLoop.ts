// The loop of `loom run`: runs the app until it halts, reaches --steps, or
// waits for input that will not come; then says where it stopped. The same in
// the CLI process and in a confined run process (runProcess.ts).
import type { Engine } from '../runtime/engine.ts'
import type { TestFailure } from '../runtime/event.ts'
import type { Stuck } from '../runtime/control/waiting.ts'
import { formatLocation } from '../runtime/compile.ts'
import { stuckWhat } from '../runtime/control/stepLoop.ts'
import { plural, type Io } from './main.ts'

export interface LoopOptions {
  json: boolean
  steps?: number
  untilIdle: boolean
  resumedAt: number
  tty: () => string
  serving: boolean
  /** HTTP requests handed to the app and not yet answered: --until-idle waits for them before it stops. */
  requests?: () => Promise<unknown>[]
  /** Told to stop (Ctrl-C, SIGTERM): the loop starts no further run. */
  stopped?: () => boolean
  /** The notebook as the user named it, for where a test or a throw is. */
  shownAs: string
  /** --keep-going: a failed test is said and the app runs on (exit 1 at the end all the same). */
  keepGoing?: boolean
}

export async function loop(engine: Engine, p: LoopOptions, io: Io): Promise<number> {

  // Input for sys.tty.read comes from stdin; once it ends, a loop waiting for input is done.
  let inputOpen = !!io.stdin && !p.untilIdle
  let inputArrived: (() => void) | null = null
  if (inputOpen && io.stdin) {
    io.stdin.setEncoding?.('utf8')
    io.stdin.on('data', (chunk: string | Buffer) => {
      engine.input(String(chunk))
      inputArrived?.()
    })
    io.stdin.on('end', () => {
      inputOpen = false
      inputArrived?.()
    })
    io.stdin.on('error', () => {
      inputOpen = false
      inputArrived?.()
    })
  }

  // A failed test stops the run (the app is paused on the state that broke it), unless --keep-going.
  let said = 0
  const stopTesting = engine.on('test', () => {
    if (!p.keepGoing) engine.pause()
    else for (; said < engine.testFailures.length; said++) describeFailure(engine, engine.testFailures[said]!, p.shownAs, io)
  })
  const total = { attempts: 0, steps: 0 }
  for (;;) {
    const left = p.steps === undefined ? undefined : p.steps - total.steps
    const s = await engine.run({ steps: left, untilIdle: true })
    total.attempts += s.attempts
    total.steps += s.steps
    if (s.status === 'halted' || (left !== undefined && total.steps >= p.steps!) || p.stopped?.() || (engine.testFailures.length && !p.keepGoing)) break
    // --until-idle: done once no step can run and no request is in flight, even while serving HTTP.
    const answering = p.untilIdle ? (p.requests?.() ?? []) : []
    if (answering.length) {
      await Promise.allSettled(answering)
      continue
    }
    if (p.serving) {
      // Serving HTTP: the app lives until it halts, reaches --steps, or the process is told to stop (which pauses it).
      const more = await engine.run({ steps: left === undefined ? undefined : left - s.steps })
      total.attempts += more.attempts
      total.steps += more.steps
      break
    }
    if (s.status === 'idle') break
    // Input arrived while the loop was stopping: run on.
    if (!engine.waiting) continue
    if (!inputOpen) break
    // Idle: only more input can wake the app.
    await new Promise<void>((resolve) => (inputArrived = resolve))
    inputArrived = null
  }
  // The tests are checked at most every so often while it runs: once more on the state it ends with.
  engine.checkTests()
  stopTesting()
  io.stdin?.removeAllListeners?.('data')
  if (io.stdin && 'pause' in io.stdin) (io.stdin as NodeJS.ReadStream).pause()

  // Stopped (Ctrl-C) while a step waits: what it waits for is still the news.
  const status = engine.stuck && engine.status !== 'halted' ? engine.waiting! : (engine.status === 'parked' || engine.status === 'paused') && engine.waiting ? waitingLine(engine.waiting) : p.steps !== undefined && total.steps >= p.steps ? `stopped after ${plural(total.steps, 'step')}` : engine.status
  const added = engine.head - p.resumedAt
  const failures = engine.testFailures
  const stuck = engine.status === 'halted' ? null : engine.stuck
  if (p.json) {
    io.out(JSON.stringify({ events: engine.head, added, attempts: total.attempts, steps: total.steps, status: engine.status, waiting: engine.waiting, stuck, failures, codeHash: engine.codeHash, tty: p.tty(), state: plainState(engine) }) + '\n')
  } else {
    const continued = p.resumedAt ? ` (continued at event ${p.resumedAt})` : ''
    io.err(`loom: ${plural(added, 'event')} committed${continued}, ${plural(total.attempts, 'attempt')} aborted, ${status}\n`)
    for (; said < failures.length; said++) if (failures.findIndex((f) => f.test === failures[said]!.test) === said) describeFailure(engine, failures[said]!, p.shownAs, io)
    if (stuck) describeStuck(stuck, p.shownAs, io)
  }
  // A failed test, or a method that throws for good: the run did not do what the notebook says it should.
  return failures.length || stuck ? 1 : 0
}

/** A failed test as the CLI says it: which, after which event, where, and the state it saw. */
export function describeFailure(engine: Engine, failure: TestFailure, shownAs: string, io: Io): void {
  const event = engine.events(failure.seq, 1)[0]
  const what = event ? `event ${event.seq} (${event.kind}${event.method && event.method !== event.kind ? ` ${event.method}` : ''})` : `event ${failure.seq}`
  // Checked once per group commit (loom run): the test broke after one of the events since it last held.
  const held = failure.heldAfter === undefined ? '' : `it held after event ${failure.heldAfter}; `
  const since = failure.checkedPerCommit && (failure.heldAfter ?? 0) < failure.seq - 1 ? ` (${held}loom run checks the tests after each group commit, loom test NB --steps N after every step)` : ''
  io.err(`loom: test '${failure.test}' failed ${since ? 'by' : 'after'} ${what}: ${failure.message}${since}\n`)
  io.err(`  at ${formatLocation(shownAs, failure.location)}\n`)
  for (const [name, value] of Object.entries(failure.saw)) io.err(`  it saw ${name} = ${JSON.stringify(value)}\n`)
}

/** A method that throws on the state it runs on: it will not commit until something it read changes. */
function describeStuck(stuck: Stuck, shownAs: string, io: Io): void {
  io.err(`loom: ${stuckWhat(stuck)}\n  at ${formatLocation(shownAs, stuck.location)}\n`)
}

export function plainState(engine: Engine): Record<string, unknown> {
  return Object.fromEntries(Object.entries(engine.state()).map(([k, v]) => [k, v.value]))
}


/** `loom test` once the engine is open (with checkTests): runs start and N steps, reports the first failure. */
export async function runTests(engine: Engine, p: { json: boolean; steps?: number; shownAs: string }, io: Io): Promise<number> {
  let failure = engine.testFailures[0]
  if (!failure) {
    const stop = engine.on('test', () => engine.pause())
    await engine.run({ steps: p.steps ?? 0, untilIdle: true })
    stop()
    failure = engine.testFailures[0]
  }
  const tests = engine.testCount
  // A step (or start) that throws is no pass: the steps asked for did not run.
  const stuck = failure ? null : engine.stuck
  if (p.json) {
    io.out(JSON.stringify({ ok: !failure && !stuck, tests, events: engine.head, failures: engine.testFailures, stuck }) + '\n')
    return failure || stuck ? 1 : 0
  }
  if (failure) {
    describeFailure(engine, failure, p.shownAs, io)
    return 1
  }
  if (stuck) {
    describeStuck(stuck, p.shownAs, io)
    if (tests) io.err(`loom: ${tests} test${tests === 1 ? '' : 's'} held for the ${plural(engine.head, 'event')} before it\n`)
    return 1
  }
  io.out(`loom: ${tests} test${tests === 1 ? '' : 's'} passed after ${plural(engine.head, 'event')}\n`)
  // Fewer steps than asked ran: say why (a read no runner here performs, an empty queue), not only the count.
  if (p.steps && engine.status === 'parked' && engine.waiting) io.err(`loom: then the app was ${waitingLine(engine.waiting)}\n`)
  return 0
}

/** What a parked run says it waits for, once: `waiting (queue 'q' is empty)`, and a wait that names itself as is (`waiting for 1 character of input`). */
function waitingLine(waiting: string): string {
  return waiting.startsWith('waiting') ? waiting : `waiting (${waiting})`
}
