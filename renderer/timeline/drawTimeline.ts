// Drawing the timeline's canvas: each branch's track (its events one by one
// or as bins), the joint to its parent, markers, people's moments, the
// selected moment and the axis; and the minimap. Pure drawing: what to draw
// comes in a Frame.
import * as d3 from 'd3'
import { KIND_COLOURS, KINDS, type SelectedMoment } from './moment.ts'
import { DETAIL_MAX, trackStart, type BinSet, type TrackData } from './track.ts'
import { canvasPalette } from '../shell/theme.ts'

export const TRACK_H = 24
export const TRACK_GAP = 8
export const AXIS_H = 20

/** Where track `i` starts, from the top of the canvas. */
export function trackY(i: number): number {
  return AXIS_H + 6 + i * (TRACK_H + TRACK_GAP)
}

/** The track row at canvas y (the nearest one: it may be out of range). */
export function trackAt(y: number): number {
  return Math.floor((y - AXIS_H - 6 + TRACK_GAP / 2) / (TRACK_H + TRACK_GAP))
}

/** What one frame shows. */
export interface Frame {
  width: number
  height: number
  x: d3.ScaleLinear<number, number>
  visible: [number, number]
  /** How far the tracks are scrolled: the axis is drawn there, on top. */
  scrollTop: number
  order: string[]
  tracks: Map<string, TrackData>
  selected: SelectedMoment | null
  peers: { name: string; colour: string; branch: string; seq: number }[]
  /** The events the selected one is linked to by an effect (effectLinks.ts): drawn joined to it. */
  links: number[]
  /** Safe reads under way on the live branch: drawn as pending blocks after its head, the oldest first. */
  pending: { what: string; since: number }[]
}

/** Draws a frame; answers how many events it drew from fresh data (-1 while any is being fetched) and the axis numbers shown. */
export function drawTimeline(ctx: CanvasRenderingContext2D, f: Frame): { painted: number; ticks: number[] } {
  const w = f.width
  const hgt = f.height
  const x = f.x
  const [va, vb] = f.visible
  // The axis's grid lines (its numbers are drawn last, on top, where the scrolled body's top is).
  const ticks = x.ticks(Math.max(2, Math.floor(w / 90))).filter((t) => Number.isInteger(t))
  const top = Math.min(f.scrollTop, Math.max(0, hgt - AXIS_H))
  const P = canvasPalette()
  ctx.fillStyle = P.grid
  for (const tick of ticks) ctx.fillRect(Math.round(x(tick)) + 0.5, AXIS_H - 4, 1, hgt)

  const rows = new Map(f.order.map((n, i) => [n, i]))
  // Events drawn from fresh data (bins of exactly the visible range, or the events themselves); -1 once a track shows a placeholder.
  let painted = 0
  for (const [name, i] of rows) {
    const t = f.tracks.get(name)!
    const y = trackY(i)
    const a = Math.max(trackStart(t), Math.floor(va))
    const b = Math.min(t.branch.head, Math.ceil(vb))
    const sel = f.selected?.branch === name
    // The track's extent, and the joint to its parent.
    const x0 = Math.max(0, x(trackStart(t) - 0.5))
    const x1 = Math.min(w, x(t.branch.head + 0.5))
    ctx.fillStyle = sel ? P.trackSelected : P.track
    if (x1 > x0) ctx.fillRect(x0, y, x1 - x0, TRACK_H)
    if (t.branch.parent && rows.has(t.branch.parent)) {
      const py = trackY(rows.get(t.branch.parent)!)
      const fx = x((t.branch.forkedAt ?? 0) + 0.5)
      ctx.strokeStyle = '#7aa2f7aa'
      ctx.lineWidth = 1.5
      ctx.beginPath()
      ctx.moveTo(fx, py + TRACK_H)
      ctx.bezierCurveTo(fx, py + TRACK_H + 10, fx, y + TRACK_H / 2, Math.min(fx + 10, x1), y + TRACK_H / 2)
      ctx.stroke()
      ctx.fillStyle = '#7aa2f7'
      ctx.beginPath()
      ctx.arc(fx, py + TRACK_H, 3, 0, Math.PI * 2)
      ctx.fill()
    }
    if (b >= a) {
      const drawn = b - a + 1 <= DETAIL_MAX ? drawEvents(ctx, t, a, b, x, y) : drawBins(ctx, t, x, y, a, b, w)
      painted = drawn < 0 || painted < 0 ? -1 : painted + drawn
    }
    // Markers: errors (a wait is none), failed tests, divergences.
    for (const s of t.errors) if (s >= va - 1 && s <= vb) tri(ctx, x(s + 0.5), y + TRACK_H + 1, '#f7768e', false)
    for (const s of t.failures) if (s >= va - 1 && s <= vb) diamond(ctx, x(s), y - 1, '#e0af68')
    for (const s of t.divergences.keys()) if (s >= va - 1 && s <= vb) diamond(ctx, x(s), y + TRACK_H / 2, '#bb9af7')
    // The Questions tab's answers: a tick above the track where a predicate held, below where the current code logs.
    for (const [set, top, colour] of [[t.answers.match, y - 6, '#7dcfff'], [t.answers.log, y + TRACK_H + 1, '#9ece6a']] as const) {
      ctx.fillStyle = colour
      for (const s of set) if (s >= va - 1 && s <= vb) ctx.fillRect(Math.round(x(s)) - 1, top, 3, 5)
    }
    if (t.branch.live && f.pending.length) drawPending(ctx, f.pending, t.branch.head, x, y, w)
    // The live head.
    if (t.branch.live) {
      const hx = x(t.branch.head + 0.5)
      if (hx >= 0 && hx <= w) {
        ctx.fillStyle = '#9ece6a'
        ctx.fillRect(hx - 1, y - 3, 2, TRACK_H + 6)
      }
    }
  }

  // Other people's moments: a bar in their colour with a dot on top.
  for (const p of f.peers) {
    const row = rows.get(p.branch)
    const px = x(p.seq)
    if (row === undefined || px < 0 || px > w) continue
    const y = trackY(row)
    ctx.fillStyle = p.colour
    ctx.fillRect(px - 1, y - 4, 2, TRACK_H + 8)
    ctx.beginPath()
    ctx.arc(px, y - 4, 3, 0, Math.PI * 2)
    ctx.fill()
  }

  // The selected moment.
  const m = f.selected
  let badge: { x: number; w: number; label: string } | null = null
  if (m && rows.has(m.branch) && f.links.length) drawLinks(ctx, m.seq, f.links, x, trackY(rows.get(m.branch)!), w)
  if (m && rows.has(m.branch)) {
    const y = trackY(rows.get(m.branch)!)
    const half = Math.max(1, (x(m.seq + 0.5) - x(m.seq - 0.5)) / 2)
    const px = x(m.seq)
    if (px >= -half && px <= w + half) {
      ctx.fillStyle = P.accentSoft
      ctx.fillRect(0, y - 3, w, TRACK_H + 6)
      ctx.fillStyle = P.accent
      ctx.fillRect(px - 1, top + AXIS_H - 2, 2, hgt - AXIS_H - top)
      ctx.strokeStyle = P.cursor
      ctx.lineWidth = 1.5
      if (half > 3) ctx.strokeRect(px - half + 0.5, y - 1.5, half * 2 - 1, TRACK_H + 3)
      const label = `${m.seq}`
      ctx.font = '600 10.5px ui-monospace, "DejaVu Sans Mono", monospace'
      const tw = ctx.measureText(label).width + 10
      badge = { x: Math.min(w - tw, Math.max(0, px - tw / 2)), w: tw, label }
    }
  }

  // The axis on top of the tracks scrolled under it: seq numbers, but none under the selected moment's badge.
  ctx.fillStyle = P.axisBackground
  ctx.fillRect(0, top, w, AXIS_H - 4)
  ctx.font = '10.5px ui-monospace, "DejaVu Sans Mono", monospace'
  ctx.textBaseline = 'middle'
  const shown: number[] = []
  for (const tick of ticks) {
    const text = d3.format(',')(tick)
    const lx = Math.round(x(tick)) + 3.5
    const tw = ctx.measureText(text).width
    if (badge && lx < badge.x + badge.w + 2 && lx + tw > badge.x - 2) continue
    shown.push(tick)
    ctx.fillStyle = P.grid
    ctx.fillRect(lx - 3, top + AXIS_H - 4, 1, 4)
    ctx.fillStyle = P.axisText
    ctx.fillText(text, lx, top + AXIS_H / 2)
  }
  if (badge) {
    ctx.font = '600 10.5px ui-monospace, "DejaVu Sans Mono", monospace'
    ctx.fillStyle = P.accent
    roundRect(ctx, badge.x, top + 1, badge.w, AXIS_H - 4, 3)
    ctx.fillStyle = P.textOnAccent
    ctx.fillText(badge.label, badge.x + 5, top + AXIS_H / 2 - 1)
  }
  return { painted, ticks: shown }
}

/**
 * Draws events a..b one by one, a kind at a time (one fill style per kind, plain rectangles: Chromium's fast
 * path when the canvas is drawn without a GPU); returns how many it had (-1 if any is still being fetched).
 */
export function drawEvents(ctx: CanvasRenderingContext2D, t: TrackData, a: number, b: number, x: d3.ScaleLinear<number, number>, y: number): number {
  const cell = x(1) - x(0)
  const gap = cell > 6 ? 1.5 : 0
  const wd = Math.max(1, cell - gap)
  const byKind = new Map<string, number[]>()
  const missing: number[] = []
  const dots: number[] = []
  for (let s = a; s <= b; s++) {
    const e = t.events.get(s)
    const x0 = x(s - 0.5) + gap / 2
    if (!e) {
      missing.push(x0)
      continue
    }
    let xs = byKind.get(e.kind)
    if (!xs) byKind.set(e.kind, (xs = []))
    xs.push(x0)
    if (e.outputs && cell > 3) dots.push(x(s))
  }
  const P = canvasPalette()
  ctx.fillStyle = P.bin
  for (const x0 of missing) ctx.fillRect(x0, y + TRACK_H / 2 - 1, wd, 2)
  ctx.globalAlpha = 0.85
  for (const [kind, xs] of byKind) {
    ctx.fillStyle = KIND_COLOURS[kind] ?? '#8b93a1'
    if (cell > 6) {
      // Few enough to be wide: rounded, as one path.
      ctx.beginPath()
      for (const x0 of xs) ctx.roundRect(x0, y + 3, wd, TRACK_H - 6, Math.min(3, wd / 3))
      ctx.fill()
    } else for (const x0 of xs) ctx.fillRect(x0, y + 3, wd, TRACK_H - 6)
  }
  ctx.globalAlpha = 1
  if (dots.length) {
    const r = Math.min(2.5, cell / 4)
    ctx.fillStyle = P.text
    ctx.beginPath()
    for (const cx of dots) {
      ctx.moveTo(cx + r, y + 1)
      ctx.arc(cx, y + 1, r, 0, Math.PI * 2)
    }
    ctx.fill()
  }
  if (cell > 28) {
    ctx.fillStyle = '#0f1320'
    ctx.font = '600 9.5px ui-monospace, "DejaVu Sans Mono", monospace'
    for (let s = a; s <= b; s++) {
      const e = t.events.get(s)
      if (e) ctx.fillText(e.label ?? e.kind, x(s - 0.5) + gap / 2 + 4, y + TRACK_H / 2, wd - 6)
    }
  }
  return missing.length ? -1 : b - a + 1
}

/**
 * An effect and the transaction it is linked to (the one that asked for the read and used it, or a refresh):
 * a thin arc over the track from the selected event to each, and each outlined in the effect's colour.
 */
function drawLinks(ctx: CanvasRenderingContext2D, from: number, to: number[], x: d3.ScaleLinear<number, number>, y: number, width: number): void {
  const x0 = x(from)
  const cell = x(1) - x(0)
  ctx.strokeStyle = KIND_COLOURS.effect!
  ctx.fillStyle = KIND_COLOURS.effect!
  ctx.lineWidth = 2
  for (const seq of to) {
    const x1 = x(seq)
    if ((x0 < 0 && x1 < 0) || (x0 > width && x1 > width)) continue
    ctx.beginPath()
    ctx.moveTo(x0, y + 2)
    ctx.bezierCurveTo(x0, y - 7, x1, y - 7, x1, y + 2)
    ctx.stroke()
    ctx.beginPath()
    ctx.arc(x1, y + 2, 2.5, 0, Math.PI * 2)
    ctx.fill()
    if (cell > 4) ctx.strokeRect(x(seq - 0.5) + 1, y + 1.5, Math.max(2, cell - 2), TRACK_H - 3)
  }
}

/** Reads under way after the live head: dashed blocks in the effect's colour, saying what they read when there is room. */
function drawPending(ctx: CanvasRenderingContext2D, pending: { what: string }[], head: number, x: d3.ScaleLinear<number, number>, y: number, width: number): void {
  const cell = x(1) - x(0)
  const wd = Math.max(2, cell - 2)
  ctx.save()
  ctx.setLineDash([4, 3])
  ctx.strokeStyle = KIND_COLOURS.effect!
  ctx.lineWidth = 1.5
  pending.forEach((p, i) => {
    const x0 = x(head + 1 + i - 0.5) + 1
    if (x0 > width || x0 + wd < 0) return
    ctx.fillStyle = KIND_COLOURS.effect! + '33'
    ctx.fillRect(x0, y + 3, wd, TRACK_H - 6)
    ctx.strokeRect(x0, y + 3, wd, TRACK_H - 6)
    if (cell > 28) {
      ctx.fillStyle = KIND_COLOURS.effect!
      ctx.font = '600 9.5px ui-monospace, "DejaVu Sans Mono", monospace'
      ctx.textBaseline = 'middle'
      ctx.fillText(`${p.what} · reading…`, x0 + 4, y + TRACK_H / 2, wd - 6)
    }
  })
  ctx.restore()
}

/** Draws the track's bins (stretched while fresher ones are on their way), a kind at a time; returns the events they hold if they are of exactly a..b, else -1. */
export function drawBins(ctx: CanvasRenderingContext2D, t: TrackData, x: d3.ScaleLinear<number, number>, y: number, a: number, b: number, width: number): number {
  const set = t.bins
  const P = canvasPalette()
  if (!set) {
    ctx.fillStyle = P.bin
    ctx.fillRect(Math.max(0, x(trackStart(t) - 0.5)), y + TRACK_H / 2 - 1, width, 2)
    return -1
  }
  const inner = TRACK_H - 6
  const { x0s, wds } = binXs(set, x, width)
  ctx.globalAlpha = 0.8
  set.tops.forEach((tops, k) => {
    const heights = set.heights[k]!
    ctx.fillStyle = KIND_COLOURS[KINDS[k]!]!
    for (let i = 0; i < tops.length; i++) {
      if (heights[i] && !Number.isNaN(x0s[i]!)) ctx.fillRect(x0s[i]!, y + 3 + tops[i]! * inner, wds[i]!, Math.max(1, heights[i]! * inner))
    }
  })
  ctx.globalAlpha = 1
  ctx.fillStyle = P.text + 'aa'
  set.bins.forEach((bin, i) => {
    if (bin.outputs && !Number.isNaN(x0s[i]!)) ctx.fillRect(x0s[i]!, y, wds[i]!, 2)
  })
  return set.from === a && set.to === b ? b - a + 1 : -1
}

/** Each bin's left edge and width on screen (NaN for bins out of view). */
export function binXs(set: BinSet, x: d3.ScaleLinear<number, number>, width: number): { x0s: Float64Array; wds: Float64Array } {
  const n = set.bins.length
  const x0s = new Float64Array(n)
  const wds = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const bin = set.bins[i]!
    const x0 = x(bin.from - 0.5)
    const wd = Math.max(1, x(bin.to + 0.5) - x0)
    x0s[i] = x0 > width || x0 + wd < 0 ? NaN : x0
    wds[i] = wd
  }
  return { x0s, wds }
}

/** The minimap: the live branch's whole history as a histogram, and where the selected moment is. */
export function drawMini(ctx: CanvasRenderingContext2D, set: BinSet | null, full: d3.ScaleLinear<number, number>, width: number, selected: number | null): void {
  const dpr = window.devicePixelRatio || 1
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
  ctx.clearRect(0, 0, width, 28)
  if (set) {
    const { x0s, wds } = binXs(set, full, width)
    ctx.globalAlpha = 0.55
    set.tops.forEach((tops, k) => {
      const heights = set.heights[k]!
      ctx.fillStyle = KIND_COLOURS[KINDS[k]!]!
      // Stacked from the bottom: a bin's bands fill (its events / the fullest bin's) of the height.
      for (let i = 0; i < tops.length; i++) if (heights[i] && !Number.isNaN(x0s[i]!)) ctx.fillRect(x0s[i]!, 26 - (tops[i]! + heights[i]!) * 22, wds[i]!, heights[i]! * 22)
    })
    ctx.globalAlpha = 1
  }
  if (selected !== null) {
    ctx.fillStyle = '#7aa2f7'
    ctx.fillRect(full(selected) - 1, 0, 2, 28)
  }
}

function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  ctx.beginPath()
  ctx.roundRect(x, y, w, h, r)
  ctx.fill()
}

function tri(ctx: CanvasRenderingContext2D, x: number, y: number, colour: string, up: boolean): void {
  ctx.fillStyle = colour
  ctx.beginPath()
  ctx.moveTo(x - 4, up ? y + 5 : y)
  ctx.lineTo(x + 4, up ? y + 5 : y)
  ctx.lineTo(x, up ? y : y + 5)
  ctx.fill()
}

function diamond(ctx: CanvasRenderingContext2D, x: number, y: number, colour: string): void {
  ctx.fillStyle = colour
  ctx.beginPath()
  ctx.moveTo(x, y - 4)
  ctx.lineTo(x + 4, y)
  ctx.lineTo(x, y + 4)
  ctx.lineTo(x - 4, y)
  ctx.fill()
}
