// Long requests (verify, rerun, explore) tell every UI how far they have got,
// and hand the engine process's thread back between their batches.
import type { Notice } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import { Refusal } from './problems.ts'

/** Progress notices go out at most this often: a progress bar needs no more. */
const PROGRESS_MS = 100

type Op = Extract<Notice, { type: 'progress' }>['op']

/** Sends job `job`'s progress: at most every PROGRESS_MS, unless `must` (its first and last). */
export function progressOf(host: HostAccess, job: number, op: Op, what: string) {
  let last = 0
  return (done: number, total: number | null, must = false, now = what) => {
    const t = performance.now()
    if (!must && t - last < PROGRESS_MS) return
    last = t
    host.broadcast({ type: 'progress', job, op, done, total, what: now })
  }
}

/** Lets the live app and other requests run before the next batch; stops the job when the host closes, or when asked to (`stop`: its stopJob signal). */
export async function turnOver(host: HostAccess, stop?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve))
  if (host.closing) throw new Refusal('the engine is shutting down; the job was stopped')
  if (stop?.aborted) throw new Refusal('stopped, as asked')
}
