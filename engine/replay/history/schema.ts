// The log's schema, in one place: the tables a new log gets, and the format
// check every open makes (a newer format is refused with what to do).
import Database from 'better-sqlite3'
import { LogFormatError, UnreadableLogError } from '../logErrors.ts'

/**
 * The log format this version writes; it reads this one and refuses newer ones.
 * 2: a bag's take names places in the bag's canonical order (1: in put order).
 */
export const FORMAT_VERSION = 2
const FORMAT = 'loom-log'

/** The tables the database holds (none: an empty database). */
export function tableNames(db: Database.Database): string[] {
  return db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]
}

/** Makes an empty database a new log with one root branch, 'main', live. */
export function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE branches (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, parent TEXT, fork_seq INTEGER NOT NULL, created INTEGER NOT NULL);
    -- One row per group commit: the events' canonical encodings (one per line), their hashes (32 bytes each).
    -- The bodies come last: reading a column after a large one walks its overflow pages.
    CREATE TABLE chunks (branch INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, code TEXT NOT NULL,
      hashes BLOB NOT NULL, refs TEXT, bodies TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID;
    -- The events of the rare kinds a resume looks for (code, start, halt), by seq.
    CREATE TABLE marks (branch INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (branch, kind, seq)) WITHOUT ROWID;
    CREATE TABLE blobs (hash TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE code (hash TEXT PRIMARY KEY, path TEXT NOT NULL, code TEXT NOT NULL, sources TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE snapshots (branch INTEGER NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (branch, seq)) WITHOUT ROWID;
    CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, branch TEXT NOT NULL, data TEXT NOT NULL);
  `)
  const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)')
  meta.run('format', FORMAT)
  meta.run('version', String(FORMAT_VERSION))
  meta.run('live', 'main')
  db.prepare('INSERT INTO branches (name, parent, fork_seq, created) VALUES (?, NULL, 0, ?)').run('main', Date.now())
}

/**
 * Refuses a database that is not a Loom log, or a log of a newer format.
 * `writer`: the process that will append to it (only it marks an older format as this one).
 */
export function checkFormat(db: Database.Database, path: string, writer = false): void {
  const get = (key: string) => (db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined) ?? null
  if (get('format') !== FORMAT) throw new UnreadableLogError(`${path} is an SQLite database but not a Loom log`)
  const version = Number(get('version'))
  if (!(version >= 1)) throw new UnreadableLogError(`${path}: the log's format version is missing or damaged`)
  if (version > FORMAT_VERSION) {
    throw new LogFormatError(`${path} was written by a newer Loom (log format ${version}); this Loom reads format ${FORMAT_VERSION} — upgrade Loom to open it`)
  }
  if (version === 1) fromFormat1(db, path, writer)
  refuseTriggers(db, path)
  if (writer) refuseMissingColumns(db, path)
}

let made: Map<string, string[]> | null = null
/** Each table a new log gets, with its columns: read off createSchema itself, once. */
function schemaColumns(): Map<string, string[]> {
  if (made) return made
  const db = new Database(':memory:')
  try {
    createSchema(db)
    return (made = new Map(tableNames(db).filter((t) => t !== 'sqlite_sequence').map((t) => [t, columnsOf(db, t)])))
  } finally {
    db.close()
  }
}

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[])
}

/**
 * A table of Loom's own that lacks a column it writes (a changed byte in the
 * schema, or a file made by hand) would fail a commit half-way into the app's
 * run with SQLite's words: the writer refuses it at open instead, saying
 * what is wrong. Readers go on (the events may be intact). A table an older
 * log never had is left to be what it is.
 */
function refuseMissingColumns(db: Database.Database, path: string): void {
  const present = new Set(tableNames(db))
  for (const [table, columns] of schemaColumns()) {
    if (!present.has(table)) continue
    const has = new Set(columnsOf(db, table))
    const missing = columns.find((c) => !has.has(c))
    if (missing !== undefined) throw new LogFormatError(`${path}: its table ${table} has no column ${missing} (the file is damaged, or was not written by Loom), so Loom will not add to it — loom log and loom replay --verify still read it`)
  }
}

/**
 * Loom makes no triggers: one in a log (a file someone sent, or edited) is SQL
 * of theirs that would run inside Loom's own writes — failing every group
 * commit, or changing rows as they are written. Refused before anything is
 * read or written, naming it and how to remove it.
 */
function refuseTriggers(db: Database.Database, path: string): void {
  const name = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' LIMIT 1`).pluck().get() as string | undefined
  if (name === undefined) return
  throw new LogFormatError(`${path} has a trigger ${JSON.stringify(name)}, which Loom never makes: it would run on Loom's own writes to the log — remove it (sqlite3 ${path} 'DROP TRIGGER "${name.replace(/"/g, '""')}"') and open the log again`)
}

/**
 * A format-1 log means the same in format 2 unless an event takes from a bag:
 * its take named places in put order, which this Loom cannot know, so such a
 * log is refused rather than read wrongly. One without is read as it is; the
 * writer marks it format 2 (reading never writes), so that the takes it adds
 * are read as meant.
 */
function fromFormat1(db: Database.Database, path: string, writer: boolean): void {
  const takes = db.prepare(`SELECT first FROM chunks WHERE bodies GLOB '*"op":"bag","take":[[][0-9]*' LIMIT 1`).pluck().get() as number | undefined
  if (takes !== undefined) {
    throw new LogFormatError(`${path} was written by an older Loom (log format 1) and takes items from a bag (from event ${takes} on): that Loom counted a take's places in put order, this one in the bag's canonical order, so its history cannot be read as it was meant — open it with the Loom that wrote it`)
  }
  if (writer) db.prepare(`UPDATE meta SET value = ? WHERE key = 'version'`).run(String(FORMAT_VERSION))
}
