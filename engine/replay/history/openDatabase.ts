// Opening a log's SQLite file: a file that SQLite cannot read, or that is not
// a Loom log, is refused as unreadable, or as lost history when the heads
// record says it held acknowledged events (damage.ts: lostHistory).
import Database from 'better-sqlite3'
import { LogDamageError, LogFormatError, UnreadableLogError } from '../logErrors.ts'
import { lostHistory } from '../damage.ts'
import { createSchema } from './schema.ts'
import type { HeadsRead } from '../headsFile.ts'

/** Opens the file at `path` (WAL, big pages) and makes the log over it with `make`; the file is closed again if that fails. */
export function openDatabase<T>(path: string, create: boolean, heads: HeadsRead, make: (db: Database.Database) => T): T {
  let db: Database.Database
  try {
    db = new Database(path, { fileMustExist: !create })
    // Chunks are large rows: big pages cut the write work (measured: 290k → 380k events/s). Only a new file takes it.
    db.pragma('page_size = 65536')
    db.pragma('journal_mode = WAL')
  } catch (err) {
    throw lostHistory(path, heads, new UnreadableLogError(`${path} is not a Loom log: ${(err as Error).message}`))
  }
  try {
    return make(db)
  } catch (err) {
    db.close()
    if (err instanceof LogFormatError) throw lostHistory(path, heads, err)
    throw lostHistory(path, heads, new UnreadableLogError(`${path} is not a Loom log or is damaged: ${(err as Error).message}`))
  }
}

/**
 * An empty database becomes a new log only when nothing says it had a
 * history: if the heads record names acknowledged events, the whole log was
 * in a WAL that is gone, and a fresh start would hide that.
 */
export function initialiseEmpty(db: Database.Database, path: string, heads: HeadsRead, create: boolean): void {
  const lost = lostHistory(path, heads, new UnreadableLogError(`${path} holds no events at all`))
  if (lost instanceof LogDamageError) throw lost
  if (!create) throw new LogFormatError(`${path} is an empty database, not a Loom log (a notebook's log is written by loom run)`)
  createSchema(db)
}
