// What the engine process and its supervisor say to each other over IPC
// (a Node child process's channel, or Electron's utilityProcess port): the
// protocol's messages wrapped with the connection they belong to, plus
// start and stop. Plain JSON, like everything else on the way to the UI.
import type { Message } from '../protocol/messages.ts'
import type { HostOptions } from './EngineHost.ts'

export type ToEngine =
  | { start: HostOptions }
  | { conn: number; open: true }
  | { conn: number; message: unknown }
  | { conn: number; close: true }
  | { stop: true }

export type FromEngine =
  | { ready: { pid: number } }
  | { fatal: string }
  | { conn: number; message: Message }

/** One running engine process, whatever started it. */
export interface EngineProcess {
  readonly pid: number | undefined
  send(message: ToEngine): void
  onMessage(fn: (message: FromEngine) => void): void
  /** Called once when the process ends, with why (`signal SIGKILL`, `exit code 1`). */
  onExit(fn: (reason: string) => void): void
  kill(): void
}

/**
 * Starts a new engine process (child_process.fork under `loom serve`, utilityProcess.fork in Electron)
 * for these options: the files it may write are fixed when it starts.
 */
export type SpawnEngine = (options: HostOptions) => EngineProcess
