// Replay from the UI: verify a range of a branch (re-execute every event and
// check it against its record) and re-run a branch with the notebook's
// current code onto a new branch. Both hand the thread back between batches,
// so the live app and every UI are answered meanwhile; `progress` notices
// carry the job's number, which the answer carries too.
import { verifyBranch, describeDivergence } from '../replay/replay.ts'
import { replayWithCode } from '../replay/rerun.ts'
import type { Result } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import { announce } from './branchRequests.ts'
import { Refusal } from './problems.ts'
import { progressOf, turnOver } from './progress.ts'

export async function verify(host: HostAccess, branch: string | undefined, from: number | undefined, to: number | undefined): Promise<Result<'verify'>> {
  const { branch: name, at: head } = host.moment(branch, undefined)
  const first = Math.max(1, from ?? 1)
  const last = Math.min(to ?? head, head)
  if (to !== undefined && to > head) throw new Refusal(`branch '${name}' has events 1..${head}; there is no event ${to}`)
  if (first > last) throw new Refusal(`nothing to verify: events ${first}..${last} of branch '${name}' is an empty range`)
  const log = host.history()
  const { job, signal } = host.nextJob()
  const what = `verifying events ${first}..${last} of branch '${name}'`
  const progress = progressOf(host, job, 'verify', what)
  progress(0, last - first + 1, true)
  const r = await verifyBranch(log, name, {
    from: first, to: last,
    onProgress: async (done, total) => {
      progress(done, total)
      await turnOver(host, signal)
    },
  })
  progress(last - first + 1, last - first + 1, true)
  const path = log.getCode(log.event(name, 1)?.codeHash ?? '')?.path ?? host.notebookPath
  const failure = r.failure
    ? { code: 'history' as const, message: describeDivergence(path, r.failure), seq: r.failure.seq, ...(r.failure.location ? { where: { file: path, cell: r.failure.location.cell, line: r.failure.location.line, fileLine: r.failure.location.fileLine } } : {}) }
    : r.damage[0]
      ? { code: 'history' as const, message: r.damage[0].message, seq: r.damage[0].seq } // acknowledged events missing, a damaged heads record
      : null
  return { job, ok: r.ok, events: r.events, failure }
}

export async function rerun(host: HostAccess, branch: string | undefined, onto: string): Promise<Result<'rerun'>> {
  const { branch: name, at: head } = host.moment(branch, undefined)
  const { job, signal } = host.nextJob()
  const progress = progressOf(host, job, 'rerun', `re-running branch '${name}' with the current code onto '${onto}'`)
  progress(0, head, true)
  const log = host.openLog({ fsync: false })
  try {
    const r = await replayWithCode(log, name, host.notebookPath, onto, {
      text: host.text(), timeLimitMs: host.timeLimitMs,
      onProgress: async (done, total) => {
        progress(done, total)
        await turnOver(host, signal)
      },
    }).catch((err: Error) => {
      throw new Refusal(`cannot re-run branch '${name}' onto '${onto}': ${err.message}`)
    })
    progress(head, head, true)
    return { job, branch: announce(host, onto), diverged: r.diverged, inputs: r.inputs, divergences: r.divergences.map((d) => ({ seq: d.seq, now: d.now ?? null, what: d.what })) }
  } finally {
    log.close()
  }
}
