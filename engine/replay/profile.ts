// Where the time went: each method's (and cell's) run times across a branch's
// history, from the timings the log keeps beside its events. Shared by
// `loom profile` and the window's Profile tab (through the log, wherever it is).
import type { EventTiming } from './history/timings.ts'
import type { Attempt } from '../runtime/event.ts'

/** The slowest events kept per row: what a click on a row lists. */
export const SLOWEST = 10
/** More distinct (kind, method, cell) rows than this are cut (each code version's cells count once). */
const MAX_ROWS = 500

export interface ProfileRow {
  kind: string
  method: string | null
  /** The cell that exports the method (null: an edit, or code with no switch). */
  cell: string | null
  count: number
  /** Milliseconds. */
  total: number
  mean: number
  p50: number
  p95: number
  max: number
  /** The slowest events, slowest first. */
  slowest: { seq: number; ms: number }[]
}

export interface Profile {
  branch: string
  /** Events on the branch, and how many of them have a recorded time. */
  events: number
  timed: number
  /** Rows by total time, largest first. */
  rows: ProfileRow[]
  /** Rows left out beyond MAX_ROWS. */
  more: number
  /** Transactions that ran and did not commit (a wait, an exception, a time-out), by method, among the recent attempts the log keeps. */
  aborted: { kind: string; method: string | null; count: number; total: number }[]
  /** http requests, from arrival to answer (their events made durable): null when none was recorded. */
  latency: LatencySummary | null
}

export interface LatencySummary {
  count: number
  mean: number
  p50: number
  p95: number
  max: number
  /** The slowest requests, slowest first. */
  slowest: { seq: number; ms: number }[]
}

/** Adds up `timings` (a branch's measured events, any order), and its recent `attempts`, into a profile. */
export function profileOf(branch: string, events: number, timings: Iterable<EventTiming>, attempts: Attempt[] = [], latencies: Iterable<[seq: number, ms: number]> = []): Profile {
  const groups = new Map<string, { row: ProfileRow; times: number[] }>()
  let timed = 0
  for (const t of timings) {
    timed++
    const name = `${t.kind}\0${t.method}\0${t.cell}`
    let g = groups.get(name)
    if (!g) groups.set(name, (g = { row: { kind: t.kind, method: t.method, cell: t.cell, count: 0, total: 0, mean: 0, p50: 0, p95: 0, max: 0, slowest: [] }, times: [] }))
    // Stored as 32-bit floats: back to the microseconds they were measured in.
    const ms = us(t.ms)
    g.times.push(ms)
    g.row.total += ms
    keepSlowest(g.row.slowest, t.seq, ms)
  }
  const rows = [...groups.values()].map(({ row, times }) => {
    const sorted = Float64Array.from(times).sort()
    row.count = sorted.length
    row.total = us(row.total)
    row.mean = us(row.total / row.count)
    row.p50 = percentile(sorted, 0.5)
    row.p95 = percentile(sorted, 0.95)
    row.max = sorted[sorted.length - 1]!
    return row
  })
  sortRows(rows, 'total')
  const aborted = new Map<string, Profile['aborted'][number]>()
  for (const a of attempts) {
    const name = `${a.kind}\0${a.method}`
    let x = aborted.get(name)
    if (!x) aborted.set(name, (x = { kind: a.kind, method: a.method, count: 0, total: 0 }))
    x.count++
    x.total += a.duration ?? 0
  }
  for (const x of aborted.values()) x.total = us(x.total)
  return { branch, events, timed, rows: rows.slice(0, MAX_ROWS), more: Math.max(0, rows.length - MAX_ROWS), aborted: [...aborted.values()].sort((a, b) => b.total - a.total || b.count - a.count), latency: latencySummary(latencies) }
}

function latencySummary(latencies: Iterable<[seq: number, ms: number]>): LatencySummary | null {
  const times: number[] = []
  const slowest: LatencySummary['slowest'] = []
  let total = 0
  for (const [seq, ms] of latencies) {
    times.push(ms)
    total += ms
    keepSlowest(slowest, seq, us(ms))
  }
  if (!times.length) return null
  const sorted = Float64Array.from(times).sort()
  return { count: sorted.length, mean: us(total / sorted.length), p50: us(percentile(sorted, 0.5)), p95: us(percentile(sorted, 0.95)), max: us(sorted[sorted.length - 1]!), slowest }
}

export type ProfileSort = 'total' | 'mean' | 'max' | 'count' | 'p50' | 'p95'
export const PROFILE_SORTS: readonly ProfileSort[] = ['total', 'mean', 'max', 'count', 'p50', 'p95']

/** Largest first; ties by method and cell, so the order is the same every time. */
export function sortRows(rows: ProfileRow[], by: ProfileSort): ProfileRow[] {
  return rows.sort((a, b) => b[by] - a[by] || label(a).localeCompare(label(b)))
}

/** A row as people name it: `step() in #work`. */
export function label(r: Pick<ProfileRow, 'kind' | 'method' | 'cell'>): string {
  const what = r.method ? `${r.method}()` : r.kind
  return r.cell ? `${what} in #${r.cell}` : what
}

function us(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** The nearest-rank percentile of sorted times. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

function keepSlowest(list: { seq: number; ms: number }[], seq: number, ms: number): void {
  if (list.length === SLOWEST && list[SLOWEST - 1]!.ms >= ms) return
  let i = list.length
  while (i > 0 && list[i - 1]!.ms < ms) i--
  list.splice(i, 0, { seq, ms })
  if (list.length > SLOWEST) list.pop()
}
