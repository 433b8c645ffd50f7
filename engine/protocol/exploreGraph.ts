// The state graph of a small exploration, as it travels to the window
// (ExploreView.graph), and the check the window makes before drawing one:
// bounded counts and texts, ids that name nodes, nothing walked recursively —
// so a forged or broken graph is refused with why, never drawn half-way.
//
// Shared by engine/ and renderer/: no Node, no DOM.

/** The most states a graph is drawn for: past it, a picture is no help and the counterexample is. */
export const GRAPH_STATES = 200
/** The most pairs of states joined by moves that are drawn. */
export const GRAPH_EDGES = 2000
/** The longest text of a value or of a move's label, and how many labels one pair of states keeps. */
export const GRAPH_TEXT = 160
export const GRAPH_LABELS = 8
/** The most cells a state shows. */
export const GRAPH_CELLS = 64

export interface GraphNode {
  /** The state's id in the search (0: where it started). */
  id: number
  /** Moves from the start to it. */
  depth: number
  /** A state a run begins in. */
  initial?: true
  /** The app before its start() commits: no state, where the initial ones are reached from. */
  before?: true
  /** Nothing can move and the app is not finished. */
  deadlock?: true
  /** Outside a constraint: found and checked, not expanded. */
  outside?: true
  /** Its values, cell by cell: [name, value as canonical JSON, cut at GRAPH_TEXT]. */
  values: [string, string][]
}

export interface GraphEdge {
  from: number
  to: number
  /** Every move from `from` to `to` in words (from == to: moves that change nothing). */
  labels: string[]
}

export interface ExploreGraph {
  nodes: GraphNode[]
  edges: GraphEdge[]
}

/** A graph as sent, checked: the graph, or why it cannot be drawn. */
export function readExploreGraph(v: unknown): { ok: true; graph: ExploreGraph } | { ok: false; why: string } {
  const bad = (why: string) => ({ ok: false as const, why })
  if (!isRecord(v) || !Array.isArray(v.nodes) || !Array.isArray(v.edges)) return bad('it is not a graph (nodes and edges)')
  if (v.nodes.length > GRAPH_STATES) return bad(`${v.nodes.length} states: more than the ${GRAPH_STATES} a graph is drawn for`)
  if (v.edges.length > GRAPH_EDGES) return bad(`${v.edges.length} edges: more than the ${GRAPH_EDGES} a graph is drawn with`)
  const ids = new Set<number>()
  for (const n of v.nodes as unknown[]) {
    if (!isRecord(n) || !isCount(n.id) || !isCount(n.depth) || ids.has(n.id)) return bad('a state without a distinct id and a depth')
    if (!Array.isArray(n.values) || n.values.length > GRAPH_CELLS) return bad(`state ${n.id} has no values, or more than ${GRAPH_CELLS} cells`)
    for (const pair of n.values as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2 || !isText(pair[0]) || !isText(pair[1])) return bad(`state ${n.id} has a value that is not a name and a text of at most ${GRAPH_TEXT} characters`)
    }
    for (const flag of ['initial', 'before', 'deadlock', 'outside']) if (n[flag] !== undefined && n[flag] !== true) return bad(`state ${n.id} has ${flag} other than true`)
    ids.add(n.id)
  }
  for (const e of v.edges as unknown[]) {
    if (!isRecord(e) || !ids.has(e.from as number) || !ids.has(e.to as number)) return bad('an edge joins states the graph does not have')
    if (!Array.isArray(e.labels) || !e.labels.length || e.labels.length > GRAPH_LABELS || !e.labels.every(isText)) return bad(`an edge without 1 to ${GRAPH_LABELS} labels of at most ${GRAPH_TEXT} characters`)
  }
  return { ok: true, graph: v as unknown as ExploreGraph }
}

/** A violation's path through a checked graph: the node ids, or null when it names one the graph does not have. */
export function readGraphPath(graph: ExploreGraph, path: unknown): number[] | null {
  if (!Array.isArray(path) || path.length > GRAPH_STATES * 4) return null
  const ids = new Set(graph.nodes.map((n) => n.id))
  return path.every((id) => ids.has(id as number)) ? (path as number[]) : null
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length <= GRAPH_TEXT
}
