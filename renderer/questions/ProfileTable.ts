// The inspector's Profile tab: how long each method of each cell ran across
// the selected branch's history (what `loom profile` prints), sortable by a
// click on a header; a row lists its slowest events, and a click seeks there.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { Profile, ProfileRow } from '../../engine/protocol/messages.ts'
import { h, fill } from '../dom.ts'
import './questions.css'

type Column = 'count' | 'total' | 'mean' | 'p50' | 'p95' | 'max'
const COLUMNS: Column[] = ['count', 'total', 'mean', 'p50', 'p95', 'max']

export interface ProfileLinks {
  /** The branch whose profile to show: the selected moment's. */
  branch(): string | null
  /** Seek to an event. */
  seek(branch: string, seq: number): void
}

export class ProfileTable {
  readonly element: HTMLElement
  private readonly body: HTMLElement
  private readonly summary: HTMLElement
  private client: EngineClient | null = null
  private profile: Profile | null = null
  private sort: Column = 'total'
  private open: string | null = null

  constructor(private readonly links: ProfileLinks) {
    this.summary = h('span.panel-sub', null, '')
    this.body = h('div.pf-body', null, h('div.empty', null, 'Open this tab to see where the time went.'))
    this.element = h('section.profile', { 'aria-label': 'Profile' },
      h('div.pf-head', null,
        h('span.panel-title', null, 'Profile'), this.summary,
        h('button.tl-btn.pf-refresh', { type: 'button', title: 'Read the profile again', onclick: () => void this.load() }, h('span.codicon.codicon-refresh'))),
      this.body)
  }

  attach(client: EngineClient): void {
    this.client = client
  }

  /** The selected moment moved: another branch's profile, if this tab is on screen. */
  moment(branch: string): void {
    if (this.profile && this.profile.branch !== branch && this.element.offsetParent !== null) void this.load()
  }

  /** Reads the selected branch's profile (when the tab is shown, and on Refresh). */
  async load(): Promise<void> {
    const client = this.client
    const branch = this.links.branch()
    if (!client || !branch) return
    try {
      this.profile = await client.call('profile', { branch })
      this.render()
    } catch (err) {
      fill(this.body, h('div.empty', null, `Could not read the profile: ${(err as Error).message}`))
    }
  }

  private render(): void {
    const p = this.profile
    if (!p) return
    this.summary.textContent = `${p.branch} · ${p.timed.toLocaleString()} of ${p.events.toLocaleString()} events timed`
    if (!p.timed) {
      fill(this.body, h('div.empty.pf-none', null, `No timings recorded on branch '${p.branch}': its events were written by a Loom that did not time them, or imported. New events are timed.`))
      return
    }
    const rows = [...p.rows].sort((a, b) => b[this.sort] - a[this.sort] || key(a).localeCompare(key(b)))
    const header = h('tr', null, h('th.pf-what', null, 'method'), ...COLUMNS.map((c) =>
      h('th.pf-num', { 'data-sort': c, 'aria-sort': c === this.sort ? 'descending' : 'none', title: `Sort by ${c}, largest first`, onclick: () => this.sortBy(c) },
        c === 'count' ? 'count' : `${c} ms`, c === this.sort ? ' ▾' : '')))
    const body: HTMLElement[] = []
    for (const r of rows) {
      const k = key(r)
      body.push(h('tr.pf-row', { 'data-key': k, 'aria-expanded': String(this.open === k), onclick: () => this.toggle(k) },
        h('td.pf-what', null, h('span.pf-method', null, r.method ? `${r.method}()` : r.kind), r.cell ? h('span.pf-cell', null, ` #${r.cell}`) : null),
        ...COLUMNS.map((c) => h('td.pf-num', null, c === 'count' ? r.count.toLocaleString() : ms(r[c])))))
      if (this.open === k) body.push(h('tr.pf-slowest', null, h('td', { colspan: COLUMNS.length + 1 }, this.slowest(r, p.branch))))
    }
    fill(this.body, h('table.pf-table', null, h('thead', null, header), h('tbody', null, ...body)),
      p.more ? h('div.pf-more', null, `first ${p.rows.length} of ${p.rows.length + p.more} rows`) : null,
      p.aborted.length ? h('div.pf-more.pf-aborted', null, `Aborted attempts (recent): ${p.aborted.map((a) => `${a.method ? `${a.method}()` : a.kind} ${a.count}× (${ms(a.total)} ms)`).join(', ')}`) : null)
  }

  private slowest(r: ProfileRow, branch: string): HTMLElement {
    return h('div.pf-events', null, h('span.pf-label', null, 'slowest events:'), ...r.slowest.map((s) =>
      h('button.pf-event', { type: 'button', 'data-seq': s.seq, title: `Seek to event ${s.seq}`, onclick: (e: Event) => { e.stopPropagation(); this.links.seek(branch, s.seq) } }, `#${s.seq}`, h('span.pf-ms', null, ` ${ms(s.ms)} ms`))))
  }

  private sortBy(c: Column): void {
    this.sort = c
    this.render()
  }

  private toggle(k: string): void {
    this.open = this.open === k ? null : k
    this.render()
  }
}

function key(r: ProfileRow): string {
  return `${r.method ?? r.kind} ${r.cell ?? ''}`
}

function ms(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3)
}
