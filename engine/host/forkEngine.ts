// The engine process under `loom serve`: a Node child process talking over
// a socket pair on its fd 3 in our own frames (engine/replay/logLink.ts), not
// Node's IPC channel — Node parses that channel's JSON itself and throws in
// this process on garbage, so a broken engine could end `loom serve`. It is
// confined by Node's permission model (engineLaunch.ts).
import { spawn } from 'node:child_process'
import type { Socket } from 'node:net'
import { frame, FrameReader } from '../replay/logLink.ts'
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
  const { entry, execArgv, env, os, done } = engineLaunch(options, launch)
  // Only the confinement's flags: not those of whoever started us (a test runner's tsx among them). Inside the
  // OS sandbox where there is one: no network, and of the disk only what it reads and the session's folders.
  const wrapped = os.sandbox.wrap(process.execPath, [...execArgv, entry], os.read, '/', os.writable, env)
  const child = spawn(wrapped.command, wrapped.args, { env, stdio: ['ignore', 'inherit', 'inherit', 'pipe'] })
  const link = child.stdio[3] as Socket
  link.on('error', () => {}) // the process's exit says what happened
  const receivers: ((m: FromEngine) => void)[] = []
  const reader = new FrameReader()
  link.on('data', (bytes: Buffer) => {
    reader.push(bytes)
    // Its shape is checked by the supervisor (engineLink.ts readFromEngine).
    reader.drain((m) => receivers.forEach((fn) => fn(m as FromEngine)), (err) => {
      // Not a frame of ours: the engine is broken (or broken into). It goes; the supervisor starts another.
      process.stderr.write(`loom: the engine process sent what is not a message (${err.message}); it is stopped\n`)
      link.destroy()
      child.kill('SIGKILL')
    })
  })
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
      child.kill('SIGKILL')
    },
  })
}
