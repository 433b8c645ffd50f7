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

/**
 * Every unfinished branch, with the pid of the process writing it. A mark that
 * Loom cannot have made is not believed (a log from someone else, changed by
 * hand): one on the live branch, on a branch something was forked from, or
 * one not made with its branch's row; that branch stays shown and is never removed.
 */
export function unfinishedBranches(db: Db): { name: string; pid: number }[] {
  const rows = db.prepare(`SELECT m.key, m.value, b.created,
      EXISTS (SELECT 1 FROM branches c WHERE c.parent = b.name) AS forked,
      b.name = coalesce((SELECT value FROM meta WHERE key = 'live'), 'main') AS live
    FROM meta m LEFT JOIN branches b ON b.name = substr(m.key, ${PREFIX.length + 1})
    WHERE m.key >= ? AND m.key < ?`).all(PREFIX, PREFIX.slice(0, -1) + ';') as { key: string; value: unknown; created: number | null; forked: number | null; live: number | null }[]
  const out: { name: string; pid: number }[] = []
  for (const r of rows) {
    const mark = markOf(r.value)
    if (r.created !== null && (r.live || r.forked || !(Math.abs(mark.since - r.created) <= MADE_WITHIN_MS))) continue
    out.push({ name: r.key.slice(PREFIX.length), pid: mark.pid })
  }
  return out
}

/** The mark is made in the transaction that makes the branch's row, just after it. */
const MADE_WITHIN_MS = 5000

/**
 * The unfinished branches whose writer is gone (killed half-way): what the next
 * writer removes. A mark with no branch is left over too (row and mark are made
 * and removed together, so only a hand could part them).
 */
export function abandonedBranches(db: Db, exists: (name: string) => boolean): string[] {
  return unfinishedBranches(db).filter((u) => !exists(u.name) || !(u.pid > 0 && alive(u.pid))).map((u) => u.name)
}

function markOf(value: unknown): { pid: number; since: number } {
  try {
    const { pid, since } = JSON.parse(String(value)) as { pid?: unknown; since?: unknown }
    // A damaged pid (0) counts as gone; a damaged time as not made with the row.
    return { pid: typeof pid === 'number' ? pid : 0, since: typeof since === 'number' ? since : NaN }
  } catch {
    return { pid: 0, since: NaN }
  }
}

