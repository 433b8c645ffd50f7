// The minimap under the tracks: the live branch's whole history as a
// histogram, the selected moment, and a brush that shows (and sets) the
// range the tracks are zoomed to.
import * as d3 from 'd3'
import { h } from '../dom.ts'
import { drawMini } from './drawTimeline.ts'
import type { BinSet } from './track.ts'

const HEIGHT = 28

export class Minimap {
  readonly element: HTMLElement
  private readonly canvas: HTMLCanvasElement
  private readonly svg: SVGSVGElement
  private readonly brush: d3.BrushBehavior<unknown>
  /** What it was last drawn for: redrawn only when that changes, not on every frame of a zoom. */
  private drawn = ''
  /** Set while the brush is moved to follow a zoom: that move is not a person's. */
  private syncing = false
  private width = 600

  /** `brushed(x0, x1)`: a person moved the brush to these pixels of the whole history. */
  constructor(brushed: (x0: number, x1: number) => void) {
    this.canvas = h('canvas.tl-mini')
    this.svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
    this.svg.classList.add('tl-mini-brush')
    this.svg.setAttribute('width', '600')
    this.svg.setAttribute('height', String(HEIGHT))
    this.brush = d3.brushX().extent([[0, 0], [600, HEIGHT]]).on('brush end', (e: d3.D3BrushEvent<unknown>) => {
      if (!e.sourceEvent || this.syncing) return
      const sel = e.selection as [number, number] | null
      if (sel) brushed(sel[0], sel[1])
    })
    d3.select(this.svg).append('g').attr('class', 'brush').call(this.brush)
    this.element = h('div.tl-mini-row', null, h('div.tl-mini-label', null, 'history'), h('div.tl-mini-wrap', null, this.canvas, this.svg))
  }

  resize(width: number, dpr: number): void {
    this.width = width
    this.canvas.width = Math.round(width * dpr)
    this.canvas.height = Math.round(HEIGHT * dpr)
    this.canvas.style.width = `${width}px`
    this.canvas.style.height = `${HEIGHT}px`
    // Setting a canvas's size clears it.
    this.drawn = ''
    this.svg.setAttribute('width', String(width))
    this.svg.setAttribute('height', String(HEIGHT))
    this.brush.extent([[0, 0], [width, HEIGHT]])
    d3.select(this.svg).select<SVGGElement>('g.brush').call(this.brush)
  }

  /** The brush over pixels x0..x1 of the whole history, or none when the tracks show all of it. */
  showRange(range: [number, number] | null): void {
    this.syncing = true
    const g = d3.select(this.svg).select<SVGGElement>('g.brush')
    this.brush.move(g, range ? [Math.max(0, range[0]), Math.min(this.width, range[1])] : null)
    this.syncing = false
  }

  /** Draws the histogram and the selected moment; `key` says what they are of (nothing to do when it is unchanged). */
  draw(key: string, bins: BinSet | null, full: d3.ScaleLinear<number, number>, selected: number | null): void {
    if (key === this.drawn) return
    const ctx = this.canvas.getContext('2d')
    if (!ctx) return
    this.drawn = key
    drawMini(ctx, bins, full, this.width, selected)
  }
}
