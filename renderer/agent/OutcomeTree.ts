// The outcome tree of a preview: every sequence of choices the transaction
// can take, as a d3 tree from the first sys.fork to each outcome, so the
// alternatives sit side by side. A click on a leaf previews that outcome.
import * as d3 from 'd3'
import type { PreviewView } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'

interface Node {
  label: string
  path: number[]
  outcome?: PreviewView['outcomes'][number]
  children: Node[]
}

const ROW = 22
const COL = 46

export function outcomeTree(p: PreviewView, width: number, choose: (path: number[]) => void): HTMLElement {
  const root: Node = { label: p.method, path: [], children: [] }
  for (const o of p.outcomes) {
    for (const path of o.choices.length ? o.choices : [[]]) {
      let node = root
      path.forEach((v, i) => {
        let next = node.children.find((c) => c.path[i] === v)
        if (!next) {
          next = { label: String(v), path: path.slice(0, i + 1), children: [] }
          node.children.push(next)
        }
        node = next
      })
      node.outcome = o
    }
  }
  const hier = d3.hierarchy(root, (n) => (n.children.length ? n.children.sort((a, b) => a.path[a.path.length - 1]! - b.path[b.path.length - 1]!) : null))
  const depth = hier.height
  const leaves = hier.leaves().length
  const layout = d3.tree<Node>().nodeSize([ROW, COL])
  layout(hier)
  const x0 = d3.min(hier.descendants(), (d) => d.x) ?? 0
  const height = Math.max(ROW, leaves * ROW) + 8
  const labelX = depth * COL + 26
  const svg = d3.create('svg').attr('class', 'ag-tree').attr('width', width).attr('height', height)
  const g = svg.append('g').attr('transform', `translate(12,${-x0 + ROW / 2 + 4})`)
  const current = p.choices.map((c) => c.value).join(',')
  g.selectAll('path.link').data(hier.links()).join('path')
    .attr('class', 'link')
    .attr('fill', 'none')
    .attr('stroke', (l) => (current.startsWith(l.target.data.path.join(',')) ? '#7aa2f7' : '#3a4150'))
    .attr('stroke-width', 1.4)
    .attr('d', d3.linkHorizontal<d3.HierarchyLink<Node>, d3.HierarchyPointNode<Node>>().source((l) => l.source as d3.HierarchyPointNode<Node>).target((l) => l.target as d3.HierarchyPointNode<Node>).x((d) => d.y).y((d) => d.x))
  const node = g.selectAll('g.node').data(hier.descendants()).join('g')
    .attr('class', (d) => `node${d.data.outcome ? ' ag-outcome' : ''}${d.data.path.join(',') === current && d.data.outcome ? ' current' : ''}`)
    .attr('transform', (d) => `translate(${d.y},${d.x})`)
    .attr('data-path', (d) => d.data.path.join(','))
    .attr('data-committed', (d) => (d.data.outcome ? String(d.data.outcome.committed) : null))
    .style('cursor', (d) => (d.data.outcome ? 'pointer' : null))
    .on('click', (_e, d) => d.data.outcome && choose(d.data.path))
  node.append('circle').attr('r', (d) => (d.depth === 0 ? 4 : 6.5))
    .attr('fill', (d) => (d.data.outcome ? (d.data.outcome.committed ? '#9ece6a' : '#f7768e') : '#2a303c'))
    .attr('stroke', (d) => (d.data.path.join(',') === current && d.data.outcome ? '#e6e9ee' : '#4a5262'))
    .attr('stroke-width', 1.4)
  node.filter((d) => d.depth > 0).append('text').attr('text-anchor', 'middle').attr('dy', '0.35em').attr('class', 'ag-tree-choice').text((d) => d.data.label)
  node.filter((d) => !!d.data.outcome).append('text')
    .attr('x', (d) => labelX - (d.y ?? 0)).attr('dy', '0.35em').attr('class', 'ag-tree-summary')
    .text((d) => cut(d.data.outcome!.summary, Math.max(12, Math.floor((width - labelX - 16) / 6.4))))
    .append('title').text((d) => `${d.data.path.length ? `choices ${d.data.path.join(', ')}: ` : ''}${d.data.outcome!.summary}`)
  return h('div.ag-tree-wrap', null, svg.node())
}

function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s
}
