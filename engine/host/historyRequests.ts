// Reading the history from the UI: a page of a branch's events, the state at
// a moment, the latest attempts, the branches, and an expression evaluated
// at a moment (the REPL). Also the checks every reader shares: a moment of a
// branch, and the branches as the UI lists them.
import type { HistoryLog } from '../replay/historyLog.ts'
import type { BranchView, Result } from '../protocol/messages.ts'
import type { Engine } from '../runtime/engine.ts'
import { seek } from '../replay/seek.ts'
import type { HostAccess } from './HostAccess.ts'
import type { Handlers } from './requestTable.ts'
import { Refusal } from './problems.ts'
import { stateBindings } from './notebookCells.ts'
import { evaluateReadOnly } from './evaluate.ts'
import { redactCredentials } from '../protocol/redactCredentials.ts'
import { withDurations } from './profileRequests.ts'

/** The most events (or attempts) one request answers. */
const MAX_PAGE = 1000
/** The most recorded failures one request answers per branch (a test that stays broken fails after every event). */
const MAX_FAILURES = 10_000

type HistoryOps = 'log' | 'state' | 'attempts' | 'failures' | 'branches' | 'evaluate'

/** `app`: the running app's engine, when there is one (its attempts include those not yet written). */
export function historyRequests(host: HostAccess, app: () => Engine | null, log: () => HistoryLog | null): Handlers<HistoryOps> {
  return {
    log: (p) => page(host, p.branch, p.from, p.limit),
    state: (p) => {
      const { branch, at } = host.moment(p.branch, p.at)
      return { branch, at, values: seek(host.history(), { branch, seq: at }) } satisfies Result<'state'>
    },
    attempts: (p) => {
      const limit = Math.min(p.limit ?? 100, MAX_PAGE)
      return app()?.attempts(limit) ?? log()?.attempts(limit) ?? []
    },
    // Read as the log keeps them (what the running app found is written with its next group commit).
    failures: (p) => {
      const limit = Math.max(1, Math.min(p.limit ?? MAX_FAILURES, MAX_FAILURES))
      // Each branch's own events: what a fork shares with its parent is its parent's (marked and counted once, as live).
      return host.branchViews().map((b) => host.history().failures(b.name, b.forkedAt === null ? 0 : b.forkedAt + 1, Number.MAX_SAFE_INTEGER, limit))
    },
    branches: () => host.branchViews(),
    evaluate: (p) => {
      const { branch, at } = host.moment(p.branch, p.at)
      const history = host.history()
      // The REPL may be a guest's: a recorded response's cookies (sys.effects) stay blanked, as they are shown.
      const state = redactCredentials(seek(history, { branch, seq: at }))
      // sys in the REPL reads the moment: its event's time, and the app's configuration.
      const engine = app()
      const moment = { time: at > 0 ? (history.event(branch, at)?.time ?? null) : null, env: engine?.options.env ?? {}, args: engine?.options.args ?? [] }
      const model = host.notebook()
      return evaluateReadOnly(host.evaluator(), p.expr, state, model ? stateBindings(model) : new Map(), moment).then((value) => ({ value }) satisfies Result<'evaluate'>)
    },
  }
}

/** Branch `branch` (default: the one the log appends to) and its event `at` (default: its head), checked. */
export function momentOf(log: HistoryLog, branch: string | undefined, at: number | undefined): { branch: string; at: number } {
  const name = branch ?? log.branch
  const info = log.branchInfo(name)
  if (!info) throw new Refusal(`there is no branch '${name}'; the branches are ${log.branches().map((b) => b.name).join(', ')}`, { branch: name }, 'history')
  if (at !== undefined && at > info.head) throw new Refusal(`branch '${name}' has events 1..${info.head}; there is no event ${at}`, { branch: name, event: at }, 'history')
  return { branch: info.name, at: at ?? info.head }
}

/** The branches as the UI lists them: an archived one (deleted by a person) is kept in the log but not shown; the live one always is. */
export function branchViewsOf(log: HistoryLog): BranchView[] {
  const live = log.live
  return log.branches().filter((b) => !b.archived || b.name === live).map((b) => ({ name: b.name, head: b.head, parent: b.parent, forkedAt: b.parent === null ? null : b.forkSeq, live: b.name === live, ...(b.label ? { label: b.label } : {}) }))
}

function page(host: HostAccess, branch: string | undefined, from: number | undefined, limit: number | undefined): Result<'log'> {
  const { branch: name, at: head } = host.moment(branch, undefined)
  const first = Math.max(1, from ?? 1)
  const count = Math.min(limit ?? MAX_PAGE, MAX_PAGE)
  return { branch: name, head, events: first > head || count === 0 ? [] : withDurations(host.history(), name, host.history().eventsOf(name, first, Math.min(count, head - first + 1))) }
}
