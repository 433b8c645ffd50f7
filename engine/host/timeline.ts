// The timeline's coarse view: how many events of each kind fall in each of N
// equal ranges of a branch's seqs. The log counts its marks (every event but
// a step is marked with its kind, for resumes: SqliteLog.markCounts), so
// binning a million events reads no event: steps are what the marks leave over.
import type { HistoryLog } from '../replay/historyLog.ts'
import type { EventRecord, TimelineBin } from '../protocol/messages.ts'
import { eventBlock } from '../protocol/eventBin.ts'
import { EFFECTS_STATE } from '../protocol/effectLine.ts'

export const MAX_BINS = 10_000
/** Outputs are not marked: counting them reads the events, so only ranges this short have them. */
export const OUTPUT_RANGE = 20_000

/** Bins of events `from`..`to` of `branch` (ancestors' events included for a fork). */
export function timeline(log: HistoryLog, branch: string, from: number, to: number, bins: number): TimelineBin[] {
  const n = to - from + 1
  if (n <= 0) return []
  const count = Math.min(bins, n, MAX_BINS)
  // Bin i holds the seqs s with floor((s - from) * count / n) = i: the rule markCounts bins by.
  const start = (i: number) => from + Math.ceil((i * n) / count)
  const out: TimelineBin[] = []
  for (let i = 0; i < count; i++) out.push({ from: start(i), to: start(i + 1) - 1, kinds: {}, outputs: n <= OUTPUT_RANGE ? 0 : null })
  const counts = log.markCounts(branch, from, to, count)
  for (let i = 0; i < count; i++) Object.assign(out[i]!.kinds, counts[i])
  for (const bin of out) {
    let marked = 0
    for (const k in bin.kinds) marked += bin.kinds[k]!
    const steps = bin.to - bin.from + 1 - marked
    if (steps > 0) bin.kinds.step = steps
  }
  if (n <= OUTPUT_RANGE) readOutputs(log, branch, from, to, count, n, out)
  return out
}

/**
 * Events that printed (tty) or logged (sys.log), per bin, and zoomed in to one bin per event what its
 * block says (eventBin's eventBlock: an http event's request line, an effect's, the effects an event
 * used or refreshed): read from the stored encodings.
 */
function readOutputs(log: HistoryLog, branch: string, from: number, to: number, count: number, n: number, out: TimelineBin[]): void {
  // Zoomed in to single events, a request's label says how long it took (the log keeps that beside the event).
  const single = count === n
  const latency = single ? new Map(log.latencyList(branch, from, to)) : null
  for (const raw of log.raw(branch, from, to)) {
    // Most events have no outputs and touch no recorded response: the encoding ends with an empty object, and is not parsed.
    // (A quote inside a string is escaped, so the state's name in quotes is found only as a key or a state.)
    if (raw.body.endsWith(',"outputs":{}}') && !(single && raw.body.includes(`"${EFFECTS_STATE}"`))) continue
    const e = JSON.parse(raw.body) as Pick<EventRecord, 'kind' | 'input' | 'outputs' | 'reads' | 'writes'>
    const bin = out[Math.floor(((raw.seq - from) * count) / n)]!
    if (e.outputs.tty || e.outputs.logs?.length) bin.outputs!++
    if (single) Object.assign(bin, eventBlock({ ...e, latency: latency?.get(raw.seq) }))
  }
}
