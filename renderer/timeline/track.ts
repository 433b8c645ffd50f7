// One branch's track as the timeline keeps it: its bins (zoomed out), the
// events cached for drawing one by one (zoomed in), and its markers. The
// cache keeps what is in view and the newest, never the whole history.
// syncTracks and streamInto keep the map of tracks in step with the
// branches and with the events streaming in.
import type { BranchView, EventRecord, TimelineBin } from '../../engine/protocol/messages.ts'
import { eventBin } from '../../engine/protocol/eventBin.ts'
import { KINDS } from './moment.ts'
import { effectLinks } from './effectLinks.ts'

/** Below this many visible events of a track, events are drawn one by one (from one-event bins). */
export const DETAIL_MAX = 2000
const CACHE_MAX = 40_000

export interface Lite {
  seq: number
  kind: string
  outputs: boolean
  /** What the event's block says when there is room: an http or effect event's request line, else its kind. */
  label?: string
  /** The effects it recorded, used or refreshed, by their requests' hash starts (eventBin.ts): what links an effect to its transaction. */
  effect?: string
  uses?: string[]
  refreshes?: string[]
}

/** Bins as drawn: each kind's share of each bin's height, worked out once when they arrive rather than every frame. */
export interface BinSet {
  from: number
  to: number
  bins: TimelineBin[]
  /** Per kind (in KINDS order): for each bin, where its band starts and how tall it is, as fractions of the track's height (0 = none). */
  tops: Float32Array[]
  heights: Float32Array[]
}

export interface TrackData {
  branch: BranchView
  /** Bins for the last range asked, with the range, kept until fresher ones come. */
  bins: BinSet | null
  events: Map<number, Lite>
  /** How many of `events` are of each kind (the label's data-kinds), kept as events come and go. */
  kinds: Map<string, number>
  /** Seqs with markers: transactions that threw after them, failed tests, divergences of a rerun. */
  errors: Set<number>
  failures: Set<number>
  divergences: Map<number, string>
  /** Answers of the Questions tab: where a predicate held, where the current code logs. */
  answers: { match: Set<number>; log: Set<number> }
}

/** A track for a branch the timeline has not seen yet: nothing fetched, no markers. */
export function newTrack(branch: BranchView): TrackData {
  return { branch, bins: null, events: new Map(), kinds: new Map(), errors: new Set(), failures: new Set(), divergences: new Map(), answers: { match: new Set(), log: new Set() } }
}

/** The first seq a track draws: a fork's history before it is its parent's. */
export function trackStart(t: TrackData): number {
  return (t.branch.forkedAt ?? 0) + 1
}

/** Branches in tree order: each right below its parent, children by fork point (a parent not among them: a root). */
export function treeOrder(branches: BranchView[]): string[] {
  const names = new Set(branches.map((b) => b.name))
  const children = new Map<string | null, BranchView[]>()
  for (const b of branches) {
    const p = b.parent && names.has(b.parent) ? b.parent : null
    children.set(p, [...(children.get(p) ?? []), b])
  }
  const order: string[] = []
  const walk = (p: string | null) => {
    for (const b of (children.get(p) ?? []).sort((x, y) => (x.forkedAt ?? 0) - (y.forkedAt ?? 0) || x.name.localeCompare(y.name))) {
      order.push(b.name)
      walk(b.name)
    }
  }
  walk(null)
  return order
}

/** What the timeline says of event `seq` of a track under the pointer: where, its kind, and its markers. */
export function describeEvent(t: TrackData, seq: number): string {
  const parts = [`${t.branch.label ?? t.branch.name} · event ${seq.toLocaleString('en-US')}`]
  const ev = t.events.get(seq)
  // An effect and a refresh say what they read (a request's line is on its block already).
  if (ev) parts.push(ev.label && (ev.kind === 'effect' || ev.refreshes) ? `${ev.kind}: ${ev.label}` : ev.kind)
  const linked = ev ? effectLinks(t, seq) : []
  if (linked.length) parts.push(ev!.kind === 'effect' ? `used by event ${linked.join(', ')}` : ev!.refreshes ? `refreshes event ${linked.join(', ')}` : `used the read of event ${linked.join(', ')}`)
  const div = t.divergences.get(seq)
  if (div) parts.push(`diverged: ${div}`)
  if (t.errors.has(seq)) parts.push('a transaction threw after this event')
  if (t.failures.has(seq)) parts.push('a test failed here')
  return parts.join(' · ')
}

/**
 * Lays out bins once: each kind's band as fractions of the height. 'share' fills every bin (the mix of kinds in it);
 * 'max' scales bins by their events against the fullest one (the minimap's histogram).
 */
export function binSet(from: number, to: number, bins: TimelineBin[], scale: 'share' | 'max'): BinSet {
  const tops = KINDS.map(() => new Float32Array(bins.length))
  const heights = KINDS.map(() => new Float32Array(bins.length))
  const totals = bins.map((b) => {
    let n = 0
    for (const k in b.kinds) n += b.kinds[k]!
    return n
  })
  const max = Math.max(1, ...totals)
  bins.forEach((bin, i) => {
    const whole = scale === 'share' ? totals[i]! : max
    if (!whole) return
    let top = 0
    KINDS.forEach((k, j) => {
      const n = bin.kinds[k] ?? 0
      if (!n) return
      tops[j]![i] = top
      heights[j]![i] = n / whole
      top += n / whole
    })
  })
  return { from, to, bins, tops, heights }
}

/** Caches an event of the track, counting its kind. */
export function keep(t: TrackData, e: Lite): void {
  const had = t.events.get(e.seq)
  if (had) t.kinds.set(had.kind, (t.kinds.get(had.kind) ?? 1) - 1)
  t.events.set(e.seq, e)
  t.kinds.set(e.kind, (t.kinds.get(e.kind) ?? 0) + 1)
}

/** Over CACHE_MAX events cached, forgets the oldest outside a..b down to half that. */
export function evict(t: TrackData, a: number, b: number): void {
  if (t.events.size <= CACHE_MAX) return
  for (const [seq, e] of t.events) {
    if (t.events.size <= CACHE_MAX / 2) break
    if (seq >= a && seq <= b) continue
    t.events.delete(seq)
    t.kinds.set(e.kind, (t.kinds.get(e.kind) ?? 1) - 1)
  }
}

/** A one-event bin (engine/protocol/eventBin.ts) as the track caches it. */
export function lite(bin: TimelineBin): Lite {
  let kind = 'step'
  for (const k in bin.kinds) kind = k
  return {
    seq: bin.from, kind, outputs: !!bin.outputs,
    ...(bin.label ? { label: bin.label } : {}),
    ...(bin.effect ? { effect: bin.effect } : {}),
    ...(bin.uses?.length ? { uses: bin.uses } : {}),
    ...(bin.refreshes?.length ? { refreshes: bin.refreshes } : {}),
  }
}

/** The tracks made to match `branches` (a head that moved drops its bins); the live branch's name. */
export function syncTracks(tracks: Map<string, TrackData>, branches: BranchView[]): string | undefined {
  const seen = new Set<string>()
  let live: string | undefined
  for (const b of branches) {
    seen.add(b.name)
    const t = tracks.get(b.name)
    if (t) {
      if (t.branch.head !== b.head) t.bins = null
      t.branch = b
    } else tracks.set(b.name, newTrack(b))
    if (b.live) live = b.name
  }
  for (const name of [...tracks.keys()]) if (!seen.has(name)) tracks.delete(name)
  return live
}

/** Streamed events and heads taken into their tracks; whether any head moved. */
export function streamInto(tracks: Map<string, TrackData>, events: EventRecord[], heads: { branch: string; head: number }[]): boolean {
  let grew = false
  const grow = (t: TrackData, head: number) => {
    if (head <= t.branch.head) return
    t.branch = { ...t.branch, head }
    grew = true
  }
  for (const h of heads) {
    const t = tracks.get(h.branch)
    if (t) grow(t, h.head)
  }
  for (const e of events) {
    const t = tracks.get(e.branch)
    if (!t) continue
    grow(t, e.seq)
    keep(t, lite(eventBin(e)))
  }
  return grew
}
