// Branches from the UI, as `loom fork/export/import` make them: fork at a
// moment, and a branch out and in as portable JSON lines. Each change is
// told to every UI with a `branches` notice.
import { forkBranch, exportBranch } from '../replay/branches.ts'
import type { BranchView, Result } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import { Refusal } from './problems.ts'
import { checkBranchName, shownName } from '../replay/history/branchNames.ts'

/** An export larger than this is refused: `loom export` writes it to a file instead. */
const MAX_EXPORT = 256 * 1024 * 1024

export function fork(host: HostAccess, name: string, from: string | undefined, at: number): BranchView {
  const { branch } = host.moment(from, at)
  try {
    // Checked here first: the log's link refuses a name past its own bound in words of its own.
    checkBranchName(name)
    forkBranch(host.history(), name, branch, at)
  } catch (err) {
    throw new Refusal(`cannot fork ${shownName(name)}: ${(err as Error).message}`)
  }
  return announce(host, name)
}

/** A rename is a label (the stored name is in every event's hash; see engine/replay/history/branchNames.ts). */
export function rename(host: HostAccess, name: string, to: string): BranchView {
  let b
  try {
    checkBranchName(to.trim())
    b = host.history().renameBranch(name, to.trim())
  } catch (err) {
    throw new Refusal(`cannot rename ${shownName(name)}: ${(err as Error).message}`)
  }
  return announce(host, b.name)
}

/** Delete as a person may: the branch is archived, its events kept (they were acknowledged) and restorable. */
export function archive(host: HostAccess, name: string): Result<'deleteBranch'> {
  let b
  try {
    b = host.history().archiveBranch(name)
  } catch (err) {
    throw new Refusal(`cannot delete ${shownName(name)}: ${(err as Error).message}`)
  }
  host.broadcast({ type: 'branches', branches: host.branchViews() })
  return { name: b.name, ...(b.label ? { label: b.label } : {}), events: b.head - b.forkSeq }
}

export function exportText(host: HostAccess, branch: string): Result<'exportBranch'> {
  const { branch: name } = host.moment(branch, undefined)
  const lines: string[] = []
  let size = 0
  for (const line of exportBranch(host.history(), name)) {
    size += line.length + 1
    if (size > MAX_EXPORT) throw new Refusal(`branch '${name}' is too long to export through the UI (over ${MAX_EXPORT >> 20} MiB); use loom export DB --branch ${name} --out FILE`)
    lines.push(line)
  }
  return { text: lines.join('\n') + '\n' }
}

/**
 * Imports an export as a new root branch, every hash checked; nothing stays
 * if any of it is wrong. The log does it on a connection of its own (under
 * `loom serve`, in the supervisor: there is nothing to re-execute), so the
 * running app keeps appending to its branch meanwhile.
 */
export async function importText(host: HostAccess, text: string, name: string | undefined): Promise<BranchView> {
  try {
    const info = await host.history().importText(text, name)
    return announce(host, info.name)
  } catch (err) {
    throw new Refusal(`not imported: ${(err as Error).message.replace(/with --name\b/, "with 'name'")}`)
  }
}

/** Tells every UI that the branches changed; answers the view of `name`. */
export function announce(host: HostAccess, name: string): BranchView {
  const branches = host.branchViews()
  host.broadcast({ type: 'branches', branches })
  return branches.find((b) => b.name === name)!
}
