// The inspector's Diff tab: what changed in state between two moments of any
// branches, per state and per key of a map, old → new (what `loom diff`
// prints). "Diff from here" pins the selected moment; then every moment
// selected on the timeline is compared with it.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { Change, Json, Moment, Result } from '../../engine/protocol/messages.ts'
import { h, fill } from '../dom.ts'
import { preview } from '../state/jsonTree.ts'
import './questions.css'

export class DiffView {
  readonly element: HTMLElement
  private readonly body: HTMLElement
  private readonly fromLabel: HTMLElement
  private readonly toLabel: HTMLElement
  private client: EngineClient | null = null
  private from: Moment | null = null
  private to: Moment | null = null
  private asked = ''

  constructor(private readonly selected: () => Moment | null) {
    this.fromLabel = h('span.df-moment.df-from', null, 'not chosen')
    this.toLabel = h('span.df-moment.df-to', null, 'the selected moment')
    this.body = h('div.df-body', null, h('div.empty', null, 'Select a moment on the timeline and press "Diff from here"; then select another moment, on any branch, to see what changed.'))
    this.element = h('section.diff-view', { 'aria-label': 'Diff' },
      h('div.df-head', null,
        h('button.tl-btn.df-pin', { type: 'button', title: 'Compare every moment you select from now on with this one', onclick: () => this.pin() }, h('span.codicon.codicon-pin'), h('span', null, 'Diff from here')),
        h('span.df-range', null, this.fromLabel, h('span.df-arrow', null, ' → '), this.toLabel)),
      this.body)
  }

  attach(client: EngineClient): void {
    this.client = client
  }

  /** "Diff from here": the selected moment becomes the one compared with. */
  pin(): void {
    const m = this.selected()
    if (!m) return
    this.from = { branch: m.branch, seq: m.seq }
    this.fromLabel.textContent = name(this.from)
    if (this.to) void this.load()
    else fill(this.body, h('div.empty', null, 'Now select another moment, on any branch.'))
  }

  /** The selected moment changed: compare it with the pinned one. */
  moment(m: Moment): void {
    this.to = { branch: m.branch, seq: m.seq }
    this.toLabel.textContent = name(this.to)
    if (this.from && this.element.offsetParent !== null) void this.load()
  }

  async load(): Promise<void> {
    const client = this.client
    const [from, to] = [this.from, this.to]
    if (!client || !from || !to) return
    const asked = `${name(from)} ${name(to)}`
    this.asked = asked
    try {
      const r = await client.call('diff', { from, to })
      if (this.asked === asked) this.render(r)
    } catch (err) {
      if (this.asked === asked) fill(this.body, h('div.empty', null, `Could not compare: ${(err as Error).message}`))
    }
  }

  private render(r: Result<'diff'>): void {
    if (!r.changes.length) {
      fill(this.body, h('div.empty.df-same', null, `No change: the state after ${name(r.from)} and after ${name(r.to)} is the same.`))
      return
    }
    const rows: HTMLElement[] = []
    for (const c of r.changes) rows.push(...lines(c))
    fill(this.body,
      h('div.df-count', null, r.shown < r.lines ? `first ${r.shown} of ${r.lines} changes` : `${r.lines} change${r.lines === 1 ? '' : 's'}`),
      h('table.df-table', null, h('tbody', null, ...rows)))
  }
}

/** One row per changed state, or per changed key of a map. */
function lines(c: Change): HTMLElement[] {
  const row = (what: string, state: string, key: string | null, before: Json | undefined, after: Json | undefined) =>
    h(`tr.df-row.df-${what}` as 'tr', { 'data-state': state, ...(key !== null ? { 'data-key': key } : {}) },
      h('td.df-mark', { title: what }, what === 'added' ? '+' : what === 'removed' ? '−' : '~'),
      h('td.df-name', null, state, key !== null ? h('span.df-key', null, `.${key}`) : null),
      h('td.df-before', null, before === undefined ? '—' : preview(before, 80)),
      h('td.df-arrow', null, '→'),
      h('td.df-after', null, after === undefined ? '—' : preview(after, 80)))
  if (c.change === 'added') return [row('added', c.state, null, undefined, c.after)]
  if (c.change === 'removed') return [row('removed', c.state, null, c.before, undefined)]
  if (c.keys) return c.keys.map((k) => row(k.before === null ? 'added' : k.after === null ? 'removed' : 'changed', c.state, k.key, k.before ?? undefined, k.after ?? undefined))
  return [row('changed', c.state, null, c.before, c.after)]
}

function name(m: Moment): string {
  return `${m.branch}@${m.seq}`
}
