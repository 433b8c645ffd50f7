// The visual debugger's requests — branches, replay, time-travel views, state
// edits, exploration and the agent panel's previews — each handed to the
// module that does it, in EngineHost's one table of requests.
import type { Result, StateEdit } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import type { Handlers } from './requestTable.ts'
import { fork, rename, archive, exportText, importText } from './branchRequests.ts'
import { verify, rerun } from './replayRequests.ts'
import { timeline } from './timeline.ts'
import { series } from './series.ts'
import { Explorations } from './Explorations.ts'
import { editState } from './editState.ts'
import { preview, previewView, forkPreview } from './previewRequests.ts'
import { Refusal } from './problems.ts'

type DebuggerOps =
  | 'fork' | 'promote' | 'renameBranch' | 'deleteBranch' | 'exportBranch' | 'importBranch' | 'verify' | 'rerun' | 'editState'
  | 'timeline' | 'series' | 'explore' | 'stopJob' | 'saveCounterexample' | 'preview' | 'commitPreview' | 'discardPreview' | 'forkPreview'

export function debuggerRequests(host: HostAccess): Handlers<DebuggerOps> {
  const explorations = new Explorations(host)
  return {
    fork: (p) => host.exclusive(() => fork(host, p.name, p.from, p.at)),
    promote: (p) => host.exclusive(() => host.promote(p.name)),
    renameBranch: (p) => host.exclusive(() => rename(host, p.name, p.to)),
    deleteBranch: (p) => host.exclusive(() => archive(host, p.name)),
    exportBranch: (p) => exportText(host, p.branch),
    importBranch: (p) => importText(host, p.text, p.name),
    verify: (p) => host.job(verify(host, p.branch, p.from, p.to)),
    rerun: (p) => host.job(rerun(host, p.branch, p.onto)),
    editState: (p) => host.exclusive(() => editState(host.engine(), p.edits as StateEdit[], p.expect)),
    timeline: (p) => {
      const { branch, from, to, head } = range(host, p.branch, p.from, p.to)
      return { branch, head, bins: timeline(host.history(), branch, from, to, p.bins) } satisfies Result<'timeline'>
    },
    series: (p) => {
      const { branch, from, to } = range(host, p.branch, p.from, p.to)
      return series(host.history(), branch, p.states, from, to, p.points)
    },
    explore: (p) => host.job(explorations.explore(p)),
    stopJob: (p) => (host.stopJob(p.job), {}),
    saveCounterexample: (p) => explorations.saveCounterexample(p.job, p.violation, p.name),
    preview: (spec) =>
      host.exclusive(() => {
        // Nothing but start() runs before start() commits: a preview would show state start() has not set up yet.
        if (host.engine().startPending) throw new Refusal(`cannot preview ${spec.method}() yet: the app's start() has not run, and ${spec.method}() runs only after it. Press Step (F10) to run start(), or Run (F8), then preview again`)
        return preview(host.engine(), spec, host.notebookPath)
      }),
    commitPreview: (p) =>
      host.exclusive((): Result<'commitPreview'> => {
        const r = refused(() => host.engine().commitPreview(p.id))
        return 'event' in r ? r : { changed: r.changed, preview: previewView(r.preview, host.notebookPath) }
      }),
    discardPreview: (p) =>
      host.exclusive(() => {
        refused(() => host.engine().discardPreview(p.id))
        return {}
      }),
    forkPreview: (p) => host.exclusive(() => forkPreview(host, host.engine(), p.id, p.name)),
  }
}

/** A range of a branch's events, checked (default: all of them). */
function range(host: HostAccess, branch: string | undefined, from: number | undefined, to: number | undefined): { branch: string; from: number; to: number; head: number } {
  const { branch: name, at: head } = host.moment(branch, undefined)
  if (to !== undefined && to > head) throw new Refusal(`branch '${name}' has events 1..${head}; there is no event ${to}`)
  const first = Math.max(1, from ?? 1)
  const last = to ?? head
  if (first > last && !(from === undefined && head === 0)) throw new Refusal(`events ${first}..${last} of branch '${name}' is an empty range: 'from' must not be after 'to'`)
  return { branch: name, from: first, to: last, head }
}

/** The engine's errors for a request (an unknown preview, a commit that ran too long) are refusals. */
function refused<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw new Refusal((err as Error).message)
  }
}
