// The visual debugger's requests — branches, replay, time-travel views, state
// edits, exploration and the agent panel's previews — each checked and handed
// to the module that does it. EngineHost answers the notebook's own requests
// and passes these here.
import type { Op, Params, Result, StateEdit } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import { fork, rename, archive, exportText, importText } from './branchRequests.ts'
import { verify, rerun } from './replayRequests.ts'
import { query, retroLogs } from './questionRequests.ts'
import { timeline } from './timeline.ts'
import { series } from './series.ts'
import { Explorations } from './Explorations.ts'
import { editState } from './editState.ts'
import { preview, previewView, forkPreview } from './previewRequests.ts'
import { Refusal } from './problems.ts'
import { profile, timings, diffMoments } from './profileRequests.ts'

export class DebuggerRequests {
  private readonly explorations: Explorations

  constructor(private readonly host: HostAccess) {
    this.explorations = new Explorations(host)
  }

  answer(op: Op, params: Record<string, unknown>): Promise<unknown> | unknown {
    const host = this.host
    switch (op) {
      case 'fork': {
        const p = params as Params<'fork'>
        return host.exclusive(() => fork(host, p.name, p.from, p.at))
      }
      case 'promote':
        return host.exclusive(() => host.promote((params as Params<'promote'>).name))
      case 'renameBranch': {
        const p = params as Params<'renameBranch'>
        return host.exclusive(() => rename(host, p.name, p.to))
      }
      case 'deleteBranch':
        return host.exclusive(() => archive(host, (params as Params<'deleteBranch'>).name))
      case 'exportBranch':
        return exportText(host, (params as Params<'exportBranch'>).branch)
      case 'importBranch': {
        const p = params as Params<'importBranch'>
        return importText(host, p.text, p.name)
      }
      case 'verify': {
        const p = params as Params<'verify'>
        return host.job(verify(host, p.branch, p.from, p.to))
      }
      case 'rerun': {
        const p = params as Params<'rerun'>
        return host.job(rerun(host, p.branch, p.onto))
      }
      case 'query':
        return host.job(query(host, params as Params<'query'>))
      case 'retroLogs':
        return host.job(retroLogs(host, params as Params<'retroLogs'>))
      case 'editState':
        return host.exclusive(() => editState(host.engine(), (params as Params<'editState'>).edits as StateEdit[], (params as Params<'editState'>).expect))
      case 'timeline': {
        const p = params as Params<'timeline'>
        const { branch, from, to, head } = this.range(p.branch, p.from, p.to)
        return { branch, head, bins: timeline(host.history(), branch, from, to, p.bins) } satisfies Result<'timeline'>
      }
      case 'series': {
        const p = params as Params<'series'>
        const { branch, from, to } = this.range(p.branch, p.from, p.to)
        return series(host.history(), branch, p.states, from, to, p.points)
      }
      case 'explore':
        return host.job(this.explorations.explore(params as Params<'explore'>))
      case 'saveCounterexample': {
        const p = params as Params<'saveCounterexample'>
        return this.explorations.saveCounterexample(p.job, p.violation, p.name)
      }
      case 'preview':
        return host.exclusive(() => {
          const spec = params as unknown as Params<'preview'>
          // Nothing but start() runs before start() commits: a preview would show state start() has not set up yet.
          if (host.engine().startPending) throw new Refusal(`cannot preview ${spec.method}() yet: the app's start() has not run, and ${spec.method}() runs only after it. Press Step (F10) to run start(), or Run (F8), then preview again`)
          return preview(host.engine(), spec, host.notebookPath)
        })
      case 'commitPreview':
        return host.exclusive((): Result<'commitPreview'> => {
          const r = refused(() => host.engine().commitPreview((params as Params<'commitPreview'>).id))
          return 'event' in r ? r : { changed: r.changed, preview: previewView(r.preview, host.notebookPath) }
        })
      case 'discardPreview':
        return host.exclusive(() => {
          refused(() => host.engine().discardPreview((params as Params<'discardPreview'>).id))
          return {}
        })
      case 'forkPreview': {
        const p = params as Params<'forkPreview'>
        return host.exclusive(() => forkPreview(host, host.engine(), p.id, p.name))
      }
      case 'profile':
        return profile(host, params as Params<'profile'>)
      case 'timings':
        return timings(host, params as Params<'timings'>)
      case 'diff':
        return diffMoments(host, params as unknown as Params<'diff'>)
      default:
        throw new Refusal(`the engine does not answer ${op} yet`)
    }
  }

  /** A range of a branch's events, checked (default: all of them). */
  private range(branch: string | undefined, from: number | undefined, to: number | undefined): { branch: string; from: number; to: number; head: number } {
    const { branch: name, at: head } = this.host.moment(branch, undefined)
    if (to !== undefined && to > head) throw new Refusal(`branch '${name}' has events 1..${head}; there is no event ${to}`)
    const first = Math.max(1, from ?? 1)
    const last = to ?? head
    if (first > last && !(from === undefined && head === 0)) throw new Refusal(`events ${first}..${last} of branch '${name}' is an empty range: 'from' must not be after 'to'`)
    return { branch: name, from: first, to: last, head }
  }
}

/** The engine's errors for a request (an unknown preview, a commit that ran too long) are refusals. */
function refused<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw new Refusal((err as Error).message)
  }
}
