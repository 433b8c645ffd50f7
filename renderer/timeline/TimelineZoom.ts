// Which events the timeline's width shows: d3's zoom over seqs 0.5..head+0.5
// (wheel zooms, drag pans; fully zoomed out at k = 1), and the moves that keep
// a moment or the live end in view.
import * as d3 from 'd3'

/** The zoom factor above which the view counts as zoomed in (d3 leaves k a hair off 1). */
const ZOOMED_IN = 1.0001

export class TimelineZoom {
  private transform = d3.zoomIdentity
  private readonly zoom: d3.ZoomBehavior<HTMLCanvasElement, unknown>
  /** The plot's width in CSS pixels. */
  width = 600

  /** `maxHead`: the longest branch's head; `changed`: the view moved (by the person or by a call here). */
  constructor(private readonly canvas: HTMLCanvasElement, private readonly maxHead: () => number, changed: () => void) {
    this.zoom = d3.zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1, 1])
      .filter((e: Event) => !(e instanceof MouseEvent && e.button !== 0) && !(e.type === 'dblclick'))
      .on('zoom', (e: d3.D3ZoomEvent<HTMLCanvasElement, unknown>) => {
        this.transform = e.transform
        changed()
      })
    d3.select(canvas).call(this.zoom)
  }

  /** Whether the view shows part of the history, not all of it. */
  get zoomedIn(): boolean {
    return this.transform.k > ZOOMED_IN
  }

  /** Seqs to x for the whole history (the minimap's scale). */
  baseScale(): d3.ScaleLinear<number, number> {
    return d3.scaleLinear().domain([0.5, this.maxHead() + 0.5]).range([0, this.width])
  }

  /** Seqs to x in the view. */
  scale(): d3.ScaleLinear<number, number> {
    return this.transform.rescaleX(this.baseScale())
  }

  visibleRange(): [number, number] {
    const x = this.scale()
    return [x.invert(0), x.invert(this.width)]
  }

  /** Zooms so that seqs a..b fill the view. */
  showRange(a: number, b: number): void {
    const full = this.baseScale()
    const [x0, x1] = [full(Math.max(0.5, a)), full(Math.max(a + 1, b))]
    const k = Math.max(1, Math.min(this.maxZoom(), this.width / Math.max(1, x1 - x0)))
    const t = d3.zoomIdentity.scale(k).translate(-x0, 0)
    d3.select(this.canvas).call(this.zoom.transform, t)
  }

  /** Pans so that `seq` is in view (zoomed out, it always is). */
  ensureVisible(seq: number): void {
    if (this.transform.k <= 1) return
    const [a, b] = this.visibleRange()
    if (seq >= a && seq <= b) return
    const span = b - a
    this.showRange(seq - span / 2, seq + span / 2)
  }

  /** Keeps the zoom and moves the view to the newest events. */
  panToEnd(): void {
    const [a, b] = this.visibleRange()
    const head = this.maxHead()
    this.showRange(head - (b - a) + 0.5, head + 0.5)
  }

  /** After the width or the longest head changed: how far the view may zoom and pan. */
  updateExtent(): void {
    this.zoom.scaleExtent([1, this.maxZoom()]).translateExtent([[0, 0], [this.width, 0]]).extent([[0, 0], [this.width, 0]])
  }

  /** The view's range in the minimap's pixels, or null when it shows everything. */
  brush(): [number, number] | null {
    if (!this.zoomedIn) return null
    const full = this.baseScale()
    const [a, b] = this.visibleRange()
    return [full(a), full(b)]
  }

  /** Zoomed in at most to about six events across. */
  private maxZoom(): number {
    return Math.max(1, this.maxHead() / 6)
  }
}
