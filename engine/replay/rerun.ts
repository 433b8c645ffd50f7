// Replay with new code (Temporal's "replay new code against old histories",
// but showing the difference instead of only failing): re-run a branch's
// recorded inputs against a notebook's current code onto a new branch, and
// report where the outcomes first diverge.
import { Engine, type EngineOptions } from '../runtime/engine.ts'
import type { EventRecord, Write } from '../runtime/event.ts'
import type { HistoryLog } from './historyLog.ts'
import type { Divergence } from './replay.ts'
import { REPLAY_MARGIN } from './replayer.ts'
import { writeBranch } from './writeBranch.ts'
import { describeOutcome, describeNoCommit, targetName, targetOf, type Before } from './describeDivergence.ts'

export type { Divergence }

export interface Rerun {
  from: string
  /** The branch the re-run was written to; null: it was kept in memory only (nothing written). */
  onto: string | null
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
  /**
   * Targets (`seats`, `holds["2"]`) whose value may differ between the two branches since an earlier divergence: a
   * change there is told without the value before, which the new branch's state no longer gives for the recorded run.
   */
  private readonly drifted = new Set<string>()
  /** The values before the transaction being re-enacted now (read just before it runs). */
  private beforeNow: Before = new Map()

  /** Told each re-enacted transaction's new event (null: it aborts now) and how it came out differently (null: the same). */
  onOutcome: ((recorded: EventRecord, now: EventRecord | null, what: string | null) => void) | null = null
  /** Retroactive logging: log lines that came out differently are no divergence (it adds them on purpose). */
  ignoreLogs = false

  /** `onto` null: the re-run is kept in memory only (an engine with no log), and said so. */
  constructor(private readonly engine: Engine, from: string, private readonly onto: string | null, private readonly maxDivergences = 100) {
    this.result = { from, onto, inputs: 0, diverged: 0, first: null, divergences: [] }
  }

  take(e: EventRecord): void {
    if (!isInput(e)) return
    this.beforeNow = this.before(e)
    this.outcome(e, this.engine.reenact(e))
  }

  /** Takes recorded transactions in order, many to a call into the sandbox. */
  takeAll(events: readonly EventRecord[]): void {
    this.engine.reenactAll(events.filter(isInput), (e, r) => this.outcome(e, r), (e) => (this.beforeNow = this.before(e)))
  }

  private outcome(e: EventRecord, r: { event: EventRecord | null; failure: string | null }): void {
    const result = this.result
    result.inputs++
    const what = r.event
      ? describeOutcome(e, r.event, this.beforeNow, { ignoreLogs: this.ignoreLogs })
      : describeNoCommit(r.failure, this.onto, this.engine.head)
    this.onOutcome?.(e, r.event, what)
    if (!what) return
    this.drift(e.writes, r.event?.writes ?? [])
    result.diverged++
    const d: Divergence = { seq: e.seq, kind: e.kind, method: e.method, location: null, now: r.event?.seq ?? null, what }
    if (!r.event) d.after = this.engine.head
    result.first ??= d
    if (result.divergences.length < this.maxDivergences) result.divergences.push(d)
  }

  /**
   * The new branch's values before the transaction of what the recorded one read or changed: the values the re-run
   * changes, too, start from (the same as the recorded run's, where nothing drifted).
   */
  private before(e: EventRecord): Before {
    const out: Before = new Map()
    if (this.drifted.size >= MAX_DRIFTED) return out
    const places = [...e.reads.map((r) => [r.state, r.key] as const), ...e.writes.map((w) => [w.state, 'key' in w ? w.key : undefined] as const)]
    for (const [state, key] of places) {
      const t = targetName(state, key)
      if (out.has(t) || this.drifted.has(t) || this.drifted.has(state)) continue
      const v = this.engine.peek(state, key)
      if (v) out.set(t, v.value)
    }
    return out
  }

  private drift(a: Write[], b: Write[]): void {
    for (const w of [...a, ...b]) if (this.drifted.size < MAX_DRIFTED) this.drifted.add(w.op === 'set' || w.op === 'delete' || w.op === 'add' ? targetOf(w) : w.state)
  }
}

/** Past this many drifted targets a re-run stops remembering them, and tells every change without the value before. */
const MAX_DRIFTED = 10_000

/** The new code is in force throughout; code events and halts are not inputs. */
function isInput(e: EventRecord): boolean {
  return e.kind !== 'code' && e.kind !== 'halt'
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
