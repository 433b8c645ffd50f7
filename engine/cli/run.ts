// `loom run` and `loom test`: the app headless, with its log (run) or
// without one, checking every test (test).
import { grantedPerformer } from '../runtime/effects/grantedPerformer.ts'
import { untilAllowed, waitingWords } from '../host/allowedGrants.ts'
import { killConfined } from '../host/killConfined.ts'
import { askToAllow } from './allow.ts'
import type { Parsed } from './args.ts'
import type { Io } from './main.ts'
import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { spawn, type ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import { basename, dirname, resolve } from 'node:path'
import { resumeFrom, defaultDbPath } from '../replay/session.ts'
import { headsPath } from '../replay/dbPath.ts'
import { decodeNotebook, NotebookError, parseNotebook } from '../runtime/notebook.ts'
import { SqliteLog } from '../replay/sqliteLog.ts'
import { serveLog } from '../replay/logHost.ts'
import { serveHttp, type RunningServer } from '../runtime/server.ts'
import { reflection } from '../replay/reflect.ts'
import { runLaunch } from '../host/engineLaunch.ts'
import { scratchFolder } from '../host/scratchFolder.ts'
import { ranOutOfMemory, watchHeapDeath, type HeapDeathWatch } from '../host/heapDeath.ts'
import { terminalStream } from './printable.ts'
import type { JobAnswer, RunJob } from '../host/runProcess.ts'
import type { BatchChecker, Divergence } from '../replay/replay.ts'
import { seekStore } from '../replay/seek.ts'
import { HistoryError } from './historyError.ts'

export async function runCommand(p: Parsed, io: Io): Promise<number> {
  // The app's cells run in a confined process (DESIGN §9): this one keeps the log and serves the app's HTTP.
  return runConfined(p, io, 'run')
}

/**
 * `loom run` with the cells in a confined process (engineLaunch.ts runLaunch):
 * this process keeps the SQLite log and writes what the confined one commits
 * (engine/replay/logHost.ts); the confined one runs the notebook.
 */
async function runConfined(p: Parsed, io: Io, kind: 'run' | 'test'): Promise<number> {
  const notebook = resolve(p.args.notebook!)
  // Serving HTTP: this process listens and relays each request to the confined app (which has no network).
  // Read once, here: the confined process runs this text, and --watch sends only what differs from it.
  const text = decodeNotebook(await readFile(notebook), p.args.notebook!)
  // Before a log is opened or anything runs: a notebook's grants are its author's until you allow them.
  if (kind === 'run') await askToAllow(p.args.notebook!, text, io)
  const port = kind === 'run' ? ((p.options.port as number | undefined) ?? parseNotebook(text, p.args.notebook!).settings.http) : undefined
  // `loom test` keeps no log: the link only carries the job.
  const fresh = !!p.options.fresh
  const log = kind === 'run' ? SqliteLog.open((p.options.db as string | undefined) ?? defaultDbPath(notebook), { branch: fresh ? undefined : (p.options.branch as string | undefined), writerThread: true, fsync: !p.options['no-fsync'] }) : null
  try {
    if (log && fresh) startAfresh(log, p.options.branch as string | undefined, io)
    if (log) {
      // A damaged branch is refused here (resumeFrom throws LogDamageError, exit 2), saying how to continue; damage elsewhere is said.
      for (const d of log.damageAtOpen) io.err(`loom: ${log.path} is damaged on another branch: ${d.message} (loom replay ${log.path} --verify)\n`)
      if (log.headsAtOpen === 'missing' && log.head > 0) io.err(`loom: ${log.path} has no record of acknowledged events (${headsPath(log.path)}; an older Loom wrote the log, or the record was removed): a lost WAL cannot be detected for events before this run, which starts the record\n`)
    }
    const resume = log ? resumeFrom(log) : undefined
    const launch = runLaunch(notebook)
    if (launch.os.notice) io.err(`loom: ${launch.os.notice}\n`)
    const job: RunJob = {
      kind, notebook, text, shownAs: p.args.notebook!, timeLimitMs: p.options['time-limit'] as number | undefined, env: p.env, args: p.rest,
      json: !!p.options.json, steps: p.options.steps as number | undefined, untilIdle: !!p.options['until-idle'], keepGoing: !!p.options['keep-going'], watch: kind === 'run' && !!p.options.watch, serving: port !== undefined,
    }
    // Its own process group: a terminal's Ctrl-C (sent to the whole foreground group) reaches only this
    // launcher, which stops the app through the link — the app ends normally, with its summary.
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true })
    const heap = forwardOutput(child, io)
    child.stdin!.on('error', () => {})
    if (io.stdin && !p.options['until-idle']) io.stdin.pipe(child.stdin!)
    else child.stdin!.end()
    const link = child.stdio[3] as Socket
    // Safe reads leave through this process only, where the notebook (as read here) grants them.
    // A grant added by a saved change (--watch) waits until you allow it; the others were allowed above.
    const effects = kind === 'run' ? grantedPerformer(notebook, text, untilAllowed(notebook, (what) => io.err(waitingWords(p.args.notebook!, what)))) : null
    const host = serveLog(link, log, { resume, job, ...(effects ? { performEffect: effects.perform } : {}), requests: child.stdio[4] as Socket, onBroken: (why) => (io.err(`loom: ${why}; stopping the app\n`), killConfined(child)) })
    let server: RunningServer | null = null
    // Served once the app is open (as before: a notebook that does not compile serves nothing).
    if (port !== undefined && log && (await host.ready)) {
      try {
        server = await serveHttp(host.app, { port, reserved: reflection(host.app, log, (p.options['sys-prefix'] as string | undefined) ?? '/sys') })
      } catch (err) {
        killConfined(child)
        throw err
      }
      io.err(`loom: serving ${server.url}\n`)
    }
    // --watch: this process watches the file (the confined one cannot see the folder) and sends each saved text.
    const watcher = job.watch ? watchNotebook(p.args.notebook!, io, text, (saved) => (effects?.update(saved), host.push({ push: 'code', text: saved }))) : null
    if (watcher) io.err(`loom: watching ${p.args.notebook} for changes\n`)
    // The confined process has its own session (no terminal signals), and bwrap passes none on: a stop goes
    // down the link and the app ends normally (everything durable, the summary said); a second one kills it.
    let stops = 0
    const onSignal = () => void (stops++ ? killConfined(child) : host.push({ push: 'stop' }))
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on('exit', (c, s) => done([c, s])))
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    watcher?.close()
    await server?.close()
    if (io.stdin) io.stdin.unpipe?.(child.stdin!)
    // Commits it sent before it ended are written (or refused) before the log closes.
    await host.drained()
    // Its output may still be in the pipes.
    await Promise.all([child.stdout, child.stderr].map((s) => (s!.readableEnded ? null : new Promise((r) => s!.once('close', r)))))
    if (heap.outOfMemory(code, signal)) {
      // What was in flight is known only as "after the last committed event": the batch under way (up to
      // 16 steps, or the requests queued) was not committed.
      const at = log ? ` in a transaction after event ${log.head} of branch '${log.branch}': nothing after event ${log.head} was committed, and every event up to it is in the log (loom replay ${log.path} --verify checks it)` : ''
      io.err(`loom: ${ranOutOfMemory('the app', launch.memoryMb, at)}. A cell keeps more than fits, or allocates without end.\n`)
      return 1
    }
    if (signal) io.err(`loom: the app's process ended by ${signal}\n`)
    return code ?? 1
  } finally {
    log?.close()
  }
}

/** `loom test`: the notebook's tests, in a confined process like `loom run` (no log). */
export async function testCommand(p: Parsed, io: Io): Promise<number> {
  return runConfined(p, io, 'test')
}

/**
 * Live coding from the editor of your choice: each save recompiles; a change
 * that compiles becomes a code event, one that does not is refused and the
 * old code keeps running.
 */
function watchNotebook(path: string, io: Io, running: string, onText: (text: string) => void): FSWatcher {
  let timer: NodeJS.Timeout | null = null
  let last = running
  const reload = async () => {
    let text: string
    try {
      text = decodeNotebook(await readFile(path), path)
    } catch (err) {
      if (err instanceof NotebookError) io.err(`loom: the change was refused; the old code keeps running:\n${err.message}\n`)
      return // mid-save (some editors replace the file): the next event brings it
    }
    if (text === last) return
    // A shell's `>` empties the file before it writes: an app with no cells is a save in progress, not new code.
    if (!codeCells(text, path)) {
      io.err(`loom: ${path} has no code cells now (a save in progress?); the old code keeps running\n`)
      return
    }
    last = text
    onText(text)
  }
  // Watch the folder: editors that save by renaming would end a watch on the file itself.
  return watch(dirname(path), (_event, name) => {
    if (name !== basename(path)) return
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => reload().catch((err) => io.err(`loom: the change could not be loaded; the old code keeps running:\n${(err as Error).message}\n`)), 50)
  })
}

/** How many code cells a notebook's text has; a notebook that does not parse counts as some (its error is reported on loading). */
function codeCells(text: string, path: string): number {
  try {
    return parseNotebook(text, path).cells.length
  } catch {
    return 1
  }
}

/**
 * `loom replay`: a confined process that re-executes the batches verifyBranch
 * hands it (engine/replay/replay.ts BatchChecker); the log stays here and is
 * only read over the link. `stop` ends the process once the replay is done.
 */
export function startReplay(log: SqliteLog, branch: string, io: Io, timeLimitMs?: number): { replayer: (from: number) => BatchChecker; stop: () => Promise<void> } {
  let started: { child: ReturnType<typeof spawn>; host: ReturnType<typeof serveLog>; exited: Promise<void>; gone: () => string } | null = null
  const start = (from: number) => {
    const launch = runLaunch(null)
    if (launch.os.notice) io.err(`loom: ${launch.os.notice}\n`)
    const before = from > 1 ? seekStore(log, { branch, seq: from - 1 }).serialize() : undefined
    const job: RunJob = { kind: 'replay', replay: { branch, from, before }, notebook: '', text: '', shownAs: '', timeLimitMs, env: {}, args: [], json: false, untilIdle: false, watch: false, serving: false }
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] })
    const heap = forwardOutput(child, io)
    const host = serveLog(child.stdio[3] as Socket, null, { resume: undefined, job, reader: log, requests: child.stdio[4] as Socket, onBroken: (why) => (io.err(`loom: ${why}; stopping the replay\n`), killConfined(child)) })
    const exited = new Promise<void>((done) => child.on('exit', () => done()))
    const gone = () => (heap.reported ? ranOutOfMemory('the replay process', launch.memoryMb, ` re-executing the events after ${from - 1}`) : 'the replay process ended before it answered')
    return (started = { child, host, exited, gone })
  }
  return {
    replayer: (from) => {
      const { host, gone } = started ?? start(from)
      return {
        checkAll: async (events, bodies) => {
          const failure = (await host.check(events, bodies ?? [])) as Divergence | { gone: true } | { error: string } | null
          if (failure && 'gone' in failure) throw new Error(gone())
          if (failure && 'error' in failure) throw new Error(`the replay failed: ${failure.error}`)
          return failure
        },
      }
    },
    stop: async () => {
      if (!started) return
      started.host.push({ push: 'stop' })
      const timer = setTimeout(() => killConfined(started!.child), 10_000)
      await started.exited
      clearTimeout(timer)
    },
  }
}

/**
 * `loom run --fresh`: the app starts again from its initial state on a new
 * branch with no history (named by --branch, else after the live one), which
 * becomes the live branch. Nothing is deleted: the old branch keeps its events.
 */
function startAfresh(log: SqliteLog, name: string | undefined, io: Io): void {
  const old = log.branchInfo(log.live)
  if (!old || (old.head === 0 && name === undefined)) return
  const branch = name ?? log.unusedName(`${old.name}-fresh`)
  if (log.branchInfo(branch)) throw new HistoryError(`--fresh starts a new branch, and '${branch}' exists already: name another with --branch, or leave --fresh out to continue it`)
  log.makeBranch(branch, null)
  log.promote(branch)
  log.continueOn(branch)
  io.err(`loom: --fresh: branch '${branch}' starts from the app's initial state and is now the live branch; '${old.name}' keeps its ${old.head} events\n`)
}

/** A job's answer that says it failed: `kind` tells the command which of its errors to give. */
export class JobFailed extends Error {
  constructor(readonly kind: 'input' | 'nondeterminism' | 'range' | 'other', message: string) {
    super(message)
  }
}

/**
 * A job that answers once (explore, a trace to commit, replay --code), in a
 * confined process like `loom run`'s (one launcher: runLaunch). `log`, when
 * given, is served at its open branch: whatever the job commits is checked and
 * written here (logHost.ts). `feed` sends it work over the link while it runs
 * (replay batches). Resolves with its answer; throws JobFailed with its error,
 * or an Error when it ended without one.
 */
export async function confinedJob(job: RunJob, io: Io, options: { log?: SqliteLog | null; threads?: boolean; feed?: (host: ReturnType<typeof serveLog>) => Promise<void>; stoppable?: boolean; scratch?: boolean } = {}): Promise<unknown> {
  // `scratch`: a folder of its own it may write (exploration's levels spill there), removed however the job ends.
  const scratch = options.scratch ? scratchFolder() : null
  try {
    return await runJobConfined(scratch ? { ...job, scratch: scratch.path } : job, io, options, scratch?.path)
  } finally {
    scratch?.remove()
  }
}

async function runJobConfined(job: RunJob, io: Io, options: Parameters<typeof confinedJob>[2] & {}, scratch: string | undefined): Promise<unknown> {
  const launch = runLaunch(job.notebook || null, { threads: options.threads, scratch })
  if (launch.os.notice) io.err(`loom: ${launch.os.notice}\n`)
  // Its own process group, as loom run's: a terminal's Ctrl-C reaches only this launcher, which asks the job to stop.
  const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true })
  const heap = forwardOutput(child, io)
  let answer: JobAnswer | null = null
  let brokenBy: string | null = null
  const host = serveLog(child.stdio[3] as Socket, options.log ?? null, {
    resume: undefined, job, requests: child.stdio[4] as Socket,
    onResult: (value) => (answer = value as JobAnswer),
    onBroken: (why) => ((brokenBy = why), killConfined(child)),
  })
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on('exit', (c, sig) => done([c, sig])))
  // Ctrl-C or SIGTERM ends the job and this process as they did before it was confined (the OS sandbox
  // passes no signal on, and without it the confined process might not hear one).
  // `stoppable`: the first signal asks the job to stop and answer with what it has (it says so); a second ends it.
  let asked = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (options.stoppable && !asked) {
      asked = true
      return host.push({ push: 'stop' })
    }
    killConfined(child)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.kill(process.pid, signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    // Work it cannot take (it ended: its answer says why) or this side cannot give (a damaged log) ends the job.
    let unfed: Error | null = null
    if (options.feed) {
      try {
        await options.feed(host)
        host.push({ push: 'stop' })
      } catch (err) {
        unfed = err as Error
        killConfined(child)
      }
    }
    const [code, signal] = await exited
    await host.drained()
    await Promise.all([child.stdout, child.stderr].map((s) => (s!.readableEnded ? null : new Promise((r) => s!.once('close', r)))))
    const a = answer as JobAnswer | null
    if (unfed && !(a && typeof a === 'object' && a.ok === false)) throw unfed
    if (!a || typeof a !== 'object' || typeof a.ok !== 'boolean') {
      if (heap.outOfMemory(code, signal)) throw new Error(ranOutOfMemory('the confined process that runs the cells', launch.memoryMb))
      throw new Error(`the confined process ended (${signal ?? `exit ${code}`}) without an answer${brokenBy ? `: ${brokenBy}` : ''}`)
    }
    if (a.ok) return a.value
    const kinds = ['input', 'nondeterminism', 'range', 'other'] as const
    const e: Record<string, unknown> = isRecord(a.error) ? a.error : {}
    throw new JobFailed(kinds.includes(e.kind as never) ? (e.kind as JobFailed['kind']) : 'other', typeof e.message === 'string' ? e.message : 'the job failed')
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (child.exitCode === null && child.signalCode === null) killConfined(child)
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * A confined process's output, on to the terminal screened (printable.ts: a
 * notebook's text cannot set the clipboard or clear the screen): its stdout,
 * and its stderr, watched for V8's out-of-memory report.
 */
function forwardOutput(child: ChildProcess, io: Io): HeapDeathWatch {
  const out = terminalStream()
  const err = terminalStream(true)
  child.stdout!.setEncoding('utf8').on('data', (t: string) => io.out(out(t))).on('end', () => io.out(out()))
  const heap = watchHeapDeath(child.stderr!, (t) => io.err(err(t)))
  child.stderr!.on('end', () => io.err(err()))
  return heap
}
