// The log's errors, typed: a file that cannot be used as a log, and a log
// whose history is damaged (with each damage: branch, event, what is wrong).

/** A file that is not a Loom log, is damaged, or is from a newer Loom: exit 2, with what to do. */
export class LogFormatError extends Error {}

/** The file cannot be read as a Loom log at all (not SQLite, not Loom's schema, SQLite says it is malformed). */
export class UnreadableLogError extends LogFormatError {}

export type DamageCode =
  /** An event's stored bytes do not hash to its stored hash. */
  | 'hash-mismatch'
  /** A stored group commit cannot be decoded (its rows do not fit together). */
  | 'unreadable-chunk'
  /** Events that were acknowledged (the heads record says so) are not in the log. */
  | 'missing-events'
  /** The log holds an event where one was acknowledged, but not the one acknowledged. */
  | 'ack-mismatch'
  | 'snapshot-mismatch'
  | 'code-mismatch'
  /** The heads record itself cannot be read, or a branch's slot in it is damaged. */
  | 'heads-damaged'

/** One thing wrong with a log: where (branch, first event, last event for a range) and what, in words. */
export interface Damage {
  code: DamageCode
  /** The branch that holds the damaged events; null when it is the whole log's (its heads record). */
  branch: string | null
  seq: number
  to?: number
  message: string
}

/**
 * A log that is damaged where the caller needs it sound (appending to a
 * damaged branch, reading an unreadable event): the engine's typed error,
 * `{ code, message, where }`, with every damage found.
 */
export class LogDamageError extends LogFormatError {
  readonly code = 'log-damaged'
  readonly where: { file: string }
  constructor(message: string, readonly path: string, readonly damage: Damage[]) {
    super(message)
    this.where = { file: path }
  }
}
