// Errors as the host answers them: every exception becomes LoomErrors
// (engine/protocol/loomError.ts) by its type, never by reading its text.
import { LoomFailure, loomError, type LoomError, type LoomErrorCode, type Where } from '../protocol/loomError.ts'
import { LogFormatError } from '../replay/logErrors.ts'

/** A request the host will not do, with a message the user can act on; answered as an error response. */
export class Refusal extends LoomFailure {
  constructor(message: string, where?: Where, code: LoomErrorCode = 'refused') {
    super(loomError(code, message, where))
  }
}

/**
 * Every error an exception stands for (a compile error has one per broken
 * place). A damaged or unreadable log is a history error at its file;
 * anything else is a fault of Loom or of the machine, said as it was thrown.
 */
export function errorsOf(err: unknown, file?: string): LoomError[] {
  if (err instanceof LoomFailure) return err.errors
  if (err instanceof LogFormatError) return [loomError('history', err.message, (err as { where?: Where }).where)]
  return [loomError('internal', err instanceof Error ? err.message : String(err), file ? { file } : undefined)]
}

/** The one error a response carries: the first says where, the message keeps them all. */
export function errorOf(err: unknown, file?: string): LoomError {
  const all = errorsOf(err, file)
  if (all.length === 1) return all[0]!
  return { ...all[0]!, message: all.map((p) => p.message).join('\n') }
}
