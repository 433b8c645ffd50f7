import { loomError, LoomFailure, type Where } from '../protocol/loomError.ts'

/** A history command refused (no such branch or event, a name taken): bad input, exit 2. */
export class HistoryError extends LoomFailure {
  constructor(message: string, where?: Where) {
    super(loomError('history', message, where))
  }
}
