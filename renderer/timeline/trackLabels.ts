// The branches' labels beside their tracks: each a button that selects its
// branch, with what tests and tooltips read of it (head, parent, fork point,
// live, the name people call it, the kinds of its cached events).
import * as d3 from 'd3'
import { h } from '../dom.ts'
import { plural } from '../words.ts'
import { trackY } from './drawTimeline.ts'
import type { SelectedMoment } from './moment.ts'
import type { TrackData } from './track.ts'

/** One label per branch in `order`, placed at its track; clicking one selects its branch (where it was, or its head). */
export function trackLabels(order: string[], tracks: Map<string, TrackData>, selected: () => SelectedMoment | null, select: (branch: string, seq: number) => void): HTMLElement[] {
  const now = selected()
  return order.map((name, i) => {
    const t = tracks.get(name)!
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
      title: `${b.label ?? name}: ${plural('event', b.head)}${b.parent ? `, forked from ${tracks.get(b.parent)?.branch.label ?? b.parent} at event ${b.forkedAt}` : ''}${b.live ? ' (live)' : ''}${b.label ? ` — renamed; its events keep the name '${name}' their hashes include` : ''}`,
      style: `top:${trackY(i)}px`,
      onclick: () => {
        const m = selected()
        select(name, m?.branch === name ? m.seq : b.head)
      },
    },
    h('span.tl-dot', { style: `background:${b.live ? '#9ece6a' : '#5c6473'}` }),
    h('span.tl-name', null, b.label ?? name),
    h('span.tl-head', null, d3.format(',')(b.head)))
    if (now?.branch === name) el.classList.add('selected')
    return el
  })
}
