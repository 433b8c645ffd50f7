// A small line of a numeric state's values over a branch's history (from the
// `series` request), with the selected moment marked.
import * as d3 from 'd3'
import { plural } from '../words.ts'

const W = 96
const H = 20

export function sparkline(at: number[], values: (number | null)[], moment: number | null): SVGSVGElement {
  const svg = d3.create('svg').attr('class', 'se-spark').attr('width', W).attr('height', H).attr('viewBox', `0 0 ${W} ${H}`)
  const points = at.map((x, i) => [x, values[i]] as const).filter((p): p is readonly [number, number] => p[1] !== null)
  const xs = d3.scaleLinear().domain(d3.extent(at) as [number, number]).range([2, W - 2])
  if (xs.domain()[0] === xs.domain()[1]) xs.domain([xs.domain()[0]! - 1, xs.domain()[1]! + 1])
  const [lo, hi] = d3.extent(points, (p) => p[1]) as [number, number]
  const ys = d3.scaleLinear().domain(lo === hi ? [lo - 1, hi + 1] : [lo, hi]).range([H - 3, 3])
  const line = d3.line<readonly [number, number]>().x((p) => xs(p[0])).y((p) => ys(p[1])).curve(d3.curveStepAfter)
  svg.append('path').attr('d', line(points) ?? '').attr('fill', 'none').attr('stroke', '#7aa2f7').attr('stroke-width', 1.3)
  if (moment !== null && points.length) {
    // The value at the moment: the last sample at or before it.
    let p = points[0]!
    for (const q of points) if (q[0] <= moment) p = q
    svg.append('line').attr('x1', xs(moment)).attr('x2', xs(moment)).attr('y1', 0).attr('y2', H).attr('stroke', '#7aa2f755')
    svg.append('circle').attr('cx', xs(Math.min(moment, xs.domain()[1]!))).attr('cy', ys(p[1])).attr('r', 2.2).attr('fill', '#e6e9ee')
  }
  svg.append('title').text(`${plural('sample', points.length)}, ${lo} to ${hi}`)
  return svg.node()!
}
