// What a person calls a branch, and which branches they put away. A branch's
// stored name is inside every one of its events' hashes (encodeEvent), so
// renaming it would break `replay --verify`: a rename is a label over the
// stored name. Deleting archives: nothing acknowledged is ever erased, verify
// still checks the events, and a restore brings the branch back.
import type Database from 'better-sqlite3'

type Db = Database.Database

export interface BranchName {
  /** The name people see and may type; absent while it is the stored name. */
  label?: string
  archived?: true
}

/** Whether the table exists: a log written before labels has none until one is set (reading never creates it). */
function exists(db: Db): boolean {
  return !!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'branch_names'`).get()
}

function ensure(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS branch_names (name TEXT PRIMARY KEY, label TEXT UNIQUE, archived INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID')
}

/** The stored name that `label` stands for, or null. */
export function storedNameOf(db: Db, label: string): string | null {
  if (!exists(db)) return null
  return (db.prepare('SELECT name FROM branch_names WHERE label = ?').pluck().get(label) as string | undefined) ?? null
}

/** Every branch that has a label or is archived, by stored name. */
export function branchNames(db: Db): Map<string, BranchName> {
  const out = new Map<string, BranchName>()
  if (!exists(db)) return out
  for (const r of db.prepare('SELECT name, label, archived FROM branch_names').all() as { name: string; label: string | null; archived: number }[]) {
    out.set(r.name, { ...(r.label !== null ? { label: r.label } : {}), ...(r.archived ? { archived: true as const } : {}) })
  }
  return out
}

/** Shows branch `name` as `label` (null: as its stored name again). */
export function setLabel(db: Db, name: string, label: string | null): void {
  ensure(db)
  db.prepare('INSERT INTO branch_names (name, label) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET label = excluded.label').run(name, label)
}

export function setArchived(db: Db, name: string, archived: boolean): void {
  ensure(db)
  db.prepare('INSERT INTO branch_names (name, archived) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET archived = excluded.archived').run(name, archived ? 1 : 0)
}

/** A branch deleted for good (one made and abandoned by the engine itself) leaves no name behind. */
export function forgetName(db: Db, name: string): void {
  if (exists(db)) db.prepare('DELETE FROM branch_names WHERE name = ?').run(name)
}

/** The longest branch name: far more than a person types, far less than a request may carry (a pasted page is refused as such). */
export const BRANCH_NAME_MAX = 1000

/** Refuses what cannot name a branch (it appears in commands and file names). */
export function checkBranchName(name: string): void {
  if (name.length > BRANCH_NAME_MAX) throw new Error(`a branch name has at most ${BRANCH_NAME_MAX} characters (this one has ${name.length})`)
  if (!/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/.test(name)) throw new Error(`${shownName(name)} is not a branch name (letters, digits, . _ / -)`)
}

/** A name as a message quotes it: a long one cut, so that what a person typed or pasted never floods the message. */
export function shownName(name: string): string {
  return name.length > 80 ? `'${name.slice(0, 60)}…' (${name.length} characters)` : `'${name}'`
}
