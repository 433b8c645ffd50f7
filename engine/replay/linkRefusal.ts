// A refusal crossing the log link, both ways: the log host turns an error into
// a reply that keeps its kind (a damaged or unusable log), and the engine
// process rebuilds the same error from it.
import { LogDamageError, LogFormatError, type Damage } from './logErrors.ts'
import type { Reply } from './logProtocol.ts'

/** A damage error as plain data (it crosses the link, or waits in an Opened). */
export function damageOf(err: LogDamageError | null): { message: string; path: string; damage: unknown[] } | null {
  return err ? { message: err.message, path: err.path, damage: err.damage } : null
}

/** A refusal as it crosses: a damaged or unusable log keeps its kind. */
export function refusalOf(id: number, err: unknown): Reply {
  const e = err as Error
  if (err instanceof LogDamageError) return { id, ok: false, error: e.message, damage: err.damage, path: err.path }
  if (err instanceof LogFormatError) return { id, ok: false, error: e.message, format: true }
  return { id, ok: false, error: String(e?.message ?? err) }
}

/** The error a refusal was made from, rebuilt on the engine process's side. */
export function errorOfRefusal(reply: Extract<Reply, { ok: false }>): Error {
  if (Array.isArray(reply.damage) && typeof reply.path === 'string') return new LogDamageError(reply.error, reply.path, reply.damage as Damage[])
  if (reply.format) return new LogFormatError(reply.error)
  return new Error(reply.error)
}
