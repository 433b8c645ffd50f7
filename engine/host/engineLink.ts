// What the engine process and its supervisor say to each other over fd 3
// (framed, engine/replay/logLink.ts; the log has its own link on fd 4): the
// protocol's messages wrapped with the connection they belong to, plus
// start and stop. Plain JSON, like everything else on the way to the UI.
import type { Message } from '../protocol/messages.ts'
import { readLoomError } from '../protocol/validate.ts'
import type { HostOptions } from './EngineHost.ts'

export type ToEngine =
  | { start: HostOptions }
  | { conn: number; open: true }
  | { conn: number; message: unknown }
  | { conn: number; close: true }
  | { stop: true }
  /** The answer to a SaveRequest: null when the notebook is written. */
  | { saved: { id: number; error: string | null } }

/**
 * The engine process asks its supervisor to write the notebook (Save): it may
 * write no file itself. Answered by forkEngine.ts, for that notebook only.
 */
export interface SaveRequest {
  save: { id: number; text: string }
}

/** A notebook larger than this is not written (the protocol's frames are smaller still). */
export const MAX_NOTEBOOK = 64 * 1024 * 1024

export function readSaveRequest(m: unknown): SaveRequest | null {
  if (!isObject(m) || !isObject(m.save)) return null
  return Number.isSafeInteger(m.save.id) && typeof m.save.text === 'string' && m.save.text.length <= MAX_NOTEBOOK ? (m as unknown as SaveRequest) : null
}

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
 * Starts a new engine process (forkEngine.ts, under `loom serve` and in the desktop app)
 * for these options: the files it may write are fixed when it starts.
 */
export type SpawnEngine = (options: HostOptions) => EngineProcess

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const isConn = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0

/**
 * What the supervisor got from the engine process, if it has the link's shape:
 * a process whose sandbox was broken may send anything, and the serve process
 * must not act on it. The protocol message inside is checked for its kind and
 * id, and a refusal for its LoomError's shape: the rest goes to the UI, which
 * trusts its own engine's answers.
 */
export function readFromEngine(m: unknown): FromEngine | null {
  if (!isObject(m)) return null
  if ('ready' in m) return isObject(m.ready) ? (m as FromEngine) : null
  if ('fatal' in m) return typeof m.fatal === 'string' ? (m as FromEngine) : null
  const msg = m.message
  if (!isConn(m.conn) || !isObject(msg)) return null
  if (msg.kind === 'response') return Number.isSafeInteger(msg.id) && (msg.ok === true || (msg.ok === false && readLoomError(msg.error) !== null)) ? (m as FromEngine) : null
  if (msg.kind === 'notice') return isObject(msg.notice) && typeof msg.notice.type === 'string' ? (m as FromEngine) : null
  return null
}

/** What the engine process got from its supervisor, if it has the link's shape (requests inside are checked by the host). */
export function readToEngine(m: unknown): ToEngine | null {
  if (!isObject(m)) return null
  if ('start' in m) return isObject(m.start) && typeof m.start.notebook === 'string' ? (m as ToEngine) : null
  if ('stop' in m) return m.stop === true ? (m as ToEngine) : null
  if ('saved' in m) return isObject(m.saved) && Number.isSafeInteger(m.saved.id) && (m.saved.error === null || typeof m.saved.error === 'string') ? (m as ToEngine) : null
  if (!isConn(m.conn)) return null
  if (m.open === true || m.close === true || 'message' in m) return m as ToEngine
  return null
}
