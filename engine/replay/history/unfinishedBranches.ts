// A branch written with its events (writeBranch) is made "unfinished": its
// row and this mark go in one SQLite transaction, and the mark goes once every
// event is durable, just before the branch is reported to anyone. Until then
// the branch is hidden from the lists; a process killed half-way leaves it
// marked, and the next writer to open the log removes it. That deletes nothing
// acknowledged: a branch is acknowledged as a whole when its mark goes (its
// events' slots in the heads record say they were durable, not that anyone
// was told of the branch). The mark names the writing process, so a branch
// another live process is writing (a `loom import` beside `loom run`) stays.
import type Database from 'better-sqlite3'
import { alive } from '../writerLock.ts'

type Db = Database.Database

const PREFIX = 'unfinished:'

/** Marks branch `name` as being written by this process (inside the transaction that makes its row). */
export function markUnfinished(db: Db, name: string): void {
  db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(PREFIX + name, JSON.stringify({ pid: process.pid, since: Date.now() }))
}

/** Branch `name` is whole: shown from now on, never removed as unfinished. */
export function markFinished(db: Db, name: string): void {
  db.prepare('DELETE FROM meta WHERE key = ?').run(PREFIX + name)
}

/** Every unfinished branch, with the pid of the process writing it. */
export function unfinishedBranches(db: Db): { name: string; pid: number }[] {
  const rows = db.prepare(`SELECT key, value FROM meta WHERE key >= ? AND key < ?`).all(PREFIX, PREFIX.slice(0, -1) + ';') as { key: string; value: string }[]
  return rows.map((r) => ({ name: r.key.slice(PREFIX.length), pid: pidOf(r.value) }))
}

/**
 * The unfinished branches whose writer is gone (killed half-way): what the next
 * writer removes. A mark with no branch is left over too (row and mark are made
 * and removed together, so only a hand could part them).
 */
export function abandonedBranches(db: Db, exists: (name: string) => boolean): string[] {
  return unfinishedBranches(db).filter((u) => !exists(u.name) || !(u.pid > 0 && alive(u.pid))).map((u) => u.name)
}

function pidOf(value: string): number {
  try {
    const pid = (JSON.parse(value) as { pid?: unknown }).pid
    // A damaged mark (pid 0) counts as gone.
    return typeof pid === 'number' ? pid : 0
  } catch {
    return 0
  }
}

