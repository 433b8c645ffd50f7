// A notebook with its durable log: opens (or creates) NAME.loom.db beside the
// notebook and starts an engine that continues the live branch where it stopped.
import { Engine, type EngineOptions, type Resume } from '../runtime/engine.ts'
import { SqliteLog, type Damage } from './sqliteLog.ts'
import { seekStore } from './seek.ts'
import { defaultDbPath } from './dbPath.ts'

export { defaultDbPath }

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

/** Where the log's branch stands, or undefined for an empty history. */
export function resumeFrom(log: SqliteLog): Resume | undefined {
  // Nothing is added to a damaged branch: the refusal says how to continue from its last sound event.
  const refused = log.refusal()
  if (refused) throw refused
  const head = log.head
  if (head === 0) return undefined
  const last = log.event(log.branch, head)!
  const codeSeq = log.lastOfKind(log.branch, 'code', head)
  const code = codeSeq ? log.event(log.branch, codeSeq) : null
  if (!code) throw new Error(`${log.path}: branch '${log.branch}' has events but no code event`)
  return {
    state: seekStore(log, { branch: log.branch, seq: head }).serialize(),
    last,
    code,
    started: log.lastOfKind(log.branch, 'start', head) !== null,
  }
}
