// The engine process under `loom serve`: a Node child process talking over
// its IPC channel.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { EngineProcess, FromEngine } from './engineLink.ts'

export const ENGINE_ENTRY = fileURLToPath(new URL('./engineProcess.boot.js', import.meta.url))

export function forkEngine(): EngineProcess {
  // No inherited flags (a test runner's among them): the engine process is a plain Node program.
  const child = fork(ENGINE_ENTRY, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
  const exits: ((reason: string) => void)[] = []
  let ended: string | null = null
  child.on('error', () => {}) // a send to a process that just died: its exit says what happened
  child.on('exit', (code, signal) => {
    ended = signal ? `signal ${signal}` : `exit code ${code}`
    for (const fn of exits) fn(ended)
  })
  return {
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
  }
}
