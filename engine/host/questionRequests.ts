// Questions over a whole branch from the UI, one group of EngineHost's
// requests: when a predicate held (query) and what the current code would
// have logged at every past event (retroLogs) — jobs with progress notices
// that hand the thread back between batches — and where the time went
// (profile, timings) and what changed between two moments (diff). All only
// read: a view role may ask.
import type { Params, QueryView, RetroLogsView } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import type { Handlers } from './requestTable.ts'
import { profile, timings, diffMoments } from './profileRequests.ts'
import { queryBranch } from '../replay/query.ts'
import { retroLogs as logsWithCode } from '../replay/retroLog.ts'
import { LoomFailure } from '../protocol/loomError.ts'
import { Refusal } from './problems.ts'
import { progressOf, turnOver } from './progress.ts'

/** Answers are bounded: the first this many matches or events, with the count of all. */
const MAX_KEPT = 1000

export function questionRequests(host: HostAccess): Handlers<'query' | 'retroLogs' | 'profile' | 'timings' | 'diff'> {
  return {
    query: (p) => host.job(query(host, p)),
    retroLogs: (p) => host.job(retroLogs(host, p)),
    profile: (p) => profile(host, p),
    timings: (p) => timings(host, p),
    diff: (p) => diffMoments(host, p),
  }
}

async function query(host: HostAccess, p: Params<'query'>): Promise<QueryView> {
  const { branch, at: head } = host.moment(p.branch, undefined)
  const from = Math.max(1, p.from ?? 1)
  const to = Math.min(p.to ?? head, head)
  if (p.to !== undefined && p.to > head) throw new Refusal(`branch '${branch}' has events 1..${head}; there is no event ${p.to}`)
  if (from > to) throw new Refusal(`nothing to ask: events ${from}..${to} of branch '${branch}' is an empty range`)
  const { job, signal } = host.nextJob()
  const progress = progressOf(host, job, 'query', `asking ${shorten(p.expr)} after each event ${from}..${to} of branch '${branch}'`)
  progress(0, to - from + 1, true)
  const r = await queryBranch(host.history(), p.expr, {
    // Whoever asks may be a guest (a view link may ask): no recorded credential reaches an answer.
    evaluator: host.evaluator(), branch, from, to, limit: Math.min(p.limit ?? MAX_KEPT, MAX_KEPT), redact: true,
    onProgress: async (done, total) => {
      progress(done, total)
      await turnOver(host, signal)
    },
  }).catch(refuse(`cannot ask that of branch '${branch}'`))
  progress(to - from + 1, to - from + 1, true)
  return { job, ...r, damage: r.damage?.message ?? null }
}

async function retroLogs(host: HostAccess, p: Params<'retroLogs'>): Promise<RetroLogsView> {
  const { branch, at: head } = host.moment(p.branch, undefined)
  const { job, signal } = host.nextJob()
  const progress = progressOf(host, job, 'retroLogs', `re-enacting branch '${branch}' with the current code, for what it logs`)
  progress(0, head, true)
  const r = await logsWithCode(host.history(), branch, host.notebookPath, {
    text: host.text(), timeLimitMs: host.timeLimitMs, limit: Math.min(p.limit ?? MAX_KEPT, MAX_KEPT),
    onProgress: async (done, total) => {
      progress(done, total)
      await turnOver(host, signal)
    },
  }).catch(refuse(`cannot re-enact branch '${branch}' with the current code`))
  progress(head, head, true)
  return { job, ...r }
}

/** A Loom error passes as it is; anything else is refused with what was being done. */
function refuse(doing: string): (err: Error) => never {
  return (err) => {
    if (err instanceof LoomFailure) throw err
    throw new Refusal(`${doing}: ${err.message}`)
  }
}

function shorten(expr: string): string {
  const one = expr.replace(/\s+/g, ' ').trim()
  return one.length > 60 ? `${one.slice(0, 60)}…` : one
}
