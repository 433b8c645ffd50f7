// `loom explore --graph FILE.dot`: a small state graph in Graphviz's DOT, as
// the window draws it — each state with its values, the initial states bold,
// a deadlock boxed, a violating state red, each trace's moves coloured and a
// lasso's cycle dashed — for `dot -Tsvg FILE.dot > graph.svg`.
import type { ExploreGraph } from '../protocol/exploreGraph.ts'

/** A violation as the picture needs it: whether it breaks at its last state, and the states its trace goes through. */
export interface DrawnViolation {
  kind: string
  test: string
  path: number[]
  loop?: number
}

export function graphDot(graph: ExploreGraph, violations: readonly DrawnViolation[]): string {
  const red = new Set<number>()
  const onPath = new Set<string>()
  const onLoop = new Set<string>()
  for (const v of violations) {
    const last = v.path[v.path.length - 1]
    if (v.kind !== 'liveness' && last !== undefined) red.add(last)
    v.path.forEach((id, i) => {
      if (i === 0) return
      const k = `${v.path[i - 1]} ${id}`
      if (v.loop !== undefined && i > v.loop) onLoop.add(k)
      else onPath.add(k)
    })
  }
  const out = ['digraph states {', '  rankdir=LR;', '  node [shape=ellipse, fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];']
  for (const n of graph.nodes) {
    const text = n.before ? 'before start()' : n.values.map(([k, v]) => `${k} = ${v}`).join('\n') || '(no state)'
    const attrs = [`label=${quote(text)}`]
    if (n.initial) attrs.push('penwidth=2.5')
    if (n.deadlock) attrs.push('shape=box')
    if (n.before || n.outside) attrs.push('style=dashed')
    if (red.has(n.id)) attrs.push('style=filled', 'fillcolor="#f4b4b4"', 'color="#c62828"')
    out.push(`  s${n.id} [${attrs.join(', ')}];`)
  }
  for (const e of graph.edges) {
    const k = `${e.from} ${e.to}`
    const attrs = [`label=${quote(e.labels.join('\n'))}`]
    if (onLoop.has(k)) attrs.push('color="#e65100"', 'style=dashed', 'penwidth=2')
    else if (onPath.has(k)) attrs.push('color="#c62828"', 'penwidth=2')
    out.push(`  s${e.from} -> s${e.to} [${attrs.join(', ')}];`)
  }
  out.push('}')
  return out.join('\n') + '\n'
}

/** A DOT string: quotes and backslashes escaped, each line left-aligned. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\l')}\\l"`
}
