// The engine process under `loom serve`: a Node child process talking over
// its IPC channel, confined by Node's permission model (engineLaunch.ts).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { HostOptions } from './EngineHost.ts'
import type { EngineProcess, FromEngine } from './engineLink.ts'
import { engineLaunch, type LaunchOptions } from './engineLaunch.ts'
import { sendCompiledCells } from './sendCompiledCells.ts'

/**
 * The engine process's TypeScript entry (registers tsx, then runs engineProcess.ts):
 * for what runs the engine unconfined from source, such as a test of the process itself.
 */
export const ENGINE_ENTRY = fileURLToPath(new URL('./engineProcess.boot.js', import.meta.url))

export function forkEngine(options: HostOptions, launch: LaunchOptions = {}): EngineProcess {
  const { entry, execArgv, env, done } = engineLaunch(options, launch)
  // Only the confinement's flags: not those of whoever started us (a test runner's tsx among them).
  const child = fork(entry, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
  const exits: ((reason: string) => void)[] = []
  let ended: string | null = null
  child.on('error', () => {}) // a send to a process that just died: its exit says what happened
  child.on('exit', (code, signal) => {
    ended = signal ? `signal ${signal}` : `exit code ${code}`
    done()
    for (const fn of exits) fn(ended)
  })
  return sendCompiledCells({
    get pid() {
      return child.pid
    },
    send(message) {
      if (child.connected) child.send(message)
    },
    onMessage(fn) {
      child.on('message', (m) => fn(m as FromEngine))
    },
    onExit(fn) {
      if (ended !== null) fn(ended)
      else exits.push(fn)
    },
    kill() {
      child.kill('SIGKILL')
    },
  })
}
