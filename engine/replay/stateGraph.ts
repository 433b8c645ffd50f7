// The state graph as the search finds it (SearchObserver): per state its
// depth and its moves to other states. Liveness judges fair runs on it
// (liveness.ts), which needs every state; a small one is also drawn — in the
// window and by `loom explore --graph` — with each state's values, which are
// kept only while there are few states (GRAPH_STATES).
import type { Move } from './explore.ts'
import type { Model } from './model.ts'
import type { SearchObserver } from './searchTypes.ts'
import type { World } from './worlds.ts'
import type { FairMove } from '../runtime/appVersion.ts'
import { canonicalJson, type Json } from '../runtime/values.ts'
import { describeMove } from './trace.ts'
import { GRAPH_CELLS, GRAPH_EDGES, GRAPH_LABELS, GRAPH_STATES, GRAPH_TEXT, type ExploreGraph } from '../protocol/exploreGraph.ts'

/** A drawable state graph: what ExploreResult.graph and the protocol's ExploreView.graph carry. */
export type DrawnGraph = ExploreGraph

export class StateGraph implements SearchObserver {
  readonly depth: number[] = []
  /** Per state: the other states it moves to, and one Move to each (a move that changes nothing is stuttering: no edge). */
  readonly next: number[][] = []
  readonly moves: Move[][] = []
  /** Per state: the fair moves (test.fair, one bit each) that take it to another state; per edge, those it is. */
  readonly fairFrom: number[] = []
  readonly fairOn: number[][] = []
  /** The fair moves some state has at all, a move that changes nothing included. */
  fairSeen = 0
  readonly outsideIds = new Set<number>()
  private readonly deadlocks = new Set<number>()
  /** While drawing: each state's values, every move's label per pair of states (self-loops too). */
  private readonly values: [string, string][][] = []
  private readonly moveLabels = new Map<string, string[]>()
  /** More states (or edges) than are drawn: nothing more is kept for the picture. */
  tooMany = false
  private readonly fair: readonly FairMove[]

  /** `all`: keep every edge (liveness needs them); `draw`: keep what a picture needs while the graph is small. */
  constructor(protected readonly model: Model, private readonly keep: { all: boolean; draw: boolean }) {
    this.fair = model.version.explore.fair
  }

  state(id: number, world: World, depth: number): void {
    this.depth[id] = depth
    if (!this.keep.draw || this.tooMany) return
    if (id >= GRAPH_STATES) return void (this.tooMany = true)
    const values = Object.entries(this.model.values(world)).slice(0, GRAPH_CELLS).map(([name, v]) => [name, clip(canonicalJson(v.value as Json))] as [string, string])
    this.values[id] = values
  }

  edge(from: number, to: number, move: () => Move): void {
    if (this.drawing) this.label(from, to, move)
    if (!this.keep.all) return
    // Only liveness reads fairness: which fair moves each edge is, and which each state has (a move that changes nothing too, for fairSeen).
    const fair = this.fair.length ? this.fairBits(move()) : 0
    this.fairSeen |= fair
    if (from === to) return
    if (fair) this.fairFrom[from] = (this.fairFrom[from] ?? 0) | fair
    const out = (this.next[from] ??= [])
    const j = out.indexOf(to)
    if (j >= 0) {
      if (fair) this.fairOn[from]![j]! |= fair
      return
    }
    out.push(to)
    ;(this.moves[from] ??= []).push(move())
    if (this.fair.length) (this.fairOn[from] ??= []).push(fair)
  }

  outside(id: number): void {
    this.outsideIds.add(id)
  }

  deadlock(id: number): void {
    if (this.drawing) this.deadlocks.add(id)
  }

  /** The graph to draw, or null when it had too many states or edges. */
  drawn(): DrawnGraph | null {
    if (!this.keep.draw || this.tooMany) return null
    const before = this.model.uncounted > 0
    const nodes: DrawnGraph['nodes'] = this.values.map((values, id) => ({
      id, depth: this.depth[id] ?? 0, values,
      ...((before ? this.depth[id] === 1 : id === 0) ? { initial: true as const } : {}),
      ...(before && id === 0 ? { before: true as const } : {}),
      ...(this.deadlocks.has(id) ? { deadlock: true as const } : {}),
      ...(this.outsideIds.has(id) ? { outside: true as const } : {}),
    }))
    const edges = [...this.moveLabels].map(([k, labels]) => {
      const [from, to] = k.split(' ').map(Number) as [number, number]
      return { from, to, labels }
    })
    return { nodes, edges }
  }

  /** The state a move from `from` reaches, the move being one this graph keeps (a lasso's). */
  target(from: number, move: Move): number | undefined {
    const j = this.moves[from]?.indexOf(move) ?? -1
    return j < 0 ? undefined : this.next[from]![j]
  }

  private get drawing(): boolean {
    return this.keep.draw && !this.tooMany
  }

  private label(from: number, to: number, move: () => Move): void {
    const k = `${from} ${to}`
    const list = this.moveLabels.get(k)
    if (!list && this.moveLabels.size >= GRAPH_EDGES) return void (this.tooMany = true)
    const m = move()
    const text = clip(`${describeMove(m, this.model.time)}${m.choices.length ? ` [${m.choices.map((c) => c.value).join(',')}]` : ''}`)
    if (!list) this.moveLabels.set(k, [text])
    else if (!list.includes(text) && list.length < GRAPH_LABELS) list.push(text)
  }

  /** Which fair moves `move` is: its method, its first choices answered as declared. */
  private fairBits(move: Move): number {
    let bits = 0
    this.fair.forEach((f, i) => {
      if (move.method === f.method && f.choices.every((c, k) => move.choices[k]?.value === c)) bits |= 1 << i
    })
    return bits
  }
}

function clip(text: string): string {
  return text.length > GRAPH_TEXT ? `${text.slice(0, GRAPH_TEXT - 1)}…` : text
}
