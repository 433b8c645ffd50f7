// Replay with new code (Temporal's "replay new code against old histories",
// but showing the difference instead of only failing): re-run a branch's
// recorded inputs against a notebook's current code onto a new branch, and
// report where the outcomes first diverge.
import { Engine, type EngineOptions } from '../runtime/engine.ts'
import { canonicalJson } from '../runtime/values.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { HistoryLog } from './historyLog.ts'
import { REPLAY_MARGIN, type Divergence } from './replay.ts'
import { writeBranch } from './writeBranch.ts'

export type { Divergence }

export interface Rerun {
  from: string
  onto: string
  /** Recorded transactions re-run. */
  inputs: number
  /** How many came out differently. */
  diverged: number
  first: Divergence | null
  /** The first divergences, at most `maxDivergences` (default 100). */
  divergences: Divergence[]
}

export interface RerunOptions extends EngineOptions {
  /** The notebook's text, when it is not (or not yet) what the file holds: a UI's unsaved edits. */
  text?: string
  maxDivergences?: number
  /** Called every so many transactions; a promise it returns is awaited (a host yields to other work there). */
  onProgress?: (done: number, total: number) => void | Promise<void>
}

/** Re-runs `from`'s recorded transactions with `notebook`'s code onto a new branch `onto`. */
export async function replayWithCode(log: HistoryLog, from: string, notebook: string, onto: string, options: RerunOptions = {}): Promise<Rerun> {
  const { text, maxDivergences = 100, onProgress, ...engineOptions } = options
  const info = log.branchInfo(from)
  if (!info) throw new Error(`there is no branch '${from}'`)
  const first = log.event(from, 1)
  // Forked at 0: the new branch shares nothing but its parent's name, and takes every event anew.
  return writeBranch(log, onto, { branch: from, seq: 0 }, async (branch) => {
    const config: EngineOptions = { ...engineOptions, timeLimitMs: rerunTimeLimit(engineOptions.timeLimitMs), log: branch, branch: onto, clock: 'virtual', startTime: first?.time ?? 0 }
    const engine = text === undefined ? await Engine.open(notebook, config) : await Engine.fromSource(text, { ...config, path: notebook })
    const rerun = new Rerunner(engine, from, onto, maxDivergences)
    await inBatches(log.iterate(from, 1, info.head), (events) => rerun.takeAll(events), onProgress && ((seq) => onProgress(seq, info.head)))
    return rerun.result
  })
}

/** Each recorded transaction committed within its limit once: like replay, give it a margin for a busier machine. */
export function rerunTimeLimit(timeLimitMs = 1000): number {
  return timeLimitMs * REPLAY_MARGIN
}

/** Re-enacts recorded transactions, in order, with an engine's code on the new branch, and tells what came out differently. */
export class Rerunner {
  readonly result: Rerun

  /** Told each re-enacted transaction's new event (null: it aborts now) and how it came out differently (null: the same). */
  onOutcome: ((recorded: EventRecord, now: EventRecord | null, what: string | null) => void) | null = null
  /** Log lines that came out differently are not a divergence (retroactive logging adds them on purpose). */
  ignoreLogs = false

  constructor(private readonly engine: Engine, from: string, onto: string, private readonly maxDivergences = 100) {
    this.result = { from, onto, inputs: 0, diverged: 0, first: null, divergences: [] }
  }

  take(e: EventRecord): void {
    if (isInput(e)) this.outcome(e, this.engine.reenact(e))
  }

  /** Takes recorded transactions in order, many to a call into the sandbox. */
  takeAll(events: readonly EventRecord[]): void {
    this.engine.reenactAll(events.filter(isInput), (e, r) => this.outcome(e, r))
  }

  private outcome(e: EventRecord, r: { event: EventRecord | null; failure: string | null }): void {
    const result = this.result
    result.inputs++
    const what = r.event ? compareOutcome(e, r.event, this.ignoreLogs) : `it committed when recorded; with this code it aborts: ${r.failure}`
    this.onOutcome?.(e, r.event, what)
    if (!what) return
    result.diverged++
    const d: Divergence = { seq: e.seq, kind: e.kind, method: e.method, location: null, now: r.event?.seq ?? null, what }
    result.first ??= d
    if (result.divergences.length < this.maxDivergences) result.divergences.push(d)
  }
}

/** The new code is in force throughout; code events and halts are not inputs. */
function isInput(e: EventRecord): boolean {
  return e.kind !== 'code' && e.kind !== 'halt'
}

/** How a re-run transaction's outcome differs from the recorded one (its writes, then its outputs), or null. */
export function compareOutcome(recorded: EventRecord, now: EventRecord, ignoreLogs = false): string | null {
  // Retroactive logging adds log lines on purpose: only what else came out differently is a divergence there.
  const part = (e: EventRecord, field: 'writes' | 'outputs') => (ignoreLogs && field === 'outputs' ? { ...e.outputs, logs: undefined } : e[field])
  for (const field of ['writes', 'outputs'] as const) {
    const a = canonicalJson(part(recorded, field))
    const b = canonicalJson(part(now, field))
    if (a !== b) return `its ${field} differ: recorded ${short(a)}, now ${short(b)}`
  }
  return null
}

function short(s: string): string {
  return s.length > 160 ? `${s.slice(0, 160)}…` : s
}

/** Hands `events` on in batches of 1000, and says after each how far it got (a host yields to other work there). */
export async function inBatches(events: Iterable<EventRecord>, take: (batch: EventRecord[]) => void, progress?: (seq: number) => void | Promise<void>): Promise<void> {
  let batch: EventRecord[] = []
  const send = async () => {
    take(batch)
    const last = batch[batch.length - 1]!.seq
    batch = []
    await progress?.(last)
  }
  for (const e of events) {
    batch.push(e)
    if (batch.length === 1000) await send()
  }
  if (batch.length) await send()
}
