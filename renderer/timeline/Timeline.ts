// The timeline: every branch as a track, joined to its parent at its fork
// point, drawn on a canvas so a million events cost no more than a hundred.
// Zoomed out it draws `timeline` bins (counts by kind); zoomed in to a few
// thousand events it draws each event from `log` pages. A minimap with a brush
// shows the whole history and where the view is.
import * as d3 from 'd3'
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { BranchView, EventRecord, TimelineBin } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import { KIND_COLOURS, KINDS, type Moment } from './moment.ts'
import { plural } from '../words.ts'

const TRACK_H = 24
const TRACK_GAP = 8
const AXIS_H = 20
/** Below this many visible events of a track, events are drawn one by one from log pages. */
const DETAIL_MAX = 2000
const CACHE_MAX = 40_000

interface Lite {
  seq: number
  kind: string
  outputs: boolean
  halt: boolean
}

/** Bins as drawn: each kind's share of each bin's height, worked out once when they arrive rather than every frame. */
interface BinSet {
  from: number
  to: number
  bins: TimelineBin[]
  /** Per kind (in KINDS order): for each bin, where its band starts and how tall it is, as fractions of the track's height (0 = none). */
  tops: Float32Array[]
  heights: Float32Array[]
}

interface TrackData {
  branch: BranchView
  /** Bins for the last range asked, with the range, kept until fresher ones come. */
  bins: BinSet | null
  events: Map<number, Lite>
  /** How many of `events` are of each kind (the label's data-kinds), kept as events come and go. */
  kinds: Map<string, number>
  /** Seqs with markers: attempts (aborted transactions), failed tests, divergences of a rerun. */
  attempts: Set<number>
  failures: Set<number>
  divergences: Map<number, string>
}

export interface TimelineEvents {
  select(moment: Moment): void
}

export class Timeline {
  readonly element: HTMLElement
  private client: EngineClient | null = null
  private readonly canvas: HTMLCanvasElement
  private readonly mini: HTMLCanvasElement
  private readonly miniSvg: SVGSVGElement
  private readonly labels: HTMLElement
  private readonly plot: HTMLElement
  /** The tracks and their labels: scrolls when there are more branches than fit; the axis and the header stay on top. */
  private readonly body: HTMLElement
  /** The branch whose row was last scrolled into view: a new selected branch is brought into view once. */
  private revealed: string | null = null
  private readonly readout: HTMLElement
  private readonly tracks = new Map<string, TrackData>()
  private order: string[] = []
  private liveBranch = 'main'
  private selected: Moment | null = null
  private follow = true
  private transform = d3.zoomIdentity
  private readonly zoom: d3.ZoomBehavior<HTMLCanvasElement, unknown>
  private readonly brush: d3.BrushBehavior<unknown>
  private width = 600
  private drawQueued = false
  private labelsDirty = false
  private fetchTimer: number | null = null
  private fetching = false
  private fetchAgain = false
  private miniBins: BinSet | null = null
  private miniFetched = 0
  /** What the minimap was last drawn for: it is redrawn only when that changes, not on every frame of a zoom. */
  private miniDrawn = ''
  private brushing = false
  private hover: { x: number; text: string } | null = null
  /** Other people's selected moments in a shared session. */
  private peers: { name: string; colour: string; branch: string; seq: number }[] = []
  /** Whether the whole history has been drawn once: the bench's first-paint mark is set then. */
  private paintedAll = false

  constructor(private readonly on: TimelineEvents, readonly toolbar: HTMLElement) {
    this.canvas = h('canvas.tl-canvas', { tabindex: 0, 'aria-label': 'Timeline: ←/→ move the selected moment, Home/End jump, wheel zooms, drag pans' })
    this.mini = h('canvas.tl-mini')
    this.miniSvg = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
    this.miniSvg.classList.add('tl-mini-brush')
    this.labels = h('div.tl-labels')
    this.readout = h('div.tl-readout', { hidden: true }, '')
    this.plot = h('div.tl-plot', null, this.canvas, this.readout)
    this.body = h('div.tl-body', null, this.labels, this.plot)
    // The axis is drawn where the top of the scrolled body is, so it never scrolls away.
    this.body.addEventListener('scroll', () => this.queueDraw(), { passive: true })
    this.element = h('section.timeline', { 'aria-label': 'Timeline', 'data-live': 'true' },
      toolbar,
      this.body,
      h('div.tl-mini-row', null, h('div.tl-mini-label', null, 'history'), h('div.tl-mini-wrap', null, this.mini, this.miniSvg)),
    )

    this.zoom = d3.zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1, 1])
      .filter((e: Event) => !(e instanceof MouseEvent && e.button !== 0) && !(e.type === 'dblclick'))
      .on('zoom', (e: d3.D3ZoomEvent<HTMLCanvasElement, unknown>) => {
        this.transform = e.transform
        this.syncBrush()
        this.queueDraw()
        this.queueFetch()
      })
    d3.select(this.canvas).call(this.zoom)
    this.canvas.addEventListener('click', (e) => this.click(e))
    this.canvas.addEventListener('mousemove', (e) => this.hoverAt(e))
    this.canvas.addEventListener('mouseleave', () => { this.hover = null; this.readout.hidden = true })
    this.canvas.addEventListener('keydown', (e) => this.key(e))

    this.miniSvg.setAttribute('width', '600')
    this.miniSvg.setAttribute('height', '28')
    this.brush = d3.brushX().extent([[0, 0], [600, 28]]).on('brush end', (e: d3.D3BrushEvent<unknown>) => {
      if (!e.sourceEvent || this.brushing) return
      const sel = e.selection as [number, number] | null
      if (!sel) return
      const full = this.baseScale()
      const [a, b] = [full.invert(sel[0]), full.invert(sel[1])]
      this.showRange(a, b)
    })
    d3.select(this.miniSvg).append('g').attr('class', 'brush').call(this.brush)

    new ResizeObserver(() => this.resize()).observe(this.plot)
  }

  attach(client: EngineClient): void {
    this.client = client
    for (const t of this.tracks.values()) {
      t.bins = null
      t.events.clear()
      t.kinds.clear()
    }
    this.miniFetched = 0
    this.queueFetch()
  }

  // ---- what the timeline shows ----

  setBranches(branches: BranchView[]): void {
    const seen = new Set<string>()
    for (const b of branches) {
      seen.add(b.name)
      const t = this.tracks.get(b.name)
      if (t) {
        if (t.branch.head !== b.head) t.bins = null
        t.branch = b
      } else this.tracks.set(b.name, { branch: b, bins: null, events: new Map(), kinds: new Map(), attempts: new Set(), failures: new Set(), divergences: new Map() })
      if (b.live) this.liveBranch = b.name
    }
    for (const name of [...this.tracks.keys()]) if (!seen.has(name)) this.tracks.delete(name)
    // Tree order: each branch right below its parent, children by fork point.
    const children = new Map<string | null, BranchView[]>()
    for (const b of branches) {
      const p = b.parent && seen.has(b.parent) ? b.parent : null
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
    const reordered = order.join('\n') !== this.order.join('\n')
    this.order = order
    this.renderLabels()
    this.updateExtent()
    if (this.follow) this.followHead()
    this.resize()
    // Branches above it came or went: the selected one is brought back into view (not on every head that moves: the person may have scrolled).
    if (reordered && this.selected) this.revealRow(this.selected.branch)
    // A new branch, or the first time: nothing to show yet, so no reason to wait.
    this.queueFetch([...this.tracks.values()].some((t) => !t.bins && !t.events.size) ? 0 : 60)
  }

  /**
   * New events (of any branch) as they stream in. Not every event comes: a
   * window that falls behind is sent only the last few of a burst (`heads`
   * says how far each branch got meanwhile), so seqs may jump; what is drawn
   * of a range comes from the log (bins, pages), the stream only moves heads.
   */
  addEvents(events: EventRecord[], heads: { branch: string; head: number }[] = []): void {
    const before = this.maxHead()
    let grew = false
    const grow = (t: TrackData, head: number) => {
      if (head <= t.branch.head) return
      t.branch = { ...t.branch, head }
      grew = true
    }
    for (const h of heads) {
      const t = this.tracks.get(h.branch)
      if (t) grow(t, h.head)
    }
    for (const e of events) {
      const t = this.tracks.get(e.branch)
      if (!t) continue
      grow(t, e.seq)
      keep(t, lite(e))
    }
    if (!grew) return
    const [va, vb] = this.visibleRange()
    // A running app streams thousands of events a second: the cache keeps the events in view (when they are drawn one by one) and the newest.
    const detail = vb - va <= DETAIL_MAX
    for (const t of this.tracks.values()) evict(t, detail ? Math.floor(va) : Infinity, detail ? Math.ceil(vb) : -Infinity)
    const atEnd = vb >= before - 1
    this.updateExtent()
    this.labelsLater()
    if (this.follow) this.followHead()
    else if (atEnd && this.transform.k > 1) this.panToEnd()
    this.queueDraw()
    this.queueFetch(200)
  }

  markAttempt(branch: string, after: number): void {
    this.tracks.get(branch)?.attempts.add(after)
    this.queueDraw()
  }

  markFailure(branch: string, seq: number): void {
    this.tracks.get(branch)?.failures.add(seq)
    this.queueDraw()
  }

  markDivergences(branch: string, divergences: { seq: number; what: string }[]): void {
    const t = this.tracks.get(branch)
    if (!t) return
    for (const d of divergences) t.divergences.set(d.seq, d.what)
    this.renderLabels()
    this.queueDraw()
  }

  /** Other people's selected moments (a shared session): a tick in each one's colour on their branch. */
  setPeers(peers: { name: string; colour: string; branch: string; seq: number }[]): void {
    this.peers = peers
    this.element.dataset.peers = peers.map((p) => `${p.name}@${p.branch}:${p.seq}`).join('\n')
    this.queueDraw()
  }

  /** A branch as the timeline knows it now (its head follows the events as they stream in). */
  branch(name: string): BranchView | undefined {
    return this.tracks.get(name)?.branch
  }

  get moment(): Moment | null {
    return this.selected
  }

  get following(): boolean {
    return this.follow
  }

  /** Follows the live head (live mode) or stays where the person put the moment. */
  setFollow(on: boolean): void {
    this.follow = on
    this.element.dataset.live = String(on)
    if (on) this.followHead()
  }

  select(branch: string, seq: number, fromUser = true): void {
    const t = this.tracks.get(branch)
    if (!t) return
    const s = Math.max(0, Math.min(t.branch.head, Math.round(seq)))
    const live = branch === this.liveBranch && s === t.branch.head
    if (fromUser && this.follow && !live) this.setFollow(false)
    const m: Moment = { branch, seq: s, live }
    const changed = !this.selected || this.selected.branch !== m.branch || this.selected.seq !== m.seq || this.selected.live !== m.live
    this.selected = m
    this.element.dataset.selectedBranch = branch
    this.element.dataset.selectedSeq = String(s)
    this.labelsLater()
    this.ensureVisible(s)
    if (this.revealed !== branch) this.revealRow(branch)
    this.queueDraw()
    if (changed) this.on.select(m)
  }

  /** Moves the selected moment by `delta` events along its branch (its parent's events before the fork point count). */
  move(delta: number | 'home' | 'end'): void {
    const m = this.selected ?? { branch: this.liveBranch, seq: 0, live: false }
    const t = this.tracks.get(m.branch)
    if (!t) return
    if (delta === 'end') {
      if (m.branch === this.liveBranch) this.setFollow(true)
      return this.select(m.branch, t.branch.head, m.branch !== this.liveBranch)
    }
    this.select(m.branch, delta === 'home' ? 0 : m.seq + delta)
  }

  /** Zooms so that seqs a..b fill the view. */
  showRange(a: number, b: number): void {
    const full = this.baseScale()
    const [x0, x1] = [full(Math.max(0.5, a)), full(Math.max(a + 1, b))]
    const k = Math.max(1, Math.min(this.maxZoom(), this.width / Math.max(1, x1 - x0)))
    const t = d3.zoomIdentity.scale(k).translate(-x0, 0)
    d3.select(this.canvas).call(this.zoom.transform, t)
  }

  visibleRange(): [number, number] {
    const x = this.scale()
    return [x.invert(0), x.invert(this.width)]
  }

  // ---- geometry ----

  private maxHead(): number {
    let m = 1
    for (const t of this.tracks.values()) m = Math.max(m, t.branch.head)
    return m
  }

  private baseScale(): d3.ScaleLinear<number, number> {
    return d3.scaleLinear().domain([0.5, this.maxHead() + 0.5]).range([0, this.width])
  }

  private scale(): d3.ScaleLinear<number, number> {
    return this.transform.rescaleX(this.baseScale())
  }

  private maxZoom(): number {
    return Math.max(1, this.maxHead() / 6)
  }

  private updateExtent(): void {
    this.zoom.scaleExtent([1, this.maxZoom()]).translateExtent([[0, 0], [this.width, 0]]).extent([[0, 0], [this.width, 0]])
  }

  private trackY(i: number): number {
    return AXIS_H + 6 + i * (TRACK_H + TRACK_GAP)
  }

  /** Scrolls the tracks so that `branch`'s row shows below the axis (the body scrolls when there are more branches than fit). */
  private revealRow(branch: string): void {
    const i = this.order.indexOf(branch)
    if (i < 0) return
    this.revealed = branch
    const top = this.trackY(i) - 4
    const bottom = this.trackY(i) + TRACK_H + 6
    const b = this.body
    if (top - AXIS_H < b.scrollTop) b.scrollTop = Math.max(0, top - AXIS_H)
    else if (bottom > b.scrollTop + b.clientHeight) b.scrollTop = bottom - b.clientHeight
  }

  private start(t: TrackData): number {
    return (t.branch.forkedAt ?? 0) + 1
  }

  private resize(): void {
    const w = Math.max(200, this.plot.clientWidth)
    const hgt = this.trackY(Math.max(1, this.order.length)) + 4
    this.width = w
    const dpr = window.devicePixelRatio || 1
    for (const [c, ch] of [[this.canvas, hgt], [this.mini, 28]] as const) {
      c.width = Math.round(w * dpr)
      c.height = Math.round(ch * dpr)
      c.style.width = `${w}px`
      c.style.height = `${ch}px`
    }
    // Setting a canvas's size clears it.
    this.miniDrawn = ''
    this.miniSvg.setAttribute('width', String(w))
    this.miniSvg.setAttribute('height', '28')
    this.brush.extent([[0, 0], [w, 28]])
    d3.select(this.miniSvg).select<SVGGElement>('g.brush').call(this.brush)
    this.updateExtent()
    this.syncBrush()
    this.queueDraw()
    this.queueFetch()
  }

  private followHead(): void {
    const t = this.tracks.get(this.liveBranch)
    if (!t) return
    this.select(this.liveBranch, t.branch.head, false)
  }

  private ensureVisible(seq: number): void {
    if (this.transform.k <= 1) return
    const [a, b] = this.visibleRange()
    if (seq >= a && seq <= b) return
    const span = b - a
    this.showRange(seq - span / 2, seq + span / 2)
  }

  private panToEnd(): void {
    const [a, b] = this.visibleRange()
    const head = this.maxHead()
    this.showRange(head - (b - a) + 0.5, head + 0.5)
  }

  private syncBrush(): void {
    const full = this.baseScale()
    const [a, b] = this.visibleRange()
    this.brushing = true
    const g = d3.select(this.miniSvg).select<SVGGElement>('g.brush')
    if (this.transform.k <= 1.0001) this.brush.move(g, null)
    else this.brush.move(g, [Math.max(0, full(a)), Math.min(this.width, full(b))])
    this.brushing = false
  }

  // ---- data ----

  /** Fetches what the view needs after `delay` ms; calls meanwhile (every wheel tick) share that one fetch. */
  private queueFetch(delay = 60): void {
    if (this.fetchTimer !== null && delay > 0) return
    if (this.fetchTimer !== null) window.clearTimeout(this.fetchTimer)
    this.fetchTimer = window.setTimeout(() => {
      this.fetchTimer = null
      void this.fetch()
    }, delay)
  }

  private async fetch(): Promise<void> {
    const client = this.client
    if (!client) return
    if (this.fetching) {
      this.fetchAgain = true
      return
    }
    this.fetching = true
    try {
      const [va, vb] = this.visibleRange()
      const jobs: Promise<void>[] = []
      // Bins asked this round, by request: the minimap's is often the live track's own (the whole history, zoomed out).
      const asked = new Map<string, Promise<TimelineBin[] | null>>()
      const bins = (branch: string, from: number, to: number, count: number) => {
        const key = `${branch}:${from}:${to}:${count}`
        let p = asked.get(key)
        if (!p) asked.set(key, (p = client.call('timeline', { branch, from, to, bins: count }).then((r) => r.bins, () => null)))
        return p
      }
      for (const name of this.order) {
        const t = this.tracks.get(name)!
        const a = Math.max(this.start(t), Math.floor(va))
        const b = Math.min(t.branch.head, Math.ceil(vb))
        if (b < a) continue
        const n = b - a + 1
        if (n <= DETAIL_MAX) jobs.push(this.fetchEvents(client, t, a, b))
        else {
          const count = Math.max(1, Math.min(n, Math.floor(this.width / 2), 10_000))
          const have = t.bins
          if (have && have.from === a && have.to === b && have.bins.length === count) continue
          jobs.push(bins(name, a, b, count).then((r) => {
            if (r) t.bins = binSet(a, b, r, 'share')
          }))
        }
      }
      const live = this.tracks.get(this.liveBranch)
      if (live && live.branch.head !== this.miniFetched && live.branch.head > 0) {
        const head = live.branch.head
        jobs.push(bins(this.liveBranch, 1, head, Math.max(1, Math.min(head, Math.floor(this.width / 2), 10_000))).then((r) => {
          if (!r) return
          this.miniBins = binSet(1, head, r, 'max')
          this.miniFetched = head
        }))
      }
      await Promise.all(jobs)
      this.queueDraw()
    } finally {
      this.fetching = false
      if (this.fetchAgain) {
        this.fetchAgain = false
        this.queueFetch()
      }
    }
  }

  private async fetchEvents(client: EngineClient, t: TrackData, a: number, b: number): Promise<void> {
    let from = a
    while (from <= b && t.events.has(from)) from++
    let to = b
    while (to >= from && t.events.has(to)) to--
    while (from <= to) {
      const page = await client.call('log', { branch: t.branch.name, from, limit: Math.min(1000, to - from + 1) })
      if (!page.events.length) break
      for (const e of page.events) keep(t, lite(e))
      from = page.events[page.events.length - 1]!.seq + 1
      this.queueDraw()
    }
    evict(t, a, b)
  }

  // ---- drawing ----

  private queueDraw(): void {
    if (this.drawQueued) return
    this.drawQueued = true
    requestAnimationFrame(() => {
      this.drawQueued = false
      if (this.labelsDirty) this.renderLabels()
      this.draw()
      this.drawMini()
    })
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d')
    if (!ctx) return
    const dpr = window.devicePixelRatio || 1
    const w = this.width
    const hgt = this.canvas.height / dpr
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, w, hgt)
    const x = this.scale()
    const [va, vb] = this.visibleRange()

    // The axis's grid lines (its numbers are drawn last, on top, where the scrolled body's top is).
    const ticks = x.ticks(Math.max(2, Math.floor(w / 90))).filter((t) => Number.isInteger(t))
    const top = Math.min(this.body.scrollTop, Math.max(0, hgt - AXIS_H))
    ctx.fillStyle = '#262b34'
    for (const tick of ticks) ctx.fillRect(Math.round(x(tick)) + 0.5, AXIS_H - 4, 1, hgt)

    const rows = new Map(this.order.map((n, i) => [n, i]))
    // Events drawn from fresh data (bins of exactly the visible range, or the events themselves); -1 once a track shows a placeholder.
    let painted = 0
    for (const [name, i] of rows) {
      const t = this.tracks.get(name)!
      const y = this.trackY(i)
      const a = Math.max(this.start(t), Math.floor(va))
      const b = Math.min(t.branch.head, Math.ceil(vb))
      const sel = this.selected?.branch === name
      // The track's extent, and the joint to its parent.
      const x0 = Math.max(0, x(this.start(t) - 0.5))
      const x1 = Math.min(w, x(t.branch.head + 0.5))
      ctx.fillStyle = sel ? '#1e2430' : '#191c23'
      if (x1 > x0) ctx.fillRect(x0, y, x1 - x0, TRACK_H)
      if (t.branch.parent && rows.has(t.branch.parent)) {
        const py = this.trackY(rows.get(t.branch.parent)!)
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
        const drawn = b - a + 1 <= DETAIL_MAX ? this.drawEvents(ctx, t, a, b, x, y) : this.drawBins(ctx, t, x, y, a, b)
        painted = drawn < 0 || painted < 0 ? -1 : painted + drawn
      }
      // Markers: attempts, failed tests, divergences.
      for (const s of t.attempts) if (s >= va - 1 && s <= vb) tri(ctx, x(s + 0.5), y + TRACK_H + 1, '#f7768e', false)
      for (const s of t.failures) if (s >= va - 1 && s <= vb) diamond(ctx, x(s), y - 1, '#e0af68')
      for (const s of t.divergences.keys()) if (s >= va - 1 && s <= vb) diamond(ctx, x(s), y + TRACK_H / 2, '#bb9af7')
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
    for (const p of this.peers) {
      const row = rows.get(p.branch)
      const px = x(p.seq)
      if (row === undefined || px < 0 || px > w) continue
      const y = this.trackY(row)
      ctx.fillStyle = p.colour
      ctx.fillRect(px - 1, y - 4, 2, TRACK_H + 8)
      ctx.beginPath()
      ctx.arc(px, y - 4, 3, 0, Math.PI * 2)
      ctx.fill()
    }

    // The selected moment.
    const m = this.selected
    let badge: { x: number; w: number; label: string } | null = null
    if (m && rows.has(m.branch)) {
      const y = this.trackY(rows.get(m.branch)!)
      const half = Math.max(1, (x(m.seq + 0.5) - x(m.seq - 0.5)) / 2)
      const px = x(m.seq)
      if (px >= -half && px <= w + half) {
        ctx.fillStyle = '#7aa2f71c'
        ctx.fillRect(0, y - 3, w, TRACK_H + 6)
        ctx.fillStyle = '#7aa2f7'
        ctx.fillRect(px - 1, top + AXIS_H - 2, 2, hgt - AXIS_H - top)
        ctx.strokeStyle = '#e6e9ee'
        ctx.lineWidth = 1.5
        if (half > 3) ctx.strokeRect(px - half + 0.5, y - 1.5, half * 2 - 1, TRACK_H + 3)
        const label = `${m.seq}`
        ctx.font = '600 10.5px ui-monospace, "DejaVu Sans Mono", monospace'
        const tw = ctx.measureText(label).width + 10
        badge = { x: Math.min(w - tw, Math.max(0, px - tw / 2)), w: tw, label }
      }
    }

    // The axis on top of the tracks scrolled under it: seq numbers, but none under the selected moment's badge.
    ctx.fillStyle = '#15181e'
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
      ctx.fillStyle = '#262b34'
      ctx.fillRect(lx - 3, top + AXIS_H - 4, 1, 4)
      ctx.fillStyle = '#6b7383'
      ctx.fillText(text, lx, top + AXIS_H / 2)
    }
    // What the axis shows, for tests (set only when it changes: this runs every frame of a zoom).
    const shownTicks = shown.join(',')
    if (this.element.dataset.ticks !== shownTicks) this.element.dataset.ticks = shownTicks
    if (badge) {
      ctx.font = '600 10.5px ui-monospace, "DejaVu Sans Mono", monospace'
      ctx.fillStyle = '#7aa2f7'
      roundRect(ctx, badge.x, top + 1, badge.w, AXIS_H - 4, 3)
      ctx.fillStyle = '#0f1320'
      ctx.fillText(badge.label, badge.x + 5, top + AXIS_H / 2 - 1)
    }
    this.element.dataset.zoom = this.transform.k > 1.0001 ? 'in' : 'all'
    // How many events this frame drew from fresh data: tests and the bench wait on it.
    if (painted < 0) delete this.element.dataset.painted
    else this.element.dataset.painted = String(painted)
    if (!this.paintedAll && painted > 0 && this.element.dataset.zoom === 'all') {
      this.paintedAll = true
      performance.mark('loom:timeline-painted', { detail: { events: painted } })
    }
    const [ra, rb] = this.visibleRange()
    this.element.dataset.visible = `${Math.max(1, Math.ceil(ra))}-${Math.min(this.maxHead(), Math.floor(rb))}`
  }

  /**
   * Draws events a..b one by one, a kind at a time (one fill style per kind, plain rectangles: Chromium's fast
   * path when the canvas is drawn without a GPU); returns how many it had (-1 if any is still being fetched).
   */
  private drawEvents(ctx: CanvasRenderingContext2D, t: TrackData, a: number, b: number, x: d3.ScaleLinear<number, number>, y: number): number {
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
    ctx.fillStyle = '#2a2f3a'
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
      ctx.fillStyle = '#d7dae0'
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
        if (e) ctx.fillText(e.kind, x(s - 0.5) + gap / 2 + 4, y + TRACK_H / 2, wd - 6)
      }
    }
    return missing.length ? -1 : b - a + 1
  }

  /** Draws the track's bins (stretched while fresher ones are on their way), a kind at a time; returns the events they hold if they are of exactly a..b, else -1. */
  private drawBins(ctx: CanvasRenderingContext2D, t: TrackData, x: d3.ScaleLinear<number, number>, y: number, a: number, b: number): number {
    const set = t.bins
    if (!set) {
      ctx.fillStyle = '#2a2f3a'
      ctx.fillRect(Math.max(0, x(this.start(t) - 0.5)), y + TRACK_H / 2 - 1, this.width, 2)
      return -1
    }
    const inner = TRACK_H - 6
    const { x0s, wds } = this.binXs(set, x)
    ctx.globalAlpha = 0.8
    set.tops.forEach((tops, k) => {
      const heights = set.heights[k]!
      ctx.fillStyle = KIND_COLOURS[KINDS[k]!]!
      for (let i = 0; i < tops.length; i++) {
        if (heights[i] && !Number.isNaN(x0s[i]!)) ctx.fillRect(x0s[i]!, y + 3 + tops[i]! * inner, wds[i]!, Math.max(1, heights[i]! * inner))
      }
    })
    ctx.globalAlpha = 1
    ctx.fillStyle = '#d7dae0aa'
    set.bins.forEach((bin, i) => {
      if (bin.outputs && !Number.isNaN(x0s[i]!)) ctx.fillRect(x0s[i]!, y, wds[i]!, 2)
    })
    return set.from === a && set.to === b ? b - a + 1 : -1
  }

  /** Each bin's left edge and width on screen (NaN for bins out of view). */
  private binXs(set: BinSet, x: d3.ScaleLinear<number, number>): { x0s: Float64Array; wds: Float64Array } {
    const n = set.bins.length
    const x0s = new Float64Array(n)
    const wds = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const bin = set.bins[i]!
      const x0 = x(bin.from - 0.5)
      const wd = Math.max(1, x(bin.to + 0.5) - x0)
      x0s[i] = x0 > this.width || x0 + wd < 0 ? NaN : x0
      wds[i] = wd
    }
    return { x0s, wds }
  }

  private drawMini(): void {
    const key = `${this.width}:${this.miniFetched}:${this.maxHead()}:${this.selected?.seq ?? ''}:${this.miniBins?.bins.length ?? 0}`
    if (key === this.miniDrawn) return
    const ctx = this.mini.getContext('2d')
    if (!ctx) return
    this.miniDrawn = key
    const dpr = window.devicePixelRatio || 1
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, this.width, 28)
    const full = this.baseScale()
    const set = this.miniBins
    if (set) {
      const { x0s, wds } = this.binXs(set, full)
      ctx.globalAlpha = 0.55
      set.tops.forEach((tops, k) => {
        const heights = set.heights[k]!
        ctx.fillStyle = KIND_COLOURS[KINDS[k]!]!
        // Stacked from the bottom: a bin's bands fill (its events / the fullest bin's) of the height.
        for (let i = 0; i < tops.length; i++) if (heights[i] && !Number.isNaN(x0s[i]!)) ctx.fillRect(x0s[i]!, 26 - (tops[i]! + heights[i]!) * 22, wds[i]!, heights[i]! * 22)
      })
      ctx.globalAlpha = 1
    }
    if (this.selected) {
      ctx.fillStyle = '#7aa2f7'
      ctx.fillRect(full(this.selected.seq) - 1, 0, 2, 28)
    }
  }

  /** The labels again at the next frame: events stream in far more often than a label can usefully change. */
  private labelsLater(): void {
    this.labelsDirty = true
    this.queueDraw()
  }

  private renderLabels(): void {
    this.labelsDirty = false
    const rows = this.order.map((name, i) => {
      const t = this.tracks.get(name)!
      const b = t.branch
      const kinds = [...t.kinds].filter(([, n]) => n > 0)
      const el = h('button.tl-label', {
        type: 'button',
        'data-branch': name,
        'data-head': b.head,
        'data-forked-at': b.forkedAt ?? '',
        'data-parent': b.parent ?? '',
        'data-live': String(b.live),
        'data-label': b.label ?? name,
        'data-kinds': kinds.map(([k, n]) => `${k}:${n}`).sort().join(','),
        'data-divergences': t.divergences.size,
        title: `${b.label ?? name}: ${plural('event', b.head)}${b.parent ? `, forked from ${this.tracks.get(b.parent)?.branch.label ?? b.parent} at event ${b.forkedAt}` : ''}${b.live ? ' (live)' : ''}${b.label ? ` — renamed; its events keep the name '${name}' their hashes include` : ''}`,
        style: `top:${this.trackY(i)}px`,
        onclick: () => this.select(name, this.selected?.branch === name ? this.selected.seq : b.head),
      },
      h('span.tl-dot', { style: `background:${b.live ? '#9ece6a' : '#5c6473'}` }),
      h('span.tl-name', null, b.label ?? name),
      h('span.tl-head', null, d3.format(',')(b.head)))
      if (this.selected?.branch === name) el.classList.add('selected')
      return el
    })
    this.labels.replaceChildren(h('div.tl-labels-head', null, 'branches'), ...rows)
    this.labels.style.height = `${this.trackY(Math.max(1, this.order.length)) + 4}px`
  }

  // ---- input ----

  private pick(e: MouseEvent): { branch: string; seq: number } | null {
    const r = this.canvas.getBoundingClientRect()
    const px = e.clientX - r.left
    const py = e.clientY - r.top
    // The axis stays on top of a scrolled body: a click there picks no track under it.
    if (py < this.body.scrollTop + AXIS_H - 4) return null
    const i = Math.floor((py - AXIS_H - 6 + TRACK_GAP / 2) / (TRACK_H + TRACK_GAP))
    const name = this.order[Math.max(0, Math.min(this.order.length - 1, i))]
    if (!name) return null
    const t = this.tracks.get(name)!
    const seq = Math.round(this.scale().invert(px))
    return { branch: name, seq: Math.max(t.branch.forkedAt ?? 0, Math.min(t.branch.head, seq)) }
  }

  private click(e: MouseEvent): void {
    if (e.defaultPrevented) return
    const p = this.pick(e)
    if (!p) return
    this.canvas.focus()
    this.select(p.branch, p.seq)
  }

  private hoverAt(e: MouseEvent): void {
    const p = this.pick(e)
    if (!p) return
    const t = this.tracks.get(p.branch)!
    const ev = t.events.get(p.seq)
    const r = this.canvas.getBoundingClientRect()
    const parts = [`${t.branch.label ?? p.branch} · event ${d3.format(',')(p.seq)}`]
    if (ev) parts.push(ev.kind)
    const div = t.divergences.get(p.seq)
    if (div) parts.push(`diverged: ${div}`)
    if (t.attempts.has(p.seq)) parts.push('an attempt aborted here')
    if (t.failures.has(p.seq)) parts.push('a test failed here')
    this.hover = { x: e.clientX - r.left, text: parts.join(' · ') }
    this.readout.textContent = this.hover.text
    this.readout.style.left = `${Math.min(this.width - 220, Math.max(0, this.hover.x + 10))}px`
    this.readout.hidden = false
  }

  key(e: KeyboardEvent): boolean {
    const map: Record<string, number | 'home' | 'end'> = { ArrowLeft: -1, ArrowRight: 1, Home: 'home', End: 'end', PageUp: -10, PageDown: 10 }
    const d = map[e.key]
    if (d === undefined) return false
    e.preventDefault()
    this.move(typeof d === 'number' && e.shiftKey ? d * 10 : d)
    return true
  }
}

/**
 * Lays out bins once: each kind's band as fractions of the height. 'share' fills every bin (the mix of kinds in it);
 * 'max' scales bins by their events against the fullest one (the minimap's histogram).
 */
function binSet(from: number, to: number, bins: TimelineBin[], scale: 'share' | 'max'): BinSet {
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
function keep(t: TrackData, e: Lite): void {
  const had = t.events.get(e.seq)
  if (had) t.kinds.set(had.kind, (t.kinds.get(had.kind) ?? 1) - 1)
  t.events.set(e.seq, e)
  t.kinds.set(e.kind, (t.kinds.get(e.kind) ?? 0) + 1)
}

/** Over CACHE_MAX events cached, forgets the oldest outside a..b down to half that. */
function evict(t: TrackData, a: number, b: number): void {
  if (t.events.size <= CACHE_MAX) return
  for (const [seq, e] of t.events) {
    if (t.events.size <= CACHE_MAX / 2) break
    if (seq >= a && seq <= b) continue
    t.events.delete(seq)
    t.kinds.set(e.kind, (t.kinds.get(e.kind) ?? 1) - 1)
  }
}

function lite(e: EventRecord): Lite {
  return { seq: e.seq, kind: e.kind, outputs: !!(e.outputs.tty || e.outputs.logs?.length), halt: !!e.outputs.halt }
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
