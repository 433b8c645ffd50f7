// Plain SQLite (better-sqlite3, WAL), the way an app keeps state in it today:
// one autocommitted INSERT, or one UPDATE of a counter row, per transaction.
import Database from 'better-sqlite3'
import { join } from 'node:path'

export type Sync = 'NORMAL' | 'FULL'

/** Untimed transactions first, so the statement and the file are warm. */
const WARM = 1_000
let files = 0

function fresh(dir: string, sync: Sync): Database.Database {
  const db = new Database(join(dir, `plain-${++files}.db`))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${sync}`)
  return db
}

/** `n` single-row INSERTs, each its own transaction, into a fresh file; returns the milliseconds they took. */
export function sqliteInserts(dir: string, n: number, sync: Sync): number {
  const db = fresh(dir, sync)
  try {
    db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, count INTEGER NOT NULL, at INTEGER NOT NULL)')
    const insert = db.prepare('INSERT INTO events (count, at) VALUES (?, ?)')
    for (let i = 1; i <= WARM; i++) insert.run(i, Date.now())
    const t0 = performance.now()
    for (let i = WARM + 1; i <= WARM + n; i++) insert.run(i, Date.now())
    const ms = performance.now() - t0
    const rows = db.prepare('SELECT count(*) FROM events').pluck().get()
    if (rows !== WARM + n) throw new Error(`sqlite insert: expected ${WARM + n} rows, found ${rows}`)
    return ms
  } finally {
    db.close()
  }
}

/** `n` increments of one counter row, each its own transaction, in a fresh file; returns the milliseconds they took. */
export function sqliteUpdates(dir: string, n: number): number {
  const db = fresh(dir, 'NORMAL')
  try {
    db.exec(`CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL); INSERT INTO state VALUES ('count', 0)`)
    const update = db.prepare(`UPDATE state SET value = value + 1 WHERE key = 'count'`)
    for (let i = 0; i < WARM; i++) update.run()
    const t0 = performance.now()
    for (let i = 0; i < n; i++) update.run()
    const ms = performance.now() - t0
    const value = db.prepare(`SELECT value FROM state WHERE key = 'count'`).pluck().get()
    if (value !== WARM + n) throw new Error(`sqlite update: expected the count to reach ${WARM + n}, it is ${value}`)
    return ms
  } finally {
    db.close()
  }
}
