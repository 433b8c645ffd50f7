// A notebook with its durable log: opens (or creates) NAME.loom.db beside the
// notebook and starts an engine that continues the live branch where it stopped.
import { Engine, type EngineOptions } from '../runtime/engine.ts'
import { SqliteLog, type Damage } from './sqliteLog.ts'
import { resumeFrom } from './seek.ts'
import { defaultDbPath } from './dbPath.ts'

/** resumeFrom is in seek.ts, which loads no SQLite: a confined engine process resumes with it too. */
export { defaultDbPath, resumeFrom }

export interface Session {
  engine: Engine
  log: SqliteLog
  /** The head of the branch before this session: 0 for a new history. */
  resumedAt: number
  /** Damage found at open elsewhere in the log (the branch run is sound, or opening would have refused). */
  damageAtOpen: Damage[]
  /** The log had events but no heads record (an older Loom wrote it, or it was removed): this run starts one. */
  headsMissing: boolean
}

export async function openSession(notebook: string, options: EngineOptions & { db?: string; branch?: string; fsync?: boolean } = {}): Promise<Session> {
  const log = SqliteLog.open(options.db ?? defaultDbPath(notebook), { branch: options.branch, writerThread: true, fsync: options.fsync })
  try {
    const resumedAt = log.head
    const engine = await Engine.open(notebook, { ...options, log, branch: log.branch, resume: resumeFrom(log) })
    return { engine, log, resumedAt, damageAtOpen: log.damageAtOpen, headsMissing: log.headsAtOpen === 'missing' && resumedAt > 0 }
  } catch (err) {
    log.db.close()
    throw err
  }
}

