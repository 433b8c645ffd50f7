// `loom serve NB --app-port 0` in a child process, for tests that talk to the
// app's own HTTP: resolves once it says where the app answers.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ServedApp {
  /** http://127.0.0.1:PORT, where the app's http() answers. */
  app: string
  /** What `loom serve` has said on stderr so far. */
  stderr(): string
  /** Stops it as Ctrl-C does, and waits until it has ended. */
  stop(): Promise<void>
}

export async function serveApp(notebook: string, db: string, env: NodeJS.ProcessEnv = process.env, options: string[] = []): Promise<ServedApp> {
  // An empty renderer folder: these tests need the engine, not the page.
  const renderer = mkdtempSync(join(tmpdir(), 'loom-no-renderer-'))
  const child = spawn(process.execPath, ['bin/loom.js', 'serve', notebook, '--port', '0', '--app-port', '0', '--db', db, ...options], { env: { ...env, LOOM_RENDERER_DIR: renderer }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGINT')
  })
  const app = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /^The app answers HTTP at (http:\/\/127\.0\.0\.1:\d+) /m.exec(out)
      if (m) resolve(m[1]!)
    })
    child.on('exit', (code) => reject(new Error(`loom serve ended (${code}): ${out}${err}`)))
  })
  return { app, stderr: () => err, stop }
}
