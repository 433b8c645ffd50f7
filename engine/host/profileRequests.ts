// The window's Profile and Diff tabs: where the time went on a branch, how
// long single events ran, and what changed between two moments — the same
// engine functions as `loom profile` and `loom diff`, answers bounded.
import { diff, type Change } from '../replay/seek.ts'
import type { EventRecord, Json, Params, Result } from '../protocol/messages.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import type { HostAccess } from './HostAccess.ts'
import { Refusal } from './problems.ts'

/** Events per timings request: a page of the event list. */
export const MAX_TIMINGS = 1000
export const DIFF_LINES = 200
export const MAX_DIFF_LINES = 1000
/** A value longer than this (as JSON) is shown cut, saying how long it is: the answer stays small whatever the state holds. */
export const MAX_VALUE_TEXT = 20_000

export function profile(host: HostAccess, p: Params<'profile'>): Result<'profile'> {
  const { branch } = host.moment(p.branch, undefined)
  return host.history().profile(branch)
}

export function timings(host: HostAccess, p: Params<'timings'>): Result<'timings'> {
  const { branch, at: head } = host.moment(p.branch, undefined)
  if (p.from > p.to) throw new Refusal(`events ${p.from}..${p.to} of branch '${branch}' is an empty range: 'from' must not be after 'to'`, { branch }, 'badInput')
  if (p.to - p.from + 1 > MAX_TIMINGS) throw new Refusal(`at most ${MAX_TIMINGS} events' timings at once; ask for ${p.from}..${p.from + MAX_TIMINGS - 1}, then the next`, { branch }, 'badInput')
  const from = Math.max(1, p.from)
  const to = Math.min(head, p.to)
  return { branch, timings: from > to ? [] : host.history().timings(branch, from, to) }
}

/** What changed between two moments: one line per changed state, or per changed key of a map (as `loom diff` prints them), the first `limit`. */
export function diffMoments(host: HostAccess, p: Params<'diff'>): Result<'diff'> {
  const a = host.moment(p.from.branch, p.from.seq)
  const b = host.moment(p.to.branch, p.to.seq)
  const from = { branch: a.branch, seq: a.at }
  const to = { branch: b.branch, seq: b.at }
  const all = diff(host.history(), from, to)
  const limit = Math.min(p.limit ?? DIFF_LINES, MAX_DIFF_LINES)
  const changes: Change[] = []
  let lines = 0
  let shown = 0
  for (const c of all) {
    const n = c.change === 'changed' && c.keys ? c.keys.length : 1
    lines += n
    if (shown >= limit) continue
    if (n > limit - shown && c.change === 'changed' && c.keys) {
      changes.push(cutValues({ ...c, keys: c.keys.slice(0, limit - shown) }))
      shown = limit
    } else {
      changes.push(cutValues(c))
      shown += n
    }
  }
  return { from, to, changes, lines, shown }
}

function cutValues(c: Change): Change {
  if (c.change === 'added') return { ...c, after: cut(c.after) }
  if (c.change === 'removed') return { ...c, before: cut(c.before) }
  // A map's keys say what changed: its whole value before and after is cut like any other.
  const keys = c.keys?.map((k) => ({ key: k.key, before: cut(k.before), after: cut(k.after) }))
  return { ...c, before: cut(c.before), after: cut(c.after), ...(keys ? { keys } : {}) }
}

function cut(v: Json): Json {
  if (v === null || (typeof v !== 'object' && typeof v !== 'string')) return v
  const text = JSON.stringify(v)
  return text.length <= MAX_VALUE_TEXT ? v : `${text.slice(0, 2000)}… (${text.length.toLocaleString('en')} characters as JSON; loom diff prints it whole)`
}

/** A page of events with how long each ran (and an http request took to answer), where the log kept it (the event details show it). */
export function withDurations(log: HistoryLog, branch: string, events: EventRecord[]): EventRecord[] {
  if (!events.length) return events
  const from = events[0]!.seq
  const to = events[events.length - 1]!.seq
  const at = new Map(log.timings(branch, from, to).map((t) => [t.seq, t]))
  const latency = events.some((e) => e.kind === 'http') ? new Map(log.latencyList(branch, from, to)) : null
  for (const e of events) {
    const t = at.get(e.seq)
    if (t) {
      e.duration = t.ms
      e.cell = t.cell
    }
    const l = latency?.get(e.seq)
    if (l !== undefined) e.latency = l
  }
  return events
}
