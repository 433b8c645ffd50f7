// `loom run` and `loom test`: the app headless, with its log (run) or
// without one, checking every test (test).
import { Engine, formatLocation, type EngineOptions } from '../index.ts'
import type { Parsed } from './args.ts'
import { plural, type Io } from './main.ts'
import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { openSession } from '../replay/session.ts'
import { headsPath } from '../replay/dbPath.ts'
import { serveHttp, type RunningServer } from '../runtime/server.ts'
import { decodeNotebook, NotebookError, parseNotebook } from '../runtime/notebook.ts'
import { reflection } from '../replay/reflect.ts'

function engineOptions(p: Parsed): EngineOptions {
  return { timeLimitMs: p.options['time-limit'] as number | undefined, env: p.env, args: p.rest }
}

export async function runCommand(p: Parsed, io: Io): Promise<number> {
  const json = !!p.options.json
  const steps = p.options.steps as number | undefined
  const untilIdle = !!p.options['until-idle']
  // A damaged branch is refused at open (LogDamageError, exit 2: the log given is bad input), saying how to continue.
  const { engine, log, damageAtOpen, headsMissing, resumedAt } = await openSession(p.args.notebook!, { ...engineOptions(p), db: p.options.db as string | undefined, branch: p.options.branch as string | undefined, fsync: !p.options['no-fsync'] })
  for (const d of damageAtOpen) io.err(`loom: ${log.path} is damaged on another branch: ${d.message} (loom replay ${log.path} --verify)\n`)
  if (headsMissing) io.err(`loom: ${log.path} has no record of acknowledged events (${headsPath(log.path)}; an older Loom wrote the log, or the record was removed): a lost WAL cannot be detected for events before this run, which starts the record\n`)
  let tty = ''
  engine.on('tty', (text) => (json ? (tty += text) : io.out(text)))
  const port = (p.options.port as number | undefined) ?? engine.notebook.settings.http
  let server: RunningServer | null = null
  let watcher: FSWatcher | null = null
  // Stopping by signal is a normal end: close the server, make everything durable, say where it stopped.
  const onSignal = () => engine.pause()
  try {
    if (port !== undefined) {
      server = await serveHttp(engine, { port, reserved: reflection(engine, log, (p.options['sys-prefix'] as string | undefined) ?? '/sys') })
      io.err(`loom: serving ${server.url}\n`)
    }
    if (p.options.watch) {
      watcher = watchNotebook(p.args.notebook!, engine, io)
      io.err(`loom: watching ${p.args.notebook} for changes\n`)
    }
    if (server || watcher) {
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
    }
    return await loop(engine, { json, steps, untilIdle, resumedAt, tty: () => tty, serving: !!(server || watcher) }, io)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    watcher?.close()
    await server?.close()
    log.close()
  }
}

async function loop(engine: Engine, p: { json: boolean; steps?: number; untilIdle: boolean; resumedAt: number; tty: () => string; serving: boolean }, io: Io): Promise<number> {

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

  const total = { attempts: 0, steps: 0 }
  for (;;) {
    const left = p.steps === undefined ? undefined : p.steps - total.steps
    const s = await engine.run({ steps: left, untilIdle: true })
    total.attempts += s.attempts
    total.steps += s.steps
    if (s.status === 'halted' || (left !== undefined && total.steps >= p.steps!)) break
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
  io.stdin?.removeAllListeners?.('data')
  if (io.stdin && 'pause' in io.stdin) (io.stdin as NodeJS.ReadStream).pause()

  const status = engine.status === 'parked' ? `waiting (${engine.waiting})` : p.steps !== undefined && total.steps >= p.steps ? `stopped after ${plural(total.steps, 'step')}` : engine.status
  const added = engine.head - p.resumedAt
  if (p.json) {
    io.out(JSON.stringify({ events: engine.head, added, attempts: total.attempts, steps: total.steps, status: engine.status, waiting: engine.waiting, codeHash: engine.codeHash, tty: p.tty(), state: plainState(engine) }) + '\n')
  } else {
    const continued = p.resumedAt ? ` (continued at event ${p.resumedAt})` : ''
    io.err(`loom: ${plural(added, 'event')} committed${continued}, ${plural(total.attempts, 'attempt')} aborted, ${status}\n`)
  }
  return 0
}

export async function testCommand(p: Parsed, io: Io): Promise<number> {
  const engine = await Engine.open(p.args.notebook!, { ...engineOptions(p), checkTests: true })
  let failure = engine.testFailures[0]
  if (!failure) {
    const stop = engine.on('test', () => engine.pause())
    await engine.run({ steps: (p.options.steps as number | undefined) ?? 0, untilIdle: true })
    stop()
    failure = engine.testFailures[0]
  }
  const tests = engine.testCount
  if (p.options.json) {
    io.out(JSON.stringify({ ok: !failure, tests, events: engine.head, failures: engine.testFailures }) + '\n')
    return failure ? 1 : 0
  }
  if (!failure) {
    io.out(`loom: ${tests} test${tests === 1 ? '' : 's'} passed after ${engine.head} events\n`)
    return 0
  }
  const event = engine.events(failure.seq, 1)[0]
  const what = event ? `event ${event.seq} (${event.kind}${event.method && event.method !== event.kind ? ` ${event.method}` : ''})` : `event ${failure.seq}`
  io.err(`loom: test '${failure.test}' failed after ${what}: ${failure.message}\n`)
  io.err(`  at ${formatLocation(p.args.notebook!, failure.location)}\n`)
  for (const [name, value] of Object.entries(failure.saw)) io.err(`  it saw ${name} = ${JSON.stringify(value)}\n`)
  return 1
}

function plainState(engine: Engine): Record<string, unknown> {
  return Object.fromEntries(Object.entries(engine.state()).map(([k, v]) => [k, v.value]))
}

/**
 * Live coding from the editor of your choice: each save recompiles; a change
 * that compiles becomes a code event, one that does not is refused and the
 * old code keeps running.
 */
function watchNotebook(path: string, engine: Engine, io: Io): FSWatcher {
  let timer: NodeJS.Timeout | null = null
  let last: string | null = null
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
    const r = await engine.replaceCode(text)
    if (r.ok) io.err(`loom: new code running from event ${r.event.seq} (${r.event.codeHash.slice(0, 12)})\n`)
    else if (r.error !== 'the code did not change') io.err(`loom: the change was refused; the old code keeps running:\n${r.error}\n`)
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
