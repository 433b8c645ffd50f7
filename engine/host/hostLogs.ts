// Where EngineHost gets its log: in the engine process under `loom serve`,
// through the supervisor that holds the SQLite file (linkedLogs, engine
// process); in a process that may load SQLite — tests of the host itself —
// straight from the file (localLogs.ts).
import type { HistoryLog } from '../replay/historyLog.ts'
import type { Resume } from '../runtime/engine.ts'

export interface HostLogs {
  /** The session's log; null when there is none yet and `create` is false. */
  open(create: boolean): HistoryLog | null
  /** Where its branch stands, to continue the app from (throws LogDamageError for a damaged branch). */
  resume(log: HistoryLog): Resume | undefined
  /** Another connection to the log, for a branch made while the app runs on (HostAccess.openLog). */
  side(log: HistoryLog, options: { fsync?: boolean }): HistoryLog
}
