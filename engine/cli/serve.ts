// `loom serve NB`: the notebook's UI for a browser, on 127.0.0.1 only, until
// the process is told to stop (Ctrl-C). Crashes of the engine process are
// reported here and it is restarted on the same log.
import type { Parsed } from './args.ts'
import type { Io } from './main.ts'
import { serve, type Serving } from '../host/serve.ts'
import { EngineStartError } from '../host/EngineSupervisor.ts'
import { LogBusyError, takeWriterLock } from '../replay/writerLock.ts'
import { defaultDbPath } from '../replay/session.ts'

export async function serveCommand(p: Parsed, io: Io): Promise<number> {
  const notebook = p.args.notebook!
  // Another Loom writing the log is said before an address is printed that would serve nothing. The engine
  // shares this process's lock when it opens the log; this handle goes once it has (or could not).
  let unlock: () => void
  try {
    unlock = takeWriterLock((p.options.db as string | undefined) ?? defaultDbPath(notebook))
  } catch (err) {
    if (!(err instanceof LogBusyError)) throw err
    io.err(`loom: ${err.message}\n`)
    return 2
  }
  let running: Serving
  try {
    running = await serve({
      notebook,
      db: p.options.db as string | undefined,
      branch: p.options.branch as string | undefined,
      port: p.options.port as number | undefined,
      appPort: p.options['app-port'] as number | undefined,
      timeLimitMs: p.options['time-limit'] as number | undefined,
      ...(Object.keys(p.env).length ? { env: p.env } : {}),
      ...(p.options.share || p.options.sync ? { share: { sync: p.options.sync as string | undefined, port: p.options['share-port'] as number | undefined } } : {}),
      say: (line) => io.err(`loom: ${line}\n`),
      // The page loads while the engine process opens the notebook and its log.
      waitForEngine: false,
      events: {
        started: (pid, restarted) => io.err(restarted ? `loom: ${restarted}; restarted it on the same log (engine process ${pid})\n` : `loom: engine process ${pid}\n`),
        gaveUp: (reason) => io.err(`loom: ${reason}\n`),
        garbled: (what) => io.err(`loom: ${what}\n`),
      },
    })
  } catch (err) {
    unlock()
    // The engine process could not open the notebook's log (damaged, or not a Loom log): bad input.
    if (!(err instanceof EngineStartError)) throw err
    io.err(`loom: ${err.message}\n`)
    return 2
  }
  // Heard from now on: a Ctrl-C while the engine starts stops it once it has, letting go of the log's lock.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  io.out(`Loom is serving ${notebook} at ${running.url}\n`)
  if (running.app) io.out(`The app answers HTTP at ${running.app.url} (its history as JSON at ${running.app.url}/sys/log)\n`)
  try {
    await running.ready.finally(unlock)
  } catch (err) {
    await running.close()
    if (!(err instanceof EngineStartError)) throw err
    io.err(`loom: ${err.message}\n`)
    return 2
  }
  if (running.share) {
    io.out(`Shared (sync: ${running.share.syncUrl}/${running.share.room}). Invite links — anyone with a link has its role:\n`)
    for (const [role, link] of Object.entries(running.share.invites)) io.out(`  ${role.padEnd(4)} ${link}\n`)
  }
  await stopped
  await running.close()
  io.err('loom: stopped; everything committed is in the log\n')
  return 0
}
