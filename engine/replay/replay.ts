// Replay: re-execute a branch's history with the code each event recorded and
// check that every event comes out exactly as logged — the same reads,
// writes, outputs and choices, and the same hash chain. Replay is verification.
import { chainHash } from './history/hashChain.ts'
import { formatLocation } from '../runtime/compile.ts'
import type { EventRecord, SourceLocation } from '../runtime/event.ts'
import { LogDamageError, type Damage } from './logErrors.ts'
import type { StoredCode } from './sqliteLog.ts'
import type { HistoryLog } from './historyLog.ts'
import { Replayer } from './replayer.ts'

/**
 * A recorded event that re-execution did not reproduce: by replay (verify:
 * where in the code, when known) or by a re-run with new code onto a branch
 * (`now`: that branch's event for it, null when it now aborts).
 */
export interface Divergence {
  seq: number
  kind: string
  method: string | null
  location: SourceLocation | null
  /** A re-run's event for it on the new branch (null: it aborts now); absent for verify. */
  now?: number | null
  /** A re-run's event that no longer commits: the new branch's last event then (it would have come next). */
  after?: number
  /** What differed, in words. */
  what: string
}

export interface VerifyResult {
  ok: boolean
  branch: string
  /** Events checked (hash chain and re-execution). */
  events: number
  failure: Divergence | null
  /** Damage in this branch's history found when the log was opened (acknowledged events missing, a damaged heads record, …). */
  damage: Damage[]
}

export interface VerifyOptions {
  from?: number
  to?: number
  /** Also re-execute every event (default true); false checks only the hash chain, code and snapshots. */
  execute?: boolean
  /** Called after each batch; a promise it returns is awaited (a host yields to other work there). */
  onProgress?: (done: number, total: number) => void | Promise<void>
  /** The time limit the history was made under (default 1000 ms); each event is re-executed with `REPLAY_MARGIN` times it. */
  timeLimitMs?: number
  /** Re-executes somewhere else (a confined process): given the first seq to re-execute. Default: a Replayer here. */
  replayer?: (from: number) => BatchChecker
}


/** Checks a branch of the log: its hash chain, its code and snapshots, and (by re-execution) every event's outcome. */
/** What re-executes a batch of events (in this process, or in a confined one: engine/cli/history.ts). */
export interface BatchChecker {
  checkAll(events: EventRecord[], bodies?: string[]): Promise<Divergence | null>
}

/** What the Replayer reads of the log: three lookups (a confined replay asks them over its link). */
export interface ReplaySource {
  event(branch: string, seq: number): EventRecord | null
  lastOfKind(branch: string, kind: string, seq: number): number | null
  getCode(codeHash: string): StoredCode | null
}

export async function verifyBranch(log: HistoryLog, branch: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const info = log.branchInfo(branch)
  if (!info) throw new Error(`there is no branch '${branch}'`)
  const from = Math.max(1, options.from ?? 1)
  const to = Math.min(info.head, options.to ?? info.head)
  const damage = log.damageOf(branch)
  const result = (failure: Divergence | null, events: number): VerifyResult => ({ ok: !failure && !damage.length, branch, events, failure, damage })

  // Code versions and snapshots are stored by hash, so a changed byte shows.
  const badCode = new Set<string>()
  for (const c of log.codeBlobs()) if (c.actual !== c.codeHash) badCode.add(c.codeHash)
  // The snapshots of this branch's history: its own, and its ancestors' up to where it forked.
  const pieces = log.segments(branch, 1, Math.max(info.head, 1))
  if (!pieces.some(([b]) => b === branch)) pieces.push([branch, 0, Infinity])
  for (const [b, , upTo] of pieces) {
    for (const s of log.snapshots(b)) {
      if (s.seq > upTo && b !== branch) continue
      if (!s.ok) return result({ seq: s.seq, kind: 'snapshot', method: null, location: null, what: `the snapshot of branch '${b}' after event ${s.seq} does not match its hash: the log was changed after it was written` }, 0)
    }
  }
  // One pass over the stored events: the hash chain (every hash covers its
  // parent's hash and the event's bytes), then re-execution in batches.
  let replayer: BatchChecker | null = null
  try {
    replayer = options.execute === false ? null : options.replayer ? options.replayer(from) : new Replayer(log, branch, from, undefined, options.timeLimitMs)
  } catch (err) {
    // Its first event, or the state it starts from, cannot be read: that is the failure.
    if (!(err instanceof LogDamageError) || !err.damage[0]) throw err
    const d = err.damage[0]
    return result({ seq: d.seq, kind: 'unreadable', method: null, location: null, what: d.message }, 0)
  }
  const total = to - from + 1
  let parent = log.hashAt(branch, 0)
  let checked = 0
  let done = 0
  let events: EventRecord[] = []
  let bodies: string[] = []
  const run = async (): Promise<Divergence | null> => {
    const failure = await replayer!.checkAll(events, bodies)
    done += events.length
    events = []
    bodies = []
    await options.onProgress?.(done, total)
    return failure
  }
  let reading = 1
  try {
    for (const raw of log.raw(branch, 1, to)) {
      reading = raw.seq + 1
      let e: EventRecord | null = null
      try {
        e = JSON.parse(raw.body) as EventRecord
      } catch {
        e = null
      }
      if (chainHash(parent, raw.body) !== raw.hash || e?.seq !== raw.seq) {
        return result({ seq: raw.seq, kind: e?.kind ?? 'unreadable', method: e?.method ?? null, location: null, what: `event ${raw.seq} of branch '${raw.branch}' does not match its hash: the log was changed after it was written` }, checked)
      }
      if (badCode.has(e.codeHash)) {
        return result({ seq: e.seq, kind: e.kind, method: e.method, location: null, what: `event ${e.seq} of branch '${raw.branch}' ran code (${e.codeHash.slice(0, 12)}…) that does not match its hash: the stored code was changed` }, checked)
      }
      parent = e.hash = raw.hash
      checked++
      if (replayer && raw.seq >= from) {
        events.push(e)
        bodies.push(raw.body)
        if (events.length === 2000) {
          const failure = await run()
          if (failure) return result(failure, checked)
        }
      }
    }
  } catch (err) {
    // An event that cannot be read is damage, named like any other; SQLite's own errors (a malformed file) too.
    if (!(err instanceof LogDamageError) && !String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_')) throw err
    const d = err instanceof LogDamageError ? err.damage[0] : undefined
    const where = d?.branch ? `branch '${d.branch}': ` : `branch '${log.ownerOf(branch, Math.min(reading, to))}': `
    const what = d ? d.message : `${where}event ${reading} cannot be read: ${(err as Error).message}`
    return result({ seq: d?.seq ?? reading, kind: 'unreadable', method: null, location: null, what }, checked)
  }
  if (replayer && events.length) {
    const failure = await run()
    if (failure) return result(failure, checked)
  }
  return result(null, checked)
}

/** "event 12 (step, cell #step line 4): what" — a divergence in the user's words. */
export function describeDivergence(path: string, d: Divergence): string {
  const what = d.method && d.method !== d.kind ? `${d.kind} ${d.method}` : d.kind
  return `event ${d.seq} (${what})${d.location ? ` at ${formatLocation(path, d.location)}` : ''}: ${d.what}`
}
