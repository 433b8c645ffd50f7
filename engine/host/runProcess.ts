// The confined process of `loom run` (DESIGN §9): the only process that runs
// the notebook's cells. It is started by runConfined (engine/cli/run.ts)
// through engineLaunch's runLaunch: Node's permission model with no addons,
// no child processes, no threads and no file writes; an empty environment;
// and, where the OS has one, its sandbox (no network, no view of the user's
// files). Its log is a RemoteLog: SQLite, a native addon, stays in the
// process that started this one.
//
// Nothing here may import SQLite, even indirectly.
import { Engine } from '../runtime/engine.ts'
import { NotebookError } from '../runtime/notebook.ts'
import { CompileError } from '../runtime/compile.ts'
import { LoadError } from '../runtime/executor.ts'
import { RemoteLog } from '../replay/remoteLog.ts'
import { loop, runTests } from '../cli/runLoop.ts'
import { MemoryLog } from '../runtime/log.ts'
import type { Io } from '../cli/main.ts'

/** What `loom run` asks of this process (sent by the log host with the open answer). */
export interface RunJob {
  kind: 'run' | 'test'
  notebook: string
  /** The notebook's path as the user gave it, for messages. */
  shownAs: string
  timeLimitMs?: number
  /** The notebook's configuration: what sys.env shows. Not this process's environment, which is empty. */
  env: Record<string, string>
  args: string[]
  json: boolean
  steps?: number
  untilIdle: boolean
}

const io: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stdin: process.stdin,
}

async function main(): Promise<number> {
  const log = RemoteLog.open()
  const job = log.opened.job as RunJob
  let engine: Engine
  try {
    engine = job.kind === 'test'
      ? await Engine.open(job.notebook, { timeLimitMs: job.timeLimitMs, env: job.env, args: job.args, checkTests: true, log: new MemoryLog() })
      : await Engine.open(job.notebook, { timeLimitMs: job.timeLimitMs, env: job.env, args: job.args, log, branch: log.branch, resume: log.opened.resume ?? undefined })
  } catch (err) {
    log.close()
    if (err instanceof NotebookError || err instanceof CompileError || err instanceof LoadError) {
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
  let tty = ''
  engine.on('tty', (text) => (job.json ? (tty += text) : io.out(text)))
  // The launcher forwards a stop (Ctrl-C, SIGTERM): a normal end, everything durable.
  process.once('SIGINT', () => engine.pause())
  process.once('SIGTERM', () => engine.pause())
  try {
    return await loop(engine, { json: job.json, steps: job.steps, untilIdle: job.untilIdle, resumedAt: log.opened.head, tty: () => tty, serving: false }, io)
  } finally {
    log.close()
  }
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (err: Error) => {
    process.stderr.write(`loom: ${err.stack ?? err.message}\n`)
    process.exit(70)
  },
)
