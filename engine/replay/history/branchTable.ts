// The branches table and the live branch: which branches there are, where
// each was forked, and how a fork's history is its ancestors' prefix then its
// own events (ownerOf, segments). Rows are cached: a branch's row never
// changes, and delete clears it.
import type Database from 'better-sqlite3'
import { LogFormatError } from '../logErrors.ts'
import { checkBranchName, forgetName, storedNameOf } from './branchNames.ts'
import { markFinished, markUnfinished, unfinishedBranches } from './unfinishedBranches.ts'

export interface BranchInfo {
  name: string
  parent: string | null
  /** The seq of the parent's event this branch starts after (0 for a root branch). */
  forkSeq: number
  head: number
  created: number
  /** What people call it, when renamed (the stored name stays in the hash chain; see history/branchNames.ts). */
  label?: string
  /** Deleted by a person: hidden from the lists, kept in the log, restorable. */
  archived?: true
}

export interface BranchRow {
  id: number
  name: string
  parent: string | null
  forkSeq: number
  created: number
}

export class BranchTable {
  private readonly rows = new Map<string, BranchRow>()
  private readonly ownHead: Database.Statement

  constructor(private readonly db: Database.Database, private readonly path: string) {
    this.ownHead = db.prepare('SELECT last FROM chunks WHERE branch = ? ORDER BY first DESC LIMIT 1').pluck()
  }

  /** A branch's row. A missing one is not cached: another connection (an import, a rerun) may make it. */
  row(name: string): BranchRow | null {
    let row = this.rows.get(name)
    if (row === undefined) {
      row = this.db.prepare('SELECT id, name, parent, fork_seq AS forkSeq, created FROM branches WHERE name = ?').get(name) as BranchRow | undefined
      if (!row) {
        // A label stands for its branch wherever a name is typed; not cached: another connection may relabel.
        const stored = storedNameOf(this.db, name)
        return stored !== null && stored !== name ? this.row(stored) : null
      }
      this.rows.set(name, row)
    }
    return row
  }

  /** A branch's integer id (rows refer to branches by id). */
  idOf(name: string): number {
    const row = this.row(name)
    if (!row) throw new LogFormatError(`${this.path}: there is no branch '${name}'`)
    return row.id
  }

  /** A branch as stored: its head is its last written event (its fork point while it has none of its own). */
  stored(name: string): BranchInfo | null {
    const row = this.row(name)
    if (!row) return null
    return { name: row.name, parent: row.parent, forkSeq: row.forkSeq, created: row.created, head: (this.ownHead.get(row.id) as number | null) ?? row.forkSeq }
  }

  /** Every branch's name, oldest first; a branch still being written (unfinishedBranches.ts) is not one yet. */
  names(): string[] {
    const unfinished = new Set(unfinishedBranches(this.db).map((u) => u.name))
    const all = this.db.prepare('SELECT name FROM branches ORDER BY created, name').pluck().all() as string[]
    return unfinished.size ? all.filter((n) => !unfinished.has(n)) : all
  }

  /** Every branch's id and name (what the heads record keys on). */
  ids(): { id: number; name: string }[] {
    return this.db.prepare('SELECT id, name FROM branches').all() as { id: number; name: string }[]
  }

  get live(): string {
    return (this.db.prepare(`SELECT value FROM meta WHERE key = 'live'`).pluck().get() as string | undefined) ?? 'main'
  }

  setLive(name: string): void {
    this.db.prepare(`UPDATE meta SET value = ? WHERE key = 'live'`).run(name)
  }

  /** Refuses a name that is not a branch name, or names a branch already. */
  checkNew(name: string): void {
    checkBranchName(name)
    if (this.row(name)) throw new Error(`branch '${name}' already exists`)
  }

  /**
   * Adds a branch row: forked from `parent` after event `forkSeq`, or a root
   * (parent null). `unfinished`: written with its events (writeBranch), it is
   * marked in the same transaction and hidden until `finish`.
   */
  insert(name: string, parent: string | null, forkSeq: number, unfinished = false): void {
    this.checkNew(name)
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO branches (name, parent, fork_seq, created) VALUES (?, ?, ?, ?)').run(name, parent, forkSeq, Date.now())
      if (unfinished) markUnfinished(this.db, name)
    })()
  }

  /** Branch `name`, made unfinished, holds all it will: it is shown from now on. */
  finish(name: string): void {
    markFinished(this.db, name)
  }

  /** The branches forked from `name`. */
  children(name: string): string[] {
    return this.db.prepare('SELECT name FROM branches WHERE parent = ?').pluck().all(name) as string[]
  }

  /** Removes a branch with its own events, marks, snapshots and attempts, in one transaction. */
  remove(name: string): void {
    const id = this.idOf(name)
    this.db.transaction(() => {
      for (const table of ['chunks', 'marks', 'snapshots']) this.db.prepare(`DELETE FROM ${table} WHERE branch = ?`).run(id)
      this.db.prepare('DELETE FROM attempts WHERE branch = ?').run(name)
      this.db.prepare('DELETE FROM branches WHERE id = ?').run(id)
      forgetName(this.db, name)
      markFinished(this.db, name)
    })()
    this.rows.delete(name)
  }

  /** Which branch physically holds event `seq` of `branch`. */
  ownerOf(branch: string, seq: number): string {
    let b = this.row(branch)
    while (b && b.parent !== null && seq <= b.forkSeq) b = this.row(b.parent)
    if (!b) throw new LogFormatError(`${this.path}: there is no branch '${branch}'`)
    return b.name
  }

  /** [owner, from, to] pieces covering seqs from..to of `branch`, oldest first: a fork's history is its ancestors' prefix, then its own. */
  segments(branch: string, from: number, to: number): [string, number, number][] {
    const out: [string, number, number][] = []
    let b = this.row(branch)
    let hi = to
    while (b && hi >= from) {
      const lo = Math.max(from, b.parent === null ? 1 : b.forkSeq + 1)
      if (hi >= lo) out.unshift([b.name, lo, hi])
      if (b.parent === null) break
      hi = Math.min(hi, b.forkSeq)
      b = this.row(b.parent)
    }
    return out
  }
}
