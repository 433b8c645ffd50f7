// The confined process of every command that runs cells (DESIGN §9): `loom
// run`, `test`, `replay` (--verify, --code) and `explore`. It is started by
// engine/cli/run.ts (runConfined, startReplay, confinedJob) through
// engineLaunch's runLaunch: Node's permission model with no addons, no child
// processes, no threads (but `explore --workers`'s shards) and no file
// writes; an empty environment;
// and, where the OS has one, its sandbox (no network, no view of the user's
// files). Its log is a RemoteLog: SQLite, a native addon, stays in the
// process that started this one.
//
// Nothing here may import SQLite, even indirectly.
import { Engine } from '../runtime/engine.ts'
import { liveCode } from '../runtime/liveCode.ts'
import { describe, LoomFailure } from '../protocol/loomError.ts'
import { RemoteLog } from '../replay/remoteLog.ts'
import { LogFormatError } from '../replay/logErrors.ts'
import { loop, runTests } from '../cli/runLoop.ts'
import { MemoryLog } from '../runtime/log.ts'
import { Replayer } from '../replay/replayer.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { StoredCode } from '../replay/sqliteLog.ts'
import type { Io } from '../cli/main.ts'
import { formatLocation } from '../runtime/compile.ts'
import type { KeptCell } from '../runtime/transformCell.ts'
import { Model } from '../replay/model.ts'
import type { PreparedMoment } from '../replay/prepareMoment.ts'
import { exploring, type ExploreResult, type Move } from '../replay/explore.ts'
import { progressLine, type ProgressMode } from './exploreProgress.ts'
import { heapRoom } from '../replay/heapRoom.ts'
import { exploreParallel } from '../replay/exploreParallel.ts'
import { choiceTree } from '../replay/choiceTree.ts'
import { commitTrace, describeTrace, type TraceFailure } from '../replay/trace.ts'
import type { Fault } from '../replay/effectOutcomes.ts'
import { NondeterminismError } from '../replay/memo.ts'
import { Rerunner, rerunTimeLimit } from '../replay/rerun.ts'
import { RetroCollector, retroEngine } from '../replay/retroLog.ts'
import { originalStack } from './originalStack.ts'

/** What `loom run` asks of this process (sent by the log host with the open answer). */
export interface RunJob {
  kind: 'run' | 'test' | 'replay' | 'explore' | 'trace' | 'rerun'
  /** The one folder this process may write (its launcher's scratchFolder): where exploration's levels spill. */
  scratch?: string
  /** replay: the branch, the first seq re-executed, and the state before it (from > 1). */
  replay?: { branch: string; from: number; before?: StoreSnapshot }
  /** `loom explore`: the search (or `--tree`) from the start or from a moment the launcher read from its log. */
  explore?: { from: PreparedMoment | null; tree: boolean; depth?: number; maxStates?: number; requests?: number; faults?: Fault[]; workers: number; cells: KeptCell[]; deadlock?: boolean; progress?: ProgressMode; simulate?: { seed: number; walks: number }; coverage?: boolean; draw?: boolean; frontierBytes?: number }
  /** `--save-branch`: a trace's moves, committed through the link to the branch the launcher opened for them. */
  trace?: { from: PreparedMoment | null; moves: Move[]; cells: KeptCell[]; failure?: TraceFailure | null }
  /** `loom replay --code`: the recorded inputs the launcher sends (as replay batches), re-run onto the link's branch. */
  /** `kept`: the re-run is written to the log's branch; else it stays in memory (retroactive logging, a replay not kept). */
  rerun?: { from: string; startTime: number; maxDivergences: number; kept: boolean; logs?: { limit: number } }
  notebook: string
  /** The notebook's text as the launcher read it: what runs (a save after that comes as a push). */
  text: string
  /** The notebook's path as the user gave it, for messages. */
  shownAs: string
  /** The time limit (run, test) or, for replay, the limit the history was made under. */
  timeLimitMs?: number
  /** The notebook's configuration: what sys.env shows. Not this process's environment, which is empty. */
  env: Record<string, string>
  args: string[]
  json: boolean
  steps?: number
  untilIdle: boolean
  /** --keep-going: a failed test is said and the app runs on. */
  keepGoing?: boolean
  /** `--watch`: the launcher watches the notebook and sends each saved text; the app runs until stopped. */
  watch: boolean
  /** The launcher serves the app's HTTP and relays each request here; the app runs until stopped. */
  serving: boolean
}

const io: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stdin: process.stdin,
}

async function main(): Promise<number> {
  const log = RemoteLog.open()
  const job = log.opened.job as RunJob
  if (job.kind === 'replay') return replay(log, job.replay!, job.timeLimitMs)
  if (job.kind === 'explore' || job.kind === 'trace' || job.kind === 'rerun') return answering(log, job)
  let engine: Engine
  try {
    engine = job.kind === 'test'
      ? await Engine.fromSource(job.text, { path: job.notebook, timeLimitMs: job.timeLimitMs, env: job.env, args: job.args, checkTests: true, log: new MemoryLog() })
      : await Engine.fromSource(job.text, { path: job.notebook, timeLimitMs: job.timeLimitMs, env: job.env, args: job.args, log, branch: log.branch, resume: log.opened.resume ?? undefined, checkTests: 'commit', stopOnTestFailure: !job.keepGoing, performEffect: (r) => log.effect(r) })
  } catch (err) {
    log.close()
    if (err instanceof LoomFailure) {
      io.err(`loom: ${err.message}\n`)
      return 2
    }
    throw err
  }
  if (job.kind === 'test') {
    try {
      return await runTests(engine, { json: job.json, steps: job.steps, shownAs: job.shownAs }, io)
    } finally {
      log.close()
    }
  }
  log.ready()
  let tty = ''
  engine.on('tty', (text) => (job.json ? (tty += text) : io.out(text)))
  // A long-lived run (--watch, or serving http) says each new runtime error as it happens, once per error and place:
  // nobody waits for its summary. A wait (an abort) is not an error.
  if ((job.watch || job.serving) && !job.json) {
    const said = new Set<string>()
    engine.on('attempt', (a) => {
      const key = `${a.method} ${a.reason} ${a.location?.cell}:${a.location?.line}`
      if (a.aborted || said.has(key)) return
      said.add(key)
      io.err(`loom: ${a.method ?? a.kind}() threw after event ${a.after}: ${a.reason}\n  at ${formatLocation(job.shownAs, a.location)}\n`)
    })
  }
  // The launcher sends each saved text (--watch), and a stop (Ctrl-C, SIGTERM: the OS sandbox passes no signal on).
  let stopped = false
  const requests = new Set<Promise<unknown>>()
  /** Relayed requests not yet answered, by rid: a client that hangs up cancels its own. */
  const pending = new Map<number, AbortController>()
  const stop = () => {
    stopped = true
    engine.pause()
  }
  log.onPush(async (push) => {
    if (push.push === 'stop') return stop()
    if (push.push === 'check') return
    if (push.push === 'cancel') return pending.get(push.rid)?.abort()
    if (push.push === 'http') {
      const gone = new AbortController()
      pending.set(push.rid, gone)
      const answering = engine.request(push.request, push.deadlineMs, gone.signal).catch((err: Error) => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: `${err.message}\n` }))
      requests.add(answering)
      const answer = await answering.finally(() => (requests.delete(answering), pending.delete(push.rid)))
      return log.answer(push.rid, answer)
    }
    // Live coding: a change that compiles becomes a code event, one that does not is refused.
    const r = await liveCode(engine, push.text)
    if (!r.ok) io.err(`loom: the change was refused; the old code keeps running:\n${r.problems.map(describe).join('\n')}\n`)
    else if (r.seq !== null) io.err(`loom: new code running from event ${r.seq} (${r.codeHash.slice(0, 12)})\n`)
  }, job.watch || job.serving)
  // Without the OS sandbox a signal may come straight here: the same normal end, everything durable.
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    return await loop(engine, { json: job.json, steps: job.steps, untilIdle: job.untilIdle, resumedAt: log.opened.head, tty: () => tty, serving: job.watch || (job.serving && !job.untilIdle), requests: () => [...requests], stopped: () => stopped, shownAs: job.shownAs, keepGoing: job.keepGoing }, io)
  } finally {
    log.close()
  }
}

/**
 * `loom replay` (--verify): re-executes the batches the launcher sends (it
 * checks the hash chain itself) and answers each with its first divergence
 * or null, until told to stop. Its reads of the log go over the link.
 */
async function replay(log: RemoteLog, job: NonNullable<RunJob['replay']>, timeLimitMs?: number): Promise<number> {
  const source = {
    event: (branch: string, seq: number) => log.read('event', branch, seq) as EventRecord | null,
    lastOfKind: (branch: string, kind: string, seq: number) => log.read('lastOfKind', branch, kind, seq) as number | null,
    getCode: (codeHash: string) => log.read('getCode', codeHash) as StoredCode | null,
  }
  const replayer = new Replayer(source, job.branch, job.from, job.before, timeLimitMs)
  await new Promise<void>((done) => {
    log.onPush(async (push) => {
      if (push.push === 'stop') return done()
      if (push.push !== 'check') return
      let failure: unknown
      try {
        const bodies = push.texts ? push.texts.split('\n') : []
        const events = bodies.map((body, i) => Object.assign(JSON.parse(body) as EventRecord, { hash: push.hashes[i] }))
        failure = await replayer.checkAll(events, bodies)
      } catch (err) {
        failure = { error: (err as Error).message }
      }
      log.checked(push.rid, failure)
    }, true)
  })
  log.close()
  return 0
}

/** How long an exploration computes before it lets the event loop turn (a stop asked for waits at most this). */
const TURN_MS = 50
/** How often a timer looks at the heap while threads search (this thread's batches each look: heapRoom.ts). */
const HEAP_LOOK_MS = 50

/** What a job answers: its result, or why it could not give one (the launcher turns that into the command's error). */
export type JobAnswer = { ok: true; value: unknown } | { ok: false; error: { kind: 'input' | 'nondeterminism' | 'range' | 'other'; message: string } }

/** The jobs that answer once (explore, a trace to commit, replay --code): the answer goes down the link. */
async function answering(log: RemoteLog, job: RunJob): Promise<number> {
  let answer: JobAnswer
  try {
    const value = job.kind === 'explore' ? await exploreJob(log, job) : job.kind === 'trace' ? await traceJob(log, job) : await rerunJob(log, job)
    answer = { ok: true, value }
  } catch (err) {
    const e = err as Error
    const kind = err instanceof LoomFailure ? 'input' : err instanceof NondeterminismError ? 'nondeterminism' : err instanceof RangeError ? 'range' : 'other'
    answer = { ok: false, error: { kind, message: e.message } }
  }
  try {
    log.result(answer)
  } finally {
    log.close()
  }
  return 0
}

/**
 * `loom explore`: the search (on threads for W > 1: they share this process's confinement) and each violation's steps.
 * Its progress goes to stderr; a stop (the launcher's push on Ctrl-C or SIGTERM, or a signal that comes straight
 * here) ends it with what it found so far. Between batches the thread is handed back, so a stop is heard.
 */
async function exploreJob(log: RemoteLog, job: RunJob): Promise<unknown> {
  const x = job.explore!
  const env = givenEnv(job)
  const model = await Model.create(job.text, { path: job.notebook, timeLimitMs: job.timeLimitMs, from: x.from ?? undefined, cells: x.cells, requests: x.requests, faults: x.faults, env, coverage: x.coverage })
  if (x.tree) return { tree: choiceTree(model) }
  const stop = new AbortController()
  const progress = progressLine(x.progress ?? null, (t) => process.stderr.write(t))
  const halt = (reason: 'stopped' | 'memory', why: string) => {
    if (stop.signal.aborted) return
    // Said here, after the progress line is cleared, so a terminal shows it above the report.
    progress.end()
    process.stderr.write(`loom: ${why}; its report of what it found so far follows\n`)
    stop.abort(reason)
  }
  const abort = () => halt('stopped', 'stopping the exploration (Ctrl-C again ends it at once)')
  log.onPush((push) => push.push === 'stop' && abort(), false)
  process.on('SIGINT', abort)
  process.on('SIGTERM', abort)
  // Near the heap limit the search stops with a report rather than ending in V8's out-of-memory abort.
  // Looked at after every batch on this thread (a look costs microseconds, and a search that grows its heap
  // fast fills the room left in a few of them), and by a timer while threads search.
  const heap = heapRoom()
  const lookAtHeap = () => {
    if (heap.full()) halt('memory', 'the exploration is near its memory limit; stopping it')
  }
  const watch = setInterval(lookAtHeap, HEAP_LOOK_MS)
  const options = { depth: x.depth, maxStates: x.maxStates, deadlock: x.deadlock ?? true, simulate: x.simulate, signal: stop.signal, onProgress: progress.update, draw: x.draw, frontierBytes: x.frontierBytes, spillDir: job.scratch }
  let result: ExploreResult
  try {
    if (x.workers > 1) result = await exploreParallel(job.text, { ...options, workers: x.workers, model, path: job.notebook, from: x.from ?? undefined, cells: x.cells, timeLimitMs: job.timeLimitMs, requests: x.requests, faults: x.faults, env })
    else {
      const run = exploring(model, options)
      let turned = performance.now()
      for (let r = run.next(); ; r = run.next()) {
        if (r.done) {
          result = r.value
          break
        }
        lookAtHeap()
        // The event loop (a stop asked for) is let in every TURN_MS, not after every 10 ms batch:
        // each turn cost a cold 100k-state search ~6% of its time.
        if (performance.now() - turned < TURN_MS) continue
        await new Promise(setImmediate)
        turned = performance.now()
      }
    }
  } finally {
    clearInterval(watch)
    progress.end()
    process.off('SIGINT', abort)
    process.off('SIGTERM', abort)
  }
  return { result, steps: result.violations.map((v) => describeTrace(model, v.trace).steps) }
}

/** `--env K=V` as given to explore; none given: the configuration recorded at the moment explored from. */
function givenEnv(job: RunJob): Record<string, string> | undefined {
  return Object.keys(job.env).length ? job.env : undefined
}

/** `--save-branch`: the trace's events, made by running its moves again, committed to the link's branch. */
async function traceJob(log: RemoteLog, job: RunJob): Promise<unknown> {
  const t = job.trace!
  await commitTrace(job.text, { path: job.notebook, timeLimitMs: job.timeLimitMs, from: t.from ?? undefined, cells: t.cells, env: givenEnv(job) }, t.moves, log, log.branch, t.failure ?? null)
  return { head: log.head }
}

/**
 * `loom replay --code`: the notebook's code on the link's (new) branch, each
 * recorded input the launcher sends re-enacted and compared with what was
 * recorded; the new events go down the link like any run's.
 */
async function rerunJob(log: RemoteLog, job: RunJob): Promise<unknown> {
  const r = job.rerun!
  // The engine makes each re-enacted event durable before the next (flush); here a batch's events go
  // down the link as one group commit when the batch is answered: nothing is reported before the whole
  // new branch is written, so a commit per event would only add a round trip and a disk sync to each.
  const batched = new Proxy(log, {
    get: (target, key) => {
      if (key === 'flush') return () => {}
      const value = Reflect.get(target, key, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  // A re-run not kept (retroactive logging, a replay without --onto) keeps its events in memory: nothing goes down the link.
  const engine = !r.kept
    ? await retroEngine(job.text, job.notebook, r.startTime, job.timeLimitMs)
    : await Engine.fromSource(job.text, { path: job.notebook, timeLimitMs: rerunTimeLimit(job.timeLimitMs), log: batched, branch: log.branch, clock: 'virtual', startTime: r.startTime })
  const rerun = new Rerunner(engine, r.from, r.kept ? log.branch : null, r.maxDivergences)
  const retro = r.logs ? new RetroCollector(r.from, r.logs.limit) : null
  retro?.watch(rerun)
  let failed: Error | null = null
  await new Promise<void>((done) => {
    log.onPush((push) => {
      if (push.push === 'stop') return done()
      if (push.push !== 'check') return
      try {
        if (!failed) rerun.takeAll(push.texts ? push.texts.split('\n').map((body) => JSON.parse(body) as EventRecord) : [])
        // Everything this batch made is durable before it is answered (a refused commit fails here).
        if (r.kept) log.flush()
      } catch (err) {
        failed = err as Error
      }
      log.checked(push.rid, null)
    }, true)
  })
  if (failed) throw failed
  return retro?.result ?? rerun.result
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (err: Error) => {
    // A damaged or unusable log, refused by the launcher that reads it, is said as it is (its message names where and what to do), exit 2 as `loom log` does; anything else is a bug, with its stack.
    if (err instanceof LogFormatError) process.stderr.write(`loom: ${err.message}\n`)
    else process.stderr.write(`loom: ${err.stack ? originalStack(err.stack) : err.message}\n`)
    process.exit(err instanceof LogFormatError ? 2 : 70)
  },
)
