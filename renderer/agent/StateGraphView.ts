// A small exploration's state graph, drawn: one row per depth (moves from
// the start, downwards: the panel is tall and narrow), each state a box with its values, each move an arrow labelled
// with the method and its choices (cut to fit with …, whole on hover; one that
// would cover another only on hover). The initial state is outlined, a
// violating state red, a deadlock dashed; each violation's trace is drawn in
// red and a lasso's cycle in amber. Hovering a state shows its values cell
// by cell; clicking one pins them, and on a trace offers to seek there.
// The graph was checked (readExploreGraph) before it gets here.
import * as d3 from 'd3'
import type { ExploreGraph, GraphNode } from '../../engine/protocol/exploreGraph.ts'
import { readGraphPath } from '../../engine/protocol/exploreGraph.ts'
import type { ExploreView } from '../../engine/protocol/messages.ts'
import { fill, h } from '../dom.ts'
import './stateGraph.css'

export interface GraphActions {
  /** The state after `moves` moves of violation `violation`'s trace: seek its branch there (saving it first if it is not saved). */
  seek(violation: number, moves: number): void
  /** The name violation `violation` is (or would be) saved as. */
  saved(violation: number): string | null
}

const NS = 'http://www.w3.org/2000/svg'
const W = 124
const LINE = 14
const LINES = 4
/** Between the boxes of a row, and between rows (room for the moves' labels). */
const GAP_X = 30
const GAP_Y = 62
const PAD = 28
/** Past this many edges their labels are shown on hover only: the picture would be unreadable. */
const LABELLED_EDGES = 60
/** What fits on a line in a box (11px monospace, 8px in from each side), and in a move's label (10px): longer text ends in … and is whole on hover. */
const BOX_CHARS = 16
const LABEL_CHARS = 24
/** A label's width in the drawing, for placing it and for making room for it. */
const labelWidth = (text: string) => text.length * 6.1 + 6

/** Where each violation's trace goes: node → its positions on each trace; edge key → prefix or cycle. */
interface Traces {
  at: Map<number, { violation: number; moves: number }[]>
  edges: Map<string, 'path' | 'loop'>
  red: Set<number>
}

export function stateGraphView(graph: ExploreGraph, violations: ExploreView['violations'], actions: GraphActions): HTMLElement {
  const traces = tracesOf(graph, violations)
  const byId = new Map(graph.nodes.map((n) => [n.id, n]))
  const lines = Math.min(LINES, Math.max(1, ...graph.nodes.map((n) => textOf(n).length)))
  const H = lines * LINE + 12
  const pos = layout(graph, H)
  // Room on the right for arrows that go back up, bowed round the boxes.
  const width = Math.max(...[...pos.values()].map((p) => p.x)) + W + PAD * 2 + 40
  const height = Math.max(...[...pos.values()].map((p) => p.y)) + H + PAD * 2 + 30
  const svg = el('svg', { class: 'sg-svg', role: 'img', 'aria-label': `State graph: ${graph.nodes.length} states, ${graph.edges.length} moves between them` })
  const defs = el('defs')
  // A box's text never runs past its edge, whatever the font.
  const clip = el('clipPath', { id: 'sg-box-clip' })
  clip.append(el('rect', { x: 4, y: 0, width: W - 8, height: H }))
  defs.append(clip)
  for (const kind of ['plain', 'path', 'loop']) {
    const marker = el('marker', { id: `sg-arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })
    marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: `sg-arrow sg-arrow-${kind}` }))
    defs.append(marker)
  }
  svg.append(defs)
  const world = el('g')
  svg.append(world)
  const details = h('div.sg-details', null, h('div.empty', null, 'Hover over a state to see its values; click it to keep them here.'))
  let pinned: number | null = null
  const show = (n: GraphNode) => fill(details, ...detailsOf(n, traces.at.get(n.id) ?? [], violations, actions))

  const edgeLayer = el('g', { class: 'sg-edges' })
  const labelLayer = el('g', { class: 'sg-labels' })
  const labelled = graph.edges.length <= LABELLED_EDGES
  const spots = new Spots()
  for (const p of pos.values()) spots.take(p.x, p.y - 14, W, H + 14)
  /** How far the labels reach left of the boxes and right of them: the drawing grows to show them whole. */
  let [left, right] = [0, width - PAD * 2]
  const byPair = new Map(graph.edges.map((e) => [`${e.from} ${e.to}`, e]))
  const kindOf = (from: number, to: number) => traces.edges.get(`${from} ${to}`) ?? 'plain'
  for (const e of graph.edges) {
    const a = pos.get(e.from)!
    const b = pos.get(e.to)!
    const kind = kindOf(e.from, e.to)
    // Two states that move to each other by the same moves: one line with an arrow at each end.
    const back = byPair.get(`${e.to} ${e.from}`)
    const both = !!back && back !== e && back.labels.join() === e.labels.join() && kindOf(e.to, e.from) === kind
    if (both && b.y < a.y) continue
    const r = route(a, b, H, !!back && !both)
    const g = el('g', { class: `sg-edge ${kind === 'plain' ? '' : `on-${kind}`}`.trim(), 'data-from': e.from, 'data-to': e.to, ...(both ? { 'data-both': 'true' } : {}) })
    const title = el('title')
    title.textContent = `${e.labels.join('\n')}${both ? ' (both ways)' : ''}`
    g.append(title, el('path', { d: r.d, 'marker-end': `url(#sg-arrow-${kind})`, ...(both ? { 'marker-start': `url(#sg-arrow-${kind})` } : {}) }))
    edgeLayer.append(g)
    if (labelled) {
      const all = e.labels.length > 2 ? `${e.labels.slice(0, 2).join(', ')} +${e.labels.length - 2}` : e.labels.join(', ')
      const words = cut(all, LABEL_CHARS)
      const spot = spots.place(r, words)
      // Where every spot along the arrow is taken, the label would be drawn over another: the arrow's hover says it instead.
      if (!spot) continue
      const [lx, ly] = spot
      left = Math.min(left, lx - labelWidth(words) / 2)
      right = Math.max(right, lx + labelWidth(words) / 2)
      const text = el('text', { x: lx, y: ly + 3.5, class: `sg-label ${kind === 'plain' ? '' : `on-${kind}`}`.trim(), 'text-anchor': 'middle' })
      text.textContent = words
      // The whole of each move on hover, as its arrow has.
      if (words !== all || e.labels.length > 2) text.append(titled(e.labels.join('\n')))
      labelLayer.append(text)
    }
  }
  const nodeLayer = el('g', { class: 'sg-nodes' })
  for (const n of graph.nodes) {
    const p = pos.get(n.id)!
    const classes = ['sg-node', n.initial ? 'initial' : '', n.before ? 'before' : '', n.deadlock ? 'deadlock' : '', n.outside ? 'outside' : '', traces.red.has(n.id) ? 'violating' : '', traces.at.has(n.id) ? 'on-path' : '']
    const g = el('g', { class: classes.filter(Boolean).join(' '), 'data-id': n.id, transform: `translate(${p.x},${p.y})`, tabindex: 0 })
    g.append(el('rect', { width: W, height: H, rx: 6 }))
    const text = textOf(n)
    text.slice(0, lines).forEach((t, i) => {
      const line = el('text', { x: 8, y: 17 + i * LINE, 'clip-path': 'url(#sg-box-clip)' })
      line.textContent = i === lines - 1 && text.length > lines ? `… ${text.length - i} more` : cut(t, BOX_CHARS)
      g.append(line)
    })
    // The state's values whole on hover, where the box had to cut them (the details below show them too).
    if (text.length > lines || text.some((t) => t.length > BOX_CHARS)) g.append(titled(text.join('\n')))
    if (n.initial) {
      const tag = el('text', { x: 0, y: -6, class: 'sg-tag' })
      tag.textContent = 'start'
      g.append(tag)
    } else if (n.deadlock) {
      const tag = el('text', { x: 0, y: -6, class: 'sg-tag' })
      tag.textContent = 'deadlock'
      g.append(tag)
    }
    g.addEventListener('mouseenter', () => show(n))
    g.addEventListener('mouseleave', () => {
      const keep = pinned === null ? null : byId.get(pinned)
      if (keep) show(keep)
    })
    const pin = () => {
      nodeLayer.querySelector('.sg-node.pinned')?.classList.remove('pinned')
      g.classList.add('pinned')
      pinned = n.id
      show(n)
    }
    g.addEventListener('click', pin)
    g.addEventListener('keydown', (ev) => (ev as KeyboardEvent).key === 'Enter' && pin())
    nodeLayer.append(g)
  }
  world.append(edgeLayer, nodeLayer, labelLayer)
  // Room for the labels that reach past the boxes, on either side.
  const ox = PAD - Math.min(0, left)
  const drawnWidth = Math.ceil(ox + right + PAD)
  for (const [k, v] of Object.entries({ viewBox: `0 0 ${drawnWidth} ${height}`, width: drawnWidth, height })) svg.setAttribute(k, String(v))
  world.setAttribute('transform', `translate(${ox},${PAD + 16})`)
  // Ctrl+wheel zooms and dragging pans, for the larger graphs; the wheel alone still scrolls the panel.
  const zoom = d3.zoom<SVGSVGElement, unknown>().scaleExtent([0.3, 3]).filter((ev: Event) => (ev.type === 'wheel' ? (ev as WheelEvent).ctrlKey : !(ev as MouseEvent).button)).on('zoom', (ev: d3.D3ZoomEvent<SVGSVGElement, unknown>) => {
    world.setAttribute('transform', `translate(${ev.transform.x + ox * ev.transform.k},${ev.transform.y + (PAD + 16) * ev.transform.k}) scale(${ev.transform.k})`)
  })
  d3.select(svg as SVGSVGElement).call(zoom).on('dblclick.zoom', null)
  const legend = h('div.sg-legend', null,
    h('span.sg-key.initial', null, 'start'), h('span.sg-key.violating', null, 'a violation'), h('span.sg-key.deadlock', null, 'deadlock'),
    h('span.sg-key.path', null, 'trace'), h('span.sg-key.loop', null, 'cycle for ever'))
  return h('div.sg-graph', { 'data-nodes': graph.nodes.length, 'data-edges': graph.edges.length }, legend, h('div.sg-scroll', null, svg as unknown as HTMLElement), details)
}

/** A state's lines of text, whole: its values, or what it is. */
function textOf(n: GraphNode): string[] {
  if (n.before) return ['before start()']
  if (!n.values.length) return ['(no state)']
  return n.values.map(([k, v]) => `${k} = ${v}`)
}

/** `text` in at most `chars` characters, ending in … when cut. */
function cut(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text
}

/** An SVG tooltip: the browser shows it on hover. */
function titled(text: string): SVGElement {
  const title = el('title')
  title.textContent = text
  return title
}

/** The panel beside the graph: the state's values cell by cell, and where it is on each trace. */
function detailsOf(n: GraphNode, on: { violation: number; moves: number }[], violations: ExploreView['violations'], actions: GraphActions): HTMLElement[] {
  const what = [n.before ? 'the app before start() commits' : n.initial ? 'an initial state' : null, n.deadlock ? 'a deadlock: nothing can move' : null, n.outside ? 'outside a constraint: not expanded' : null]
  const out: HTMLElement[] = [h('div.sg-title', null, `State ${n.id}`, h('span.ag-hint', null, ` · ${n.depth} move${n.depth === 1 ? '' : 's'} from the start${what.filter(Boolean).map((w) => ` · ${w}`).join('')}`))]
  out.push(n.values.length
    ? h('table.sg-values', null, ...n.values.map(([k, v]) => h('tr.sg-value', { 'data-state': k }, h('td.ed-key', null, k), h('td.sg-json', null, v))))
    : h('div.empty', null, 'no state'))
  for (const { violation, moves } of on) {
    const v = violations[violation]!
    const saved = actions.saved(violation)
    const name = v.kind === 'test' ? `test “${v.test}”` : v.kind === 'liveness' ? `property “${v.test}”` : v.kind
    out.push(h('div.sg-on-trace', { 'data-violation': violation, 'data-moves': moves },
      h('span', null, `After move ${moves} of the trace to ${name}. `),
      h('button.se-btn.sg-seek', { type: 'button', onclick: () => actions.seek(violation, moves) }, h('span.codicon.codicon-debug-step-into'),
        saved ? `Seek ${saved} here` : 'Open as branch and seek here')))
  }
  return out
}

/** Each violation's trace through the graph: its states, its edges (prefix or cycle), and the state it breaks in. */
function tracesOf(graph: ExploreGraph, violations: ExploreView['violations']): Traces {
  const t: Traces = { at: new Map(), edges: new Map(), red: new Set() }
  violations.forEach((v, i) => {
    const path = readGraphPath(graph, v.path)
    if (!path) return
    path.forEach((id, k) => {
      const list = t.at.get(id) ?? []
      if (!list.some((x) => x.violation === i)) list.push({ violation: i, moves: k })
      t.at.set(id, list)
      if (k === 0) return
      const key = `${path[k - 1]} ${id}`
      const loop = v.loop !== undefined && k > v.loop
      if (loop || !t.edges.has(key)) t.edges.set(key, loop ? 'loop' : 'path')
    })
    if (v.kind !== 'liveness' && path.length) t.red.add(path[path.length - 1]!)
  })
  return t
}

/** Rows by depth; within a row, states in the order of where their predecessors sit (fewer crossings). */
function layout(graph: ExploreGraph, H: number): Map<number, { x: number; y: number }> {
  const rows = new Map<number, number[]>()
  for (const n of graph.nodes) rows.set(n.depth, [...(rows.get(n.depth) ?? []), n.id])
  const into = new Map<number, number[]>()
  for (const e of graph.edges) if (e.from !== e.to) into.set(e.to, [...(into.get(e.to) ?? []), e.from])
  const place = new Map<number, number>()
  const depths = [...rows.keys()].sort((a, b) => a - b)
  for (const d of depths) {
    const ids = rows.get(d)!
    const centre = (id: number) => {
      const ps = (into.get(id) ?? []).map((p) => place.get(p)).filter((r): r is number => r !== undefined)
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : id
    }
    ids.sort((a, b) => centre(a) - centre(b) || a - b)
    ids.forEach((id, i) => place.set(id, i))
  }
  const widest = Math.max(...[...rows.values()].map((r) => r.length))
  const pos = new Map<number, { x: number; y: number }>()
  depths.forEach((d, r) => {
    const ids = rows.get(d)!
    const offset = ((widest - ids.length) * (W + GAP_X)) / 2
    ids.forEach((id, i) => pos.set(id, { x: offset + i * (W + GAP_X), y: r * (H + GAP_Y) }))
  })
  return pos
}

/**
 * An arrow from box a to box b and where its label sits: down from a row to
 * a later one; back up to an earlier one (beside its twin when the two
 * states move to each other, bowed round the boxes when it skips rows);
 * below, within a row; a loop for a move that changes nothing.
 */
function route(a: { x: number; y: number }, b: { x: number; y: number }, H: number, twin: boolean): Route {
  if (a === b) {
    const [x, y] = [a.x + W, a.y + H / 2]
    return cubic([x, y - 8], [x + 30, y - 24], [x + 30, y + 24], [x, y + 8], 0.5)
  }
  const shift = twin ? 14 : 0
  if (b.y > a.y) {
    const [x1, y1, x2, y2] = [a.x + W / 2 - shift, a.y + H, b.x + W / 2 - shift, b.y]
    return curve(x1, y1, x2, y2, 0, twin ? 0.4 : 0.5)
  }
  if (b.y < a.y) {
    const [x1, y1, x2, y2] = [a.x + W / 2 + shift, a.y, b.x + W / 2 + shift, b.y + H]
    const rows = Math.round((a.y - b.y) / (H + GAP_Y))
    // Skipping rows, it bows out to the right of the boxes between.
    const bow = rows > 1 ? Math.max(a.x, b.x) + W + 24 - (x1 + x2) / 2 : 0
    return curve(x1, y1, x2, y2, bow, twin ? 0.6 : 0.5)
  }
  const [x1, y1, x2, y2] = [a.x + W / 2, a.y + H, b.x + W / 2, b.y + H]
  const low = y1 + 28
  return cubic([x1, y1], [x1, low], [x2, low], [x2, y2], 0.5)
}

/** A vertical S-curve from (x1,y1) to (x2,y2), pushed `bow` to the side, its label best at `t` along it. */
function curve(x1: number, y1: number, x2: number, y2: number, bow: number, t: number): Route {
  const my = (y1 + y2) / 2
  return cubic([x1, y1], [x1 + bow, my], [x2 + bow, my], [x2, y2], t)
}

type Point = [number, number]
interface Route {
  d: string
  /** The point `t` of the way along it. */
  at(t: number): Point
  t: number
}

function cubic(p0: Point, p1: Point, p2: Point, p3: Point, t: number): Route {
  return {
    d: `M${p0[0]},${p0[1]} C${p1[0]},${p1[1]} ${p2[0]},${p2[1]} ${p3[0]},${p3[1]}`,
    at: (u) => [bezier(p0[0], p1[0], p2[0], p3[0], u), bezier(p0[1], p1[1], p2[1], p3[1], u)],
    t,
  }
}

/** Boxes already taken (states, labels placed): a label goes where along its arrow it overlaps none. */
class Spots {
  private readonly taken: [number, number, number, number][] = []
  take(x: number, y: number, w: number, h: number): void {
    this.taken.push([x, y, w, h])
  }
  /** The centre for a label `text` on `r`, or null when every spot along it overlaps something. */
  place(r: Route, text: string): Point | null {
    const w = labelWidth(text)
    const h = 13
    for (const dt of [0, -0.14, 0.14, -0.26, 0.26, -0.36, 0.36]) {
      const [x, y] = r.at(Math.min(0.9, Math.max(0.1, r.t + dt)))
      const box: [number, number, number, number] = [x - w / 2, y - h / 2, w, h]
      if (!this.taken.some((b) => box[0] < b[0] + b[2] && b[0] < box[0] + box[2] && box[1] < b[1] + b[3] && b[1] < box[1] + box[3])) {
        this.taken.push(box)
        return [x, y]
      }
    }
    return null
  }
}

function el(tag: string, attrs: Record<string, string | number> = {}): SVGElement {
  const e = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  return e
}

function bezier(p0: number, p1: number, p2: number, p3: number, t: number): number {
  const u = 1 - t
  return u * u * u * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t * p3
}
