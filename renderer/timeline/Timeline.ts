// The timeline: every branch as a track, joined to its parent at its fork
// point, drawn on a canvas so a million events cost no more than a hundred.
// Zoomed out it draws `timeline` bins (counts by kind); zoomed in to a few
// thousand events it draws each event from `log` pages. A minimap with a brush
// shows the whole history and where the view is. This file is the view and
// its input; the selected moment is timeTravel.ts's reducer, the data
// TrackLoader.ts's, the pixels drawTimeline.ts's, the zoom TimelineZoom.ts's.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { BranchView, EventRecord, PendingRead } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import type { SelectedMoment } from './moment.ts'
import { START, travel, type TimeTravel, type TravelAction } from './timeTravel.ts'
import { DETAIL_MAX, evict, streamInto, syncTracks, treeOrder, type TrackData } from './track.ts'
import { TrackLoader } from './TrackLoader.ts'
import { trackLabels } from './trackLabels.ts'
import { Minimap } from './Minimap.ts'
import { followTheme } from '../shell/theme.ts'
import { AXIS_H, drawTimeline, TRACK_H, trackY } from './drawTimeline.ts'
import { TimelineZoom } from './TimelineZoom.ts'
import { effectLinks } from './effectLinks.ts'
import { keyMove, momentAt, readoutText } from './timelineInput.ts'

export interface TimelineEvents {
  select(moment: SelectedMoment): void
}

export class Timeline {
  readonly element: HTMLElement
  private readonly canvas: HTMLCanvasElement
  private readonly minimap: Minimap
  private readonly labels: HTMLElement
  private readonly plot: HTMLElement
  /** The tracks and their labels: scrolls when there are more branches than fit; the axis and the header stay on top. */
  private readonly body: HTMLElement
  /** The branch whose row was last scrolled into view: a new selected branch is brought into view once. */
  private revealed: string | null = null
  private readonly readout: HTMLElement
  private readonly tracks = new Map<string, TrackData>()
  private order: string[] = []
  /** The selected moment and live mode (timeTravel.ts); changed only by `dispatch`. */
  private time: TimeTravel = START
  private readonly view: TimelineZoom
  private drawQueued = false
  private labelsDirty = false
  private readonly loader = new TrackLoader({
    tracks: this.tracks,
    order: () => this.order,
    visibleRange: () => this.visibleRange(),
    width: () => this.view.width,
    live: () => this.liveBranch,
    draw: () => this.queueDraw(),
  })
  /** Other people's selected moments in a shared session. */
  private peers: { name: string; colour: string; branch: string; seq: number }[] = []
  /** Whether the whole history has been drawn once: the bench's first-paint mark is set then. */
  private paintedAll = false
  /** Safe reads under way (the status says), shown after the live head until their effect events come. */
  private pending: PendingRead[] = []

  constructor(private readonly on: TimelineEvents, readonly toolbar: HTMLElement) {
    this.canvas = h('canvas.tl-canvas', { tabindex: 0, 'aria-label': 'Timeline: ←/→ move the selected moment, Home/End jump, wheel zooms, drag pans' })
    this.minimap = new Minimap((x0, x1) => {
      const full = this.view.baseScale()
      this.showRange(full.invert(x0), full.invert(x1))
    })
    this.labels = h('div.tl-labels')
    this.readout = h('div.tl-readout', { hidden: true }, '')
    this.plot = h('div.tl-plot', null, this.canvas, this.readout)
    this.body = h('div.tl-body', null, this.labels, this.plot)
    // The axis is drawn where the top of the scrolled body is, so it never scrolls away.
    this.body.addEventListener('scroll', () => this.queueDraw(), { passive: true })
    this.element = h('section.timeline', { 'aria-label': 'Timeline', 'data-live': 'true' },
      toolbar,
      this.body,
      this.minimap.element,
    )

    this.view = new TimelineZoom(this.canvas, () => this.maxHead(), () => {
      this.syncBrush()
      this.queueDraw()
      this.loader.queue()
    })
    this.canvas.addEventListener('click', (e) => this.click(e))
    this.canvas.addEventListener('mousemove', (e) => this.hoverAt(e))
    this.canvas.addEventListener('mouseleave', () => (this.readout.hidden = true))
    this.canvas.addEventListener('keydown', (e) => this.key(e))

    new ResizeObserver(() => this.resize()).observe(this.plot)
    // The canvas draws its own colours: a change of the window's theme redraws it.
    followTheme(() => this.queueDraw())
  }

  attach(client: EngineClient): void {
    this.loader.attach(client)
  }

  // ---- what the timeline shows ----

  setBranches(branches: BranchView[]): void {
    const live = syncTracks(this.tracks, branches)
    const order = treeOrder(branches)
    const reordered = order.join('\n') !== this.order.join('\n')
    this.order = order
    this.renderLabels()
    this.view.updateExtent()
    this.dispatch({ type: 'heads', live })
    this.resize()
    // Branches above it came or went: the selected one is brought back into view (not on every head that moves: the person may have scrolled).
    if (reordered && this.selected) this.revealRow(this.selected.branch)
    // A new branch, or the first time: nothing to show yet, so no reason to wait.
    this.loader.queue([...this.tracks.values()].some((t) => !t.bins && !t.events.size) ? 0 : 60)
  }

  /**
   * New events (of any branch) as they stream in. Not every event comes: a
   * window that falls behind is sent only the last few of a burst (`heads`
   * says how far each branch got meanwhile), so seqs may jump; what is drawn
   * of a range comes from the log (bins, pages), the stream only moves heads.
   */
  addEvents(events: EventRecord[], heads: { branch: string; head: number }[] = []): void {
    const before = this.maxHead()
    if (!streamInto(this.tracks, events, heads)) return
    const [va, vb] = this.visibleRange()
    // A running app streams thousands of events a second: the cache keeps the events in view (when they are drawn one by one) and the newest.
    const detail = vb - va <= DETAIL_MAX
    for (const t of this.tracks.values()) evict(t, detail ? Math.floor(va) : Infinity, detail ? Math.ceil(vb) : -Infinity)
    const atEnd = vb >= before - 1
    this.view.updateExtent()
    this.labelsLater()
    if (this.follow) this.dispatch({ type: 'heads' })
    else if (atEnd && this.view.zoomedIn) this.view.panToEnd()
    this.queueDraw()
    this.loader.queue(200)
  }

  /** The safe reads under way on the live branch (the status's `reading`): pending blocks after its head. */
  setPending(reading: PendingRead[]): void {
    const shown = reading.map((r) => r.what).join('\n')
    if (shown === (this.element.dataset.pending ?? '') && reading.length === this.pending.length) return
    this.pending = reading
    this.element.dataset.pending = shown
    this.view.updateExtent()
    this.queueDraw()
  }

  /** A transaction threw after event `after` (a wait, an abort, is not marked). */
  markError(branch: string, after: number): void {
    this.tracks.get(branch)?.errors.add(after)
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

  /** The Questions tab's answers on a branch (null: cleared): each kind replaces the last of its kind. */
  markAnswers(kind: 'match' | 'log', branch: string, seqs: number[] | null): void {
    for (const t of this.tracks.values()) t.answers[kind].clear()
    const t = this.tracks.get(branch)
    for (const s of t ? seqs ?? [] : []) t!.answers[kind].add(s)
    this.element.dataset[kind === 'match' ? 'matches' : 'logs'] = t && seqs ? seqs.join(' ') : ''
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

  get moment(): SelectedMoment | null {
    return this.selected
  }

  get following(): boolean {
    return this.follow
  }

  /** Follows the live head (live mode) or stays where the person put the moment. */
  setFollow(on: boolean): void {
    this.dispatch({ type: 'follow', on })
  }

  select(branch: string, seq: number, fromUser = true): void {
    this.dispatch({ type: 'select', branch, seq, byUser: fromUser })
  }

  /** Moves the selected moment by `delta` events along its branch (its parent's events before the fork point count). */
  move(delta: number | 'home' | 'end'): void {
    this.dispatch({ type: 'move', by: delta })
  }

  /** Moves through time (timeTravel.ts), then shows where: the moment in view, its row revealed, and tells the debugger if it changed. */
  private dispatch(action: TravelAction): void {
    const before = this.time
    const after = travel(before, action, (b) => this.tracks.get(b)?.branch.head)
    this.time = after
    if (after.follow !== before.follow) this.element.dataset.live = String(after.follow)
    const m = after.selected
    if (!m || m === before.selected) return
    this.element.dataset.selectedBranch = m.branch
    this.element.dataset.selectedSeq = String(m.seq)
    this.labelsLater()
    this.view.ensureVisible(m.seq)
    if (this.revealed !== m.branch) this.revealRow(m.branch)
    this.queueDraw()
    const p = before.selected
    if (!p || p.branch !== m.branch || p.seq !== m.seq || p.live !== m.live) this.on.select(m)
  }

  private get selected(): SelectedMoment | null {
    return this.time.selected
  }

  private get follow(): boolean {
    return this.time.follow
  }

  private get liveBranch(): string {
    return this.time.live
  }

  /** Zooms so that seqs a..b fill the view. */
  showRange(a: number, b: number): void {
    this.view.showRange(a, b)
  }

  visibleRange(): [number, number] {
    return this.view.visibleRange()
  }

  // ---- geometry ----

  /** The longest branch's head, and room after the live head for the reads under way. */
  private maxHead(): number {
    let m = 1
    for (const t of this.tracks.values()) m = Math.max(m, t.branch.head + (t.branch.live ? this.pending.length : 0))
    return m
  }

  /** Scrolls the tracks so that `branch`'s row shows below the axis (the body scrolls when there are more branches than fit). */
  private revealRow(branch: string): void {
    const i = this.order.indexOf(branch)
    if (i < 0) return
    this.revealed = branch
    const top = trackY(i) - 4
    const bottom = trackY(i) + TRACK_H + 6
    const b = this.body
    if (top - AXIS_H < b.scrollTop) b.scrollTop = Math.max(0, top - AXIS_H)
    else if (bottom > b.scrollTop + b.clientHeight) b.scrollTop = bottom - b.clientHeight
  }

  private resize(): void {
    const w = Math.max(200, this.plot.clientWidth)
    const hgt = trackY(Math.max(1, this.order.length)) + 4
    this.view.width = w
    const dpr = window.devicePixelRatio || 1
    this.canvas.width = Math.round(w * dpr)
    this.canvas.height = Math.round(hgt * dpr)
    this.canvas.style.width = `${w}px`
    this.canvas.style.height = `${hgt}px`
    this.minimap.resize(w, dpr)
    this.view.updateExtent()
    this.syncBrush()
    this.queueDraw()
    this.loader.queue()
  }

  private syncBrush(): void {
    this.minimap.showRange(this.view.brush())
  }

  // ---- drawing ----

  private queueDraw(): void {
    if (this.drawQueued) return
    this.drawQueued = true
    requestAnimationFrame(() => {
      this.drawQueued = false
      if (this.labelsDirty) this.renderLabels()
      this.draw()
      this.drawMinimap()
    })
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d')
    if (!ctx) return
    const dpr = window.devicePixelRatio || 1
    const w = this.view.width
    const hgt = this.canvas.height / dpr
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, w, hgt)
    const m = this.selected
    const t = m ? this.tracks.get(m.branch) : undefined
    const links = t && m ? effectLinks(t, m.seq) : []
    // Which events the selected one is linked to, for tests (set only when it changes).
    const linked = links.join(' ')
    if ((this.element.dataset.links ?? '') !== linked) this.element.dataset.links = linked
    const { painted, ticks } = drawTimeline(ctx, {
      width: w, height: hgt, x: this.view.scale(), visible: this.visibleRange(), scrollTop: this.body.scrollTop,
      order: this.order, tracks: this.tracks, selected: this.selected, peers: this.peers, links, pending: this.pending,
    })
    // What the axis shows, for tests (set only when it changes: this runs every frame of a zoom).
    const shownTicks = ticks.join(',')
    if (this.element.dataset.ticks !== shownTicks) this.element.dataset.ticks = shownTicks
    this.element.dataset.zoom = this.view.zoomedIn ? 'in' : 'all'
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

  private drawMinimap(): void {
    const key = `${this.view.width}:${this.loader.miniFetched}:${this.maxHead()}:${this.selected?.seq ?? ''}:${this.loader.miniBins?.bins.length ?? 0}`
    this.minimap.draw(key, this.loader.miniBins, this.view.baseScale(), this.selected?.seq ?? null)
  }

  /** The labels again at the next frame: events stream in far more often than a label can usefully change. */
  private labelsLater(): void {
    this.labelsDirty = true
    this.queueDraw()
  }

  private renderLabels(): void {
    this.labelsDirty = false
    const rows = trackLabels(this.order, this.tracks, () => this.selected, (name, seq) => this.select(name, seq))
    this.labels.replaceChildren(h('div.tl-labels-head', null, 'branches'), ...rows)
    this.labels.style.height = `${trackY(Math.max(1, this.order.length)) + 4}px`
  }

  // ---- input ----

  private pick(e: MouseEvent): { branch: string; seq: number } | null {
    const r = this.canvas.getBoundingClientRect()
    return momentAt(e.clientX - r.left, e.clientY - r.top, { scrollTop: this.body.scrollTop, order: this.order, tracks: this.tracks, seqAt: (px) => this.view.scale().invert(px) })
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
    const r = this.canvas.getBoundingClientRect()
    const x = e.clientX - r.left
    const t = this.tracks.get(p.branch)!
    this.readout.textContent = readoutText(t, p.seq, Math.round(this.view.scale().invert(x)) - t.branch.head, this.pending)
    this.readout.style.left = '0px'
    this.readout.hidden = false
    // Measured once shown: a divergence's words are long, and the whole of them stays inside the plot.
    this.readout.style.left = `${Math.max(0, Math.min(this.view.width - this.readout.offsetWidth - 2, x + 10))}px`
  }

  key(e: KeyboardEvent): boolean {
    const d = keyMove(e)
    if (d === undefined) return false
    e.preventDefault()
    this.move(d)
    return true
  }
}
