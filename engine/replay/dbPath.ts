// Where a notebook's log is by default, and the files that make up a log. Its
// own module: the process that starts an engine needs them (to allow writes
// there) without loading the runtime.

/** `bank.loom.md` → `bank.loom.db`. */
export function defaultDbPath(notebook: string): string {
  return notebook.endsWith('.loom.md') ? notebook.slice(0, -'.md'.length) + '.db' : notebook + '.loom.db'
}

/** `bank.loom.db` → `bank.loom.db.heads`: the record of what was acknowledged (see headsFile.ts). */
export function headsPath(db: string): string {
  return db + '.heads'
}

/** `bank.loom.db` → `bank.loom.db.lock`: which process writes the log (see writerLock.ts). */
export function lockPath(db: string): string {
  return db + '.lock'
}

/** Every file of a log: the database, SQLite's companions, Loom's record of acknowledged heads, and its writer lock. */
export function logFiles(db: string): string[] {
  return [db, `${db}-wal`, `${db}-shm`, `${db}-journal`, headsPath(db), lockPath(db)]
}
