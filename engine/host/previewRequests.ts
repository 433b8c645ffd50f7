// The agent panel's previews, as the protocol shows them: a transaction run
// against the live head and not committed, then committed, discarded, or
// committed as the first event of a new branch forked at the head.
import { Engine } from '../runtime/engine.ts'
import { serializeNotebook } from '../runtime/notebook.ts'
import type { Preview } from '../runtime/previews.ts'
import { writeBranch } from '../replay/writeBranch.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import { resumeFrom } from '../replay/session.ts'
import type { BranchView, PreviewSpec, PreviewView } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import { announce } from './branchRequests.ts'
import { Refusal } from './problems.ts'
import { checkBranchName, shownName } from '../replay/history/branchNames.ts'

/** A preview in the protocol's terms: a failure at its file, cell and line. */
export function previewView(p: Preview, file: string): PreviewView {
  const { spec: _spec, failure, ...rest } = p
  return { ...rest, failure: failure ? { code: 'runtime', message: failure.message, ...(failure.where ? { where: { file, ...failure.where } } : {}) } : null }
}

/** Runs `spec` as the engine's preview does, refusing in the user's words what cannot be previewed. */
export function preview(engine: Engine, spec: PreviewSpec, file: string): PreviewView {
  try {
    return previewView(engine.preview(spec), file)
  } catch (err) {
    throw new Refusal(`cannot preview ${spec.method}(): ${(err as Error).message}`, { file })
  }
}

/**
 * Commits preview `id` as the first event of a new branch `name` forked at
 * the live head: a second engine on that branch runs the same spec and
 * commits it there. The live branch and its app go on as they were.
 */
export async function forkPreview(host: HostAccess, engine: Engine, id: number, name: string): Promise<BranchView> {
  let spec: PreviewSpec
  try {
    spec = engine.previewSpec(id)
  } catch (err) {
    throw new Refusal((err as Error).message)
  }
  const live = host.history()
  try {
    checkBranchName(name)
    // The branch and its first event, or nothing (writeBranch).
    await writeBranch(live, name, { branch: live.branch, seq: live.head }, (log) => commitThere(host, engine, spec, log, name))
  } catch (err) {
    throw err instanceof Refusal ? err : new Refusal(`cannot fork ${shownName(name)}: ${(err as Error).message}`)
  }
  engine.discardPreview(id)
  return announce(host, name)
}

/** A second engine on the new branch runs the preview's spec again and commits it there. */
async function commitThere(host: HostAccess, engine: Engine, spec: PreviewSpec, log: HistoryLog, name: string): Promise<void> {
  try {
    const there = await Engine.fromSource(serializeNotebook(engine.notebook), {
      path: host.notebookPath, log, branch: name, resume: resumeFrom(log),
      ...(host.timeLimitMs ? { timeLimitMs: host.timeLimitMs } : {}),
    })
    const again = there.preview(spec)
    if (again.failure) throw new Refusal(`the preview does not commit, so there is nothing to fork: ${again.failure.message}`)
    const r = there.commitPreview(again.id)
    if (!('event' in r)) throw new Refusal(`the preview does not commit on branch '${name}': ${r.changed.join(', ')} changed`)
  } catch (err) {
    throw err instanceof Refusal ? err : new Refusal(`cannot commit the preview on branch '${name}': ${(err as Error).message}`)
  }
}
