// Changing the list of branches as a person does: fork, rename (a label over
// the stored name, history/branchNames.ts), delete as archive and restore,
// delete for good, and a free name. The live branch, the one being written
// and one that others fork from are never taken away.
import type Database from 'better-sqlite3'
import type { BranchInfo, BranchTable } from './branchTable.ts'
import { branchNames, checkBranchName, setArchived, setLabel } from './branchNames.ts'

/** What the log lends these edits: its database and branch table, and what it writes now. */
export interface BranchEditsHost {
  db: Database.Database
  table: BranchTable
  /** The live branch and the branch this log appends to. */
  live: string
  branch: string
  branchInfo(name: string): BranchInfo | null
  flush(): void
  /** Forgets a branch in the heads record (before its rows go: a record naming a branch the log lacks means a lost WAL). */
  forgetHead(id: number): void
}

/** Every branch, with what people call it and whether it was put away. */
export function listBranches(log: BranchEditsHost): BranchInfo[] {
  const shown = branchNames(log.db)
  return log.table.names().map((n) => ({ ...log.branchInfo(n)!, ...shown.get(n) }))
}

/** Shows branch `name` as `to` from now on; its events keep the stored name their hashes include. */
export function renameBranch(log: BranchEditsHost, name: string, to: string): BranchInfo {
  const b = log.branchInfo(name)
  if (!b) throw new Error(`there is no branch '${name}'`)
  checkBranchName(to)
  const taken = log.branchInfo(to)
  if (taken && taken.name !== b.name) throw new Error(`branch '${to}' already exists`)
  setLabel(log.db, b.name, to === b.name ? null : to)
  return listBranches(log).find((x) => x.name === b.name)!
}

/**
 * Deletes a branch the way a person may: archived, never erased (its events
 * were acknowledged). The live branch, the one being written and one that
 * other branches fork from stay.
 */
export function archiveBranch(log: BranchEditsHost, name: string): BranchInfo {
  const b = log.branchInfo(name)
  if (!b) throw new Error(`there is no branch '${name}'`)
  const shown = branchNames(log.db)
  const called = (n: string) => shown.get(n)?.label ?? n
  if (b.name === log.live) throw new Error(`branch '${called(b.name)}' is the live branch; promote another first`)
  if (b.name === log.branch) throw new Error(`branch '${called(b.name)}' is open for writing`)
  const children = log.table.children(b.name).filter((n) => !shown.get(n)?.archived)
  if (children.length) throw new Error(`branch '${called(b.name)}' has branches forked from it (${children.map(called).join(', ')}); delete those first`)
  setArchived(log.db, b.name, true)
  return listBranches(log).find((x) => x.name === b.name)!
}

/** Brings an archived branch back into the lists. */
export function restoreBranch(log: BranchEditsHost, name: string): BranchInfo {
  const b = log.branchInfo(name)
  if (!b) throw new Error(`there is no branch '${name}'`)
  if (!branchNames(log.db).get(b.name)?.archived) throw new Error(`branch '${name}' is not deleted; there is nothing to restore`)
  setArchived(log.db, b.name, false)
  return listBranches(log).find((x) => x.name === b.name)!
}

/** A new branch that shares `parent`'s history up to `seq`; nothing is copied. */
export function forkBranch(log: BranchEditsHost, name: string, parent: string, seq: number, unfinished: boolean): BranchInfo {
  log.table.checkNew(name)
  const p = log.branchInfo(parent)
  if (!p) throw new Error(`there is no branch '${parent}'`)
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > p.head) throw new Error(`branch '${parent}' has events 1..${p.head}; cannot fork at ${seq}`)
  log.flush()
  log.table.insert(name, parent, seq, unfinished)
  return log.branchInfo(name)!
}

/** `base`, or `base-2`, `base-3`…: the first that names no branch yet. */
export function unusedName(log: BranchEditsHost, base: string): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`
    if (!log.table.row(name)) return name
  }
}

/** Deletes a branch and its own events; one that others were forked from, or the live one, stays. */
export function deleteBranch(log: BranchEditsHost, name: string): void {
  if (!log.branchInfo(name)) throw new Error(`there is no branch '${name}'`)
  const children = log.table.children(name)
  if (children.length) throw new Error(`branch '${name}' has branches forked from it (${children.join(', ')}); delete those first`)
  if (name === log.live) throw new Error(`branch '${name}' is the live branch; promote another first`)
  if (name === log.branch) throw new Error(`branch '${name}' is open for writing`)
  // Forgotten in the heads record first: a record naming a branch the log lacks means a lost WAL.
  log.forgetHead(log.table.idOf(name))
  log.table.remove(name)
}
