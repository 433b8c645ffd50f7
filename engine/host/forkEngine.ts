// The engine process under `loom serve` and in the desktop app: a Node child
// process talking over a socket pair on its fd 3 in our own frames
// (engine/replay/logLink.ts), not Node's IPC channel — Node parses that
// channel's JSON itself and throws in this process on garbage, so a broken
// engine could end `loom serve`. Its log is held here, in the supervisor,
// which runs no cell code: the engine process loads no SQLite (no native
// addon at all) and reaches its log over a second socket pair on its fd 4
// (engine/replay/logHost.ts answers; linkedLog.ts asks). It is confined by
// Node's permission model and the OS sandbox (engineLaunch.ts).
import { savedFilePerformer } from '../runtime/effects/grantedPerformer.ts'
import { untilAllowed, waitingWords } from './allowedGrants.ts'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Socket } from 'node:net'
import { resolve } from 'node:path'
import { frame, FrameReader } from '../replay/logLink.ts'
import { fileURLToPath } from 'node:url'
import type { SqliteLog } from '../replay/sqliteLog.ts'
import { serveLog } from '../replay/logHost.ts'
import { defaultDbPath } from '../replay/dbPath.ts'
import type { HostOptions } from './EngineHost.ts'
import { readSaveRequest, type EngineProcess, type FromEngine, type SaveRequest } from './engineLink.ts'
import { writeAtomically } from './saveNotebook.ts'
import { engineLaunch, evalMemoryMb, type LaunchOptions } from './engineLaunch.ts'
import { sendCompiledCells } from './sendCompiledCells.ts'
import { relayEvaluator } from './evaluatorSpawn.ts'
import { ranOutOfMemory, watchHeapDeath } from './heapDeath.ts'
import { EVALUATOR_FD } from './evaluatorFd.ts'
import type { AppPort } from './appPort.ts'
import { killConfined } from './killConfined.ts'

/**
 * The engine process's TypeScript entry (registers tsx, then runs engineProcess.ts):
 * for what runs the engine unconfined from source, such as a test of the process itself.
 */
export const ENGINE_ENTRY = fileURLToPath(new URL('./engineProcess.boot.js', import.meta.url))

/** The log each engine process of a session was given, by file: a new process's open closes an ended one's if it is still open. */
const held = new Map<string, SqliteLog>()

/** What a session keeps across its engine processes: the app's own port, which each new process is attached to. */
export interface SessionParts {
  appPort?: AppPort
}

export function forkEngine(options: HostOptions, launch: LaunchOptions = {}, session: SessionParts = {}): EngineProcess {
  const { entry, execArgv, env, os, memoryMb } = engineLaunch(options, launch)
  // Only the confinement's flags: not those of whoever started us (a test runner's tsx among them). Inside the
  // OS sandbox where there is one: no network, and of the disk only what it reads and the session's folders.
  // In the desktop app execPath is Electron's binary, which runs as plain Node with this set.
  const childEnv = process.versions.electron ? { ...env, ELECTRON_RUN_AS_NODE: '1' } : env
  const wrapped = os.sandbox.wrap(process.execPath, [...execArgv, entry], os.read, '/', os.writable, childEnv)
  // fd 5: the REPL's and the queries' evaluator process, started here (the engine may start no process).
  const child = spawn(wrapped.command, wrapped.args, { env: childEnv, stdio: ['ignore', 'inherit', 'pipe', 'pipe', 'pipe', 'pipe'] })
  const heap = watchHeapDeath(child.stderr!, (text) => void process.stderr.write(text))
  const evaluatorMb = evalMemoryMb()
  relayEvaluator((child.stdio as unknown as Socket[])[EVALUATOR_FD]!, evaluatorMb)
  const link = child.stdio[3] as Socket
  link.on('error', () => {}) // the process's exit says what happened
  holdLog(options, child.stdio[4] as Socket, () => killConfined(child), session.appPort)
  const receivers: ((m: FromEngine) => void)[] = []
  const reader = new FrameReader()
  link.on('data', (bytes: Buffer) => {
    reader.push(bytes)
    // Its shape is checked by the supervisor (engineLink.ts readFromEngine); a Save is answered here.
    reader.drain((m) => {
      const save = readSaveRequest(m)
      if (save) void saveFor(save)
      else receivers.forEach((fn) => fn(m as FromEngine))
    }, (err) => {
      // Not a frame of ours: the engine is broken (or broken into). It goes; the supervisor starts another.
      process.stderr.write(`loom: the engine process sent what is not a message (${err.message}); it is stopped\n`)
      link.destroy()
      killConfined(child)
    })
  })
  /** Saves one after another, in the order asked: the notebook named in the options, never another file. */
  let saving: Promise<void> = Promise.resolve()
  const notebook = resolve(options.notebook)
  const saveFor = (r: SaveRequest) =>
    (saving = saving.then(async () => {
      let error: string | null = null
      try {
        await writeAtomically(notebook, r.save.text)
      } catch (err) {
        error = `not saved: ${(err as Error).message}`
      }
      if (!link.destroyed) link.write(frame({ saved: { id: r.save.id, error } }))
    }))
  const exits: ((reason: string) => void)[] = []
  let ended: string | null = null
  child.on('error', () => {}) // a send to a process that just died: its exit says what happened
  child.on('exit', (code, signal) => {
    ended = heap.outOfMemory(code, signal) ? ranOutOfMemory('it', memoryMb) : signal ? `signal ${signal}` : `exit code ${code}`
    for (const fn of exits) fn(ended)
  })
  return sendCompiledCells({
    get pid() {
      return child.pid
    },
    send(message) {
      // The engine learns here that its evaluator is on fd 5, and its limit.
      if ('start' in message) message = { start: { ...message.start, evaluatorMb } }
      if (!link.destroyed) link.write(frame(message))
    },
    onMessage(fn) {
      receivers.push(fn)
    },
    onExit(fn) {
      if (ended !== null) fn(ended)
      else exits.push(fn)
    },
    kill() {
      killConfined(child)
    },
  })
}

/**
 * Serves the session's log to one engine process on `link` (its fd 4): opened
 * when the engine asks (the file and branch are the supervisor's: the
 * options), closed once the link has closed and everything received is
 * written. A request that breaks the link's rules ends that engine process
 * (`kill`); the supervisor starts another, which opens the log afresh.
 */
function holdLog(options: HostOptions, link: Socket, kill: () => void, appPort?: AppPort): void {
  const db = resolve(options.db ?? defaultDbPath(options.notebook))
  let log: SqliteLog | null = null
  // Loaded here, after the process has started: `loom serve` prints its address without waiting for SQLite.
  let SqliteLog: typeof import('../replay/sqliteLog.ts').SqliteLog
  const loaded = import('../replay/sqliteLog.ts').then((m) => void (SqliteLog = m.SqliteLog))
  const openLog = (create: boolean): SqliteLog => {
    // An ended engine's log not yet closed (its link closes as it exits): everything it sent is written by now or never acknowledged.
    held.get(db)?.close()
    log = SqliteLog.open(db, { create, branch: options.branch, writerThread: true })
    held.set(db, log)
    // The app's port relays to this process from now on (its requests come back over this link).
    detach?.()
    detach = appPort?.attach(host.app, log)
    return log
  }
  // A log that is there is opened while the engine process boots, not when it asks (what goes wrong is its answer
  // then) — and after this turn, so that `loom serve` prints its address first.
  let early: { log: SqliteLog } | { error: unknown } | null = null
  let detach: (() => void) | undefined
  let soon = existsSync(db)
  const openEarly = () => {
    if (!soon) return
    soon = false
    try {
      early = { log: openLog(false) }
    } catch (error) {
      early = { error }
    }
  }
  const ready = loaded.then(openEarly)
  ready.catch(() => {}) // the engine's open is answered with it
  const host = serveLog(link, null, {
    resume: undefined,
    job: null,
    // Safe reads leave through this process only, where the saved notebook grants them.
    // Only grants you allowed: until then its reads and actions wait (allowedGrants.ts).
    performEffect: savedFilePerformer(resolve(options.notebook), untilAllowed(resolve(options.notebook), (what) => void process.stderr.write(waitingWords(options.notebook, what)))),
    open: async (create) => {
      await ready
      const opened = early
      early = null
      if (opened && 'log' in opened) return opened.log
      if (opened) throw opened.error
      return create || existsSync(db) ? openLog(create) : null
    },
    openSide: (branch, fsync) => SqliteLog.open(db, { create: false, branch, fsync }),
    onBroken: (why) => {
      process.stderr.write(`loom: ${why}; the engine process is stopped\n`)
      kill()
    },
  })
  void host.closed.then(async () => {
    detach?.()
    await host.drained()
    if (held.get(db) === log) held.delete(db)
    try {
      log?.close()
    } catch (err) {
      process.stderr.write(`loom: closing ${db}: ${(err as Error).message}\n`)
    }
  })
}
