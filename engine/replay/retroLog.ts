// Retroactive logging: what a notebook's current code (a sys.log or
// console.log line added to a cell) would have printed at every past event
// of a branch. The branch's recorded transactions are re-enacted with that
// code (rerun.ts's Rerunner, as replay --code does) on an engine that keeps
// its events in memory: nothing is written to the log.
import { Engine } from '../runtime/engine.ts'
import type { EventRecord, LogLine } from '../runtime/event.ts'
import type { HistoryLog } from './historyLog.ts'
import { inBatches, Rerunner, rerunTimeLimit } from './rerun.ts'

/** One past event and what the current code printed re-enacting it. */
export interface RetroEvent {
  seq: number
  kind: string
  method: string | null
  lines: LogLine[]
  /** What it wrote to sys.tty, when it did. */
  tty?: string
  /** How its writes or outputs came out differently from the recorded ones (the re-run's state differs from here on). */
  diverged?: string
  /** Lines it printed beyond the first MAX_EVENT_LINES, not kept. */
  more?: number
}

/** Lines kept per event: a cell that logs in a loop cannot fill the memory of whoever asks (all are counted). */
export const MAX_EVENT_LINES = 1000

export interface RetroLogs {
  branch: string
  /** Recorded transactions re-enacted. */
  inputs: number
  /** Log lines printed in all, and the events kept (those that printed or diverged, the first `limit`). */
  lines: number
  events: RetroEvent[]
  /** Events that printed or diverged, kept or not. */
  found: number
  diverged: number
  firstDivergence: number | null
}

/** Keeps the events that printed or diverged, the first `limit` of them; counts them all. */
export class RetroCollector {
  readonly result: RetroLogs

  constructor(branch: string, private readonly limit = 1000) {
    this.result = { branch, inputs: 0, lines: 0, events: [], found: 0, diverged: 0, firstDivergence: null }
  }

  /** Watches a Rerunner's outcomes. */
  watch(rerun: Rerunner): void {
    rerun.ignoreLogs = true
    rerun.onOutcome = (recorded, now, what) => this.take(recorded, now, what)
  }

  private take(recorded: EventRecord, now: EventRecord | null, what: string | null): void {
    const r = this.result
    r.inputs++
    const lines = now?.outputs.logs ?? []
    const tty = now?.outputs.tty
    r.lines += lines.length
    if (what) {
      r.diverged++
      r.firstDivergence ??= recorded.seq
    }
    if (!lines.length && !what && !tty) return
    r.found++
    if (r.events.length >= this.limit) return
    const e: RetroEvent = { seq: recorded.seq, kind: recorded.kind, method: recorded.method, lines: lines.slice(0, MAX_EVENT_LINES) }
    if (lines.length > MAX_EVENT_LINES) e.more = lines.length - MAX_EVENT_LINES
    if (tty) e.tty = tty
    if (what) e.diverged = what
    r.events.push(e)
  }
}

export interface RetroOptions {
  /** The notebook's text when it is not (or not yet) what the file holds: a UI's unsaved edits. */
  text?: string
  timeLimitMs?: number
  limit?: number
  onProgress?: (done: number, total: number) => void | Promise<void>
}

/** An engine with `text`'s code that re-enacts a branch recorded from `startTime`, keeping its events in memory. */
export function retroEngine(text: string, path: string, startTime: number, timeLimitMs?: number): Promise<Engine> {
  return Engine.fromSource(text, { path, timeLimitMs: rerunTimeLimit(timeLimitMs), clock: 'virtual', startTime })
}

/** What `notebook`'s code (or `text`) prints at each recorded transaction of `branch`, in this process. */
export async function retroLogs(log: HistoryLog, branch: string, notebook: string, options: RetroOptions & { text: string }): Promise<RetroLogs> {
  const info = log.branchInfo(branch)
  if (!info) throw new Error(`there is no branch '${branch}'`)
  const engine = await retroEngine(options.text, notebook, log.event(branch, 1)?.time ?? 0, options.timeLimitMs)
  const rerun = new Rerunner(engine, branch, null, 0)
  const collector = new RetroCollector(branch, options.limit)
  collector.watch(rerun)
  await inBatches(log.iterate(branch, 1, info.head), (events) => rerun.takeAll(events), options.onProgress && ((seq) => options.onProgress!(seq, info.head)))
  return collector.result
}
