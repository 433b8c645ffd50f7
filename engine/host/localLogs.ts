// HostLogs straight from the SQLite file, for an EngineHost in a process that
// may load SQLite (tests of the host; `loom serve`'s engine process uses the
// supervisor's, see engineProcess.ts).
import { existsSync } from 'node:fs'
import { SqliteLog } from '../replay/sqliteLog.ts'
import { resumeFrom } from '../replay/seek.ts'
import type { HostLogs } from './hostLogs.ts'

export function localLogs(db: string, branch: string | undefined): HostLogs {
  return {
    open: (create) => (create || existsSync(db) ? SqliteLog.open(db, { create, branch, writerThread: create }) : null),
    resume: (log) => resumeFrom(log),
    side: (log, options) => SqliteLog.open(db, { create: false, branch: log.live, fsync: options.fsync }),
  }
}
