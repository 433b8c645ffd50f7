// `loom run` and `loom test`: the app headless, with its log (run) or
// without one, checking every test (test).
import { parseNotebook, type Engine, type EngineOptions } from '../index.ts'
import type { Parsed } from './args.ts'
import { plural, type Io } from './main.ts'
import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import type { Socket } from 'node:net'
import { basename, dirname, resolve } from 'node:path'
import { openSession, resumeFrom, defaultDbPath } from '../replay/session.ts'
import { SqliteLog } from '../replay/sqliteLog.ts'
import { serveLog } from '../replay/logHost.ts'
import { serveHttp, type RunningServer } from '../runtime/server.ts'
import { reflection } from '../replay/reflect.ts'
import { runLaunch } from '../host/engineLaunch.ts'
import type { RunJob } from '../host/runProcess.ts'
import { loop } from './runLoop.ts'

function engineOptions(p: Parsed): EngineOptions {
  return { timeLimitMs: p.options['time-limit'] as number | undefined, env: p.env, args: p.rest }
}

export async function runCommand(p: Parsed, io: Io): Promise<number> {
  // The app's cells run in a confined process (DESIGN §9), except — for now — when it serves HTTP or is
  // live-coded: those still run here, unconfined, and say so.
  const text = await readFile(p.args.notebook!, 'utf8')
  const serves = p.options.port !== undefined || parseNotebook(text, p.args.notebook!).settings.http !== undefined
  if (!serves) return runConfined(p, io, 'run')
  io.err('loom: serving HTTP: the app runs in this process, not confined (DESIGN §9 not yet covered)\n')
  return runHere(p, io)
}

/**
 * `loom run` with the cells in a confined process (engineLaunch.ts runLaunch):
 * this process keeps the SQLite log and writes what the confined one commits
 * (engine/replay/logHost.ts); the confined one runs the notebook.
 */
async function runConfined(p: Parsed, io: Io, kind: 'run' | 'test'): Promise<number> {
  const notebook = resolve(p.args.notebook!)
  // `loom test` keeps no log: the link only carries the job.
  const log = kind === 'run' ? SqliteLog.open((p.options.db as string | undefined) ?? defaultDbPath(notebook), { branch: p.options.branch as string | undefined, writerThread: true, fsync: !p.options['no-fsync'] }) : null
  try {
    if (log?.droppedAtOpen) io.err(`loom: ${log.path}: cut ${plural(log.droppedAtOpen, 'unacknowledged event')} from a damaged tail\n`)
    const launch = runLaunch(notebook)
    if (launch.os.notice) io.err(`loom: ${launch.os.notice}\n`)
    const job: RunJob = {
      kind, notebook, shownAs: p.args.notebook!, timeLimitMs: p.options['time-limit'] as number | undefined, env: p.env, args: p.rest,
      json: !!p.options.json, steps: p.options.steps as number | undefined, untilIdle: !!p.options['until-idle'], watch: kind === 'run' && !!p.options.watch,
    }
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
    child.stdout!.setEncoding('utf8').on('data', (t: string) => io.out(t))
    child.stderr!.setEncoding('utf8').on('data', (t: string) => io.err(t))
    child.stdin!.on('error', () => {})
    if (io.stdin && !p.options['until-idle']) io.stdin.pipe(child.stdin!)
    else child.stdin!.end()
    const link = child.stdio[3] as Socket
    const host = serveLog(link, log, { resume: log ? resumeFrom(log) : undefined, job, onBroken: (why) => (io.err(`loom: ${why}; stopping the app\n`), child.kill('SIGKILL')) })
    // --watch: this process watches the file (the confined one cannot see the folder) and sends each saved text.
    const watcher = job.watch ? watchNotebook(p.args.notebook!, (text) => host.push({ push: 'code', text })) : null
    if (watcher) io.err(`loom: watching ${p.args.notebook} for changes\n`)
    // The confined process has its own session (no terminal signals), and bwrap passes none on: a stop goes
    // down the link and the app ends normally (everything durable, the summary said); a second one kills it.
    let stops = 0
    const onSignal = () => void (stops++ ? child.kill('SIGKILL') : host.push({ push: 'stop' }))
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on('exit', (c, s) => done([c, s])))
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    watcher?.close()
    if (io.stdin) io.stdin.unpipe?.(child.stdin!)
    // Its output may still be in the pipes.
    await Promise.all([child.stdout, child.stderr].map((s) => (s!.readableEnded ? null : new Promise((r) => s!.once('close', r)))))
    if (signal) io.err(`loom: the app's process ended by ${signal}\n`)
    return code ?? 1
  } finally {
    log?.close()
  }
}

/** `loom run` with the app in this process (HTTP and --watch, until they are confined too). */
async function runHere(p: Parsed, io: Io): Promise<number> {
  const json = !!p.options.json
  const steps = p.options.steps as number | undefined
  const untilIdle = !!p.options['until-idle']
  const { engine, log, dropped, resumedAt } = await openSession(p.args.notebook!, { ...engineOptions(p), db: p.options.db as string | undefined, branch: p.options.branch as string | undefined, fsync: !p.options['no-fsync'] })
  if (dropped) io.err(`loom: ${log.path}: cut ${plural(dropped, 'unacknowledged event')} from a damaged tail\n`)
  let tty = ''
  engine.on('tty', (text) => (json ? (tty += text) : io.out(text)))
  const port = (p.options.port as number | undefined) ?? engine.notebook.settings.http
  let server: RunningServer | null = null
  let watcher: FSWatcher | null = null
  // Stopping by signal is a normal end: close the server, make everything durable, say where it stopped.
  let stopped = false
  const onSignal = () => {
    stopped = true
    engine.pause()
  }
  try {
    if (port !== undefined) {
      server = await serveHttp(engine, { port, reserved: reflection(engine, log, (p.options['sys-prefix'] as string | undefined) ?? '/sys') })
      io.err(`loom: serving ${server.url}\n`)
    }
    if (p.options.watch) {
      watcher = watchNotebook(p.args.notebook!, replaceHere(engine, io))
      io.err(`loom: watching ${p.args.notebook} for changes\n`)
    }
    if (server || watcher) {
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
    }
    return await loop(engine, { json, steps, untilIdle, resumedAt, tty: () => tty, serving: !!(server || watcher), stopped: () => stopped }, io)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    watcher?.close()
    await server?.close()
    log.close()
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
function watchNotebook(path: string, onText: (text: string) => void): FSWatcher {
  let timer: NodeJS.Timeout | null = null
  let last = ''
  const reload = async () => {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch {
      return // mid-save (some editors replace the file): the next event brings it
    }
    if (text === last) return
    last = text
    onText(text)
  }
  // Watch the folder: editors that save by renaming would end a watch on the file itself.
  return watch(dirname(path), (_event, name) => {
    if (name !== basename(path)) return
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => void reload(), 50)
  })
}

/** Live coding in this process: a change that compiles becomes a code event, one that does not is refused. */
function replaceHere(engine: Engine, io: Io): (text: string) => void {
  return (text) =>
    void engine.replaceCode(text).then((r) => {
      if (r.ok) io.err(`loom: new code running from event ${r.event.seq} (${r.event.codeHash.slice(0, 12)})\n`)
      else if (r.error !== 'the code did not change') io.err(`loom: the change was refused; the old code keeps running:\n${r.error}\n`)
    })
}
