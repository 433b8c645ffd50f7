// The selected event in full: what ran (method, input, choices, time, code),
// what it read, what it wrote as a before → after diff of the state around it,
// and what it output. A written state links to the state editor; an attempt
// that failed after this event links to its cell and line.
import { redactCredentials } from '../../engine/protocol/redactCredentials.ts'
import { asText } from '../../engine/protocol/effectLine.ts'
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { Attempt, EventRecord, Json, StateValue } from '../../engine/protocol/messages.ts'
import { fill, h } from '../dom.ts'
import { preview } from '../state/jsonTree.ts'
import { KIND_COLOURS, type SelectedMoment } from './moment.ts'
import { latencyText } from '../../engine/protocol/latencyText.ts'
import { effectSections, usedEffects } from './EffectDetails.ts'

export interface EventDetailsLinks {
  /** Show a state in the state editor. */
  state(name: string): void
  /** Show a cell (and line) in the notebook. */
  cell(cell: string, line: number): void
  /** Select an event on the timeline (an effect's link to the transaction that used it, and back). */
  select(branch: string, seq: number): void
}

export class EventDetails {
  readonly element: HTMLElement
  private readonly body: HTMLElement
  private client: EngineClient | null = null
  private shown = ''
  private attempts: Attempt[] = []
  /** What a replay with the current code found different, by branch and seq. */
  private readonly divergences = new Map<string, Map<number, string>>()

  constructor(private readonly links: EventDetailsLinks) {
    this.body = h('div.ed-body', null, h('div.empty', null, 'Select an event on the timeline.'))
    this.element = h('div.event-details', { 'aria-label': 'Event details' }, this.body)
  }

  attach(client: EngineClient): void {
    this.client = client
  }

  addAttempt(a: Attempt): void {
    this.attempts.push(a)
    if (this.attempts.length > 200) this.attempts.shift()
  }

  /** Tests that failed after an event (seen live, or as the log recorded them), by branch and seq; the newest 10,000 events kept. */
  private readonly testFailures = new Map<string, { test: string; message: string; cell: string | null; line: number | null }[]>()
  addTestFailure(branch: string, seq: number, f: { test: string; message: string; cell: string | null; line: number | null }): void {
    const key = `${branch}@${seq}`
    const list = this.testFailures.get(key) ?? []
    if (list.some((x) => x.test === f.test)) return
    list.push(f)
    this.testFailures.set(key, list)
    if (this.testFailures.size > 10_000) this.testFailures.delete(this.testFailures.keys().next().value!)
  }

  /** The divergences of a branch a replay with the current code made: shown on the events they are about. */
  setDivergences(branch: string, divergences: { seq: number; what: string }[]): void {
    this.divergences.set(branch, new Map(divergences.map((d) => [d.seq, d.what])))
  }

  async show(m: SelectedMoment): Promise<void> {
    const client = this.client
    if (!client) return
    const key = `${m.branch}@${m.seq}`
    this.shown = key
    if (m.seq === 0) {
      fill(this.body, h('div.ed-title', null, h('span.ed-kind', { style: `color:${KIND_COLOURS.start}` }, 'beginning'), h('span.ed-seq', null, `${m.branch} · before event 1`)),
        h('div.empty', null, 'The state before any event: the initial values the code declares.'))
      return
    }
    try {
      const page = await client.call('log', { branch: m.branch, from: m.seq, limit: 1 })
      const e = page.events[0]
      if (!e || this.shown !== key) return
      const written = [...new Set(e.writes.map((w) => w.state))]
      const [before, after] = written.length
        ? await Promise.all([client.call('state', { branch: m.branch, at: m.seq - 1 }), client.call('state', { branch: m.branch, at: m.seq })])
        : [null, null]
      if (this.shown !== key) return
      this.render(e, before?.values ?? {}, after?.values ?? {})
    } catch (err) {
      if (this.shown === key) fill(this.body, h('div.empty', null, `Could not read event ${m.seq}: ${(err as Error).message}`))
    }
  }

  private render(recorded: EventRecord, before: Record<string, StateValue>, after: Record<string, StateValue>): void {
    // Nothing drawn shows a credential: recorded headers, query parameters and URLs are blanked first.
    const e = redactCredentials(recorded)
    const rows: (HTMLElement | null)[] = []
    rows.push(h('div.ed-title', { 'data-seq': e.seq, 'data-kind': e.kind },
      h('span.ed-kind', { style: `color:${KIND_COLOURS[e.kind] ?? '#8b93a1'}` }, e.kind),
      h('span.ed-method', null, e.method ? `${e.method}()` : ''),
      h('span.ed-seq', null, `${e.branch} · event ${e.seq}`)))
    if (e.kind === 'http') rows.push(...exchange(e))
    if (e.kind === 'effect' && this.client) rows.push(...effectSections(recorded, this.client, this.links))
    if (this.client) rows.push(usedEffects(e, this.client, this.links))
    const diverged = this.divergences.get(e.branch)?.get(e.seq)
    if (diverged) rows.push(section('Replayed with new code', h('div.ed-divergence', null, diverged)))
    rows.push(h('dl.ed-facts', null,
      h('dt', null, 'time'), h('dd', null, new Date(e.time).toISOString().replace('T', ' ').replace('Z', ' UTC')),
      h('dt', null, 'code'), h('dd', { title: e.codeHash }, e.codeHash.slice(0, 12)),
      ...(e.input !== null && e.input !== undefined && e.kind !== 'http' && e.kind !== 'effect' ? [h('dt', null, 'input'), h('dd.ed-json', null, preview(e.input, 400))] : []),
      ...(e.choices.length ? [h('dt', null, 'choices'), h('dd', null, ...e.choices.map((c) => h('span.ed-choice', { title: `sys.fork(${c.n}) answered ${c.value}` }, `${c.value}`, h('span.ed-of', null, `/${c.n}`))))] : []),
      h('dt', null, 'hash'), h('dd', { title: e.hash }, e.hash.slice(0, 12)),
      ...(e.duration !== undefined ? [h('dt', null, 'ran'), h('dd.ed-duration', { title: 'how long its method ran (kept beside the log)' }, `${e.duration < 1 ? e.duration.toFixed(3) : e.duration.toFixed(2)} ms`)] : []),
      ...(e.latency !== undefined ? [h('dt', null, 'answered in'), h('dd.ed-latency', { title: 'from the request\'s arrival to its answer, its event made durable first (kept beside the log)' }, latencyText(e.latency))] : []),
    ))
    if (e.reads.length) {
      rows.push(section('Reads', h('div.ed-chips', null, ...dedupe(e.reads.map((r) => (r.key !== undefined ? `${r.state}.${r.key}` : r.state))).map((s) =>
        h('button.ed-chip', { type: 'button', onclick: () => this.links.state(s.split('.')[0]!) }, s)))))
    }
    const written = [...new Set(e.writes.map((w) => w.state))]
    if (written.length) {
      rows.push(section('Writes', ...written.map((name) => {
        const keys = e.writes.filter((w) => w.state === name && 'key' in w).map((w) => (w as { key: string }).key)
        return h('div.ed-write', { 'data-state': name },
          h('button.ed-state-link', { type: 'button', title: 'Show in the state editor', onclick: () => this.links.state(name) }, name,
            h('span.kind', null, after[name]?.kind ?? before[name]?.kind ?? '')),
          diff(before[name]?.value, after[name]?.value, keys.length ? [...new Set(keys)] : null))
      })))
    } else rows.push(section('Writes', h('div.empty', null, 'none: this transaction changed no state')))
    const out: HTMLElement[] = []
    if (e.outputs.tty) out.push(h('pre.ed-tty', null, e.outputs.tty))
    for (const l of e.outputs.logs ?? []) out.push(h('div.ed-log', null, h('span.ed-channel', null, l.channel), preview(l.message, 300)))
    if (e.outputs.http !== undefined && e.kind !== 'http') out.push(h('div.ed-log', null, h('span.ed-channel', null, 'http'), preview(e.outputs.http, 300)))
    if (e.outputs.halt) out.push(h('div.ed-log', null, h('span.ed-channel', null, 'halt'), 'the app halted'))
    if (out.length) rows.push(section('Outputs', ...out))
    const tests = this.testFailures.get(`${e.branch}@${e.seq}`) ?? []
    if (tests.length) {
      rows.push(section('Tests failed after this event', ...tests.map((f) => h('div.ed-error.ed-test-failure', null,
        h('span', null, `test “${f.test}”: ${f.message}`),
        f.cell ? h('button.ed-where', { type: 'button', onclick: () => this.links.cell(f.cell!, f.line ?? 1) }, `${f.cell}:${f.line ?? ''}`) : null))))
    }
    const failed = this.attempts.filter((a) => a.branch === e.branch && a.after === e.seq && !a.aborted)
    if (failed.length) {
      rows.push(section('Failed attempts after this event', ...failed.map((a) => h('div.ed-error', null,
        h('span', null, a.reason),
        a.location ? h('button.ed-where', { type: 'button', onclick: () => this.links.cell(a.location!.cell, a.location!.line) }, `${a.location.cell}:${a.location.line}`) : null))))
    }
    fill(this.body, ...rows)
  }
}

/** An http event's request and the app's answer, as a person reads them: request line, headers, bodies. */
function exchange(e: EventRecord): HTMLElement[] {
  const req = (isObject(e.input) ? e.input : {}) as { method?: Json; path?: Json; query?: Json; headers?: Json; body?: Json }
  const res = (isObject(e.outputs.http ?? null) ? e.outputs.http : {}) as { status?: Json; headers?: Json; body?: Json }
  const query = isObject(req.query ?? null) ? new URLSearchParams(req.query as Record<string, string>).toString() : ''
  const headers = (v: Json | undefined) => (isObject(v ?? null) ? Object.entries(v as Record<string, Json>).map(([k, x]) => h('div.ed-header', null, h('span.ed-header-name', null, `${k}:`), ` ${asText(x)}`)) : [])
  // A body is text as sent; an app may also answer with a JSON value, which is sent as JSON.
  const body = (v: Json | undefined) => {
    if (v === undefined || v === null || v === '') return null
    const text = typeof v === 'string' ? v : JSON.stringify(v)
    return h('pre.ed-payload', null, text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length.toLocaleString()} characters)` : text)
  }
  return [
    section('Request', h('div.ed-request-line', null, `${asText(req.method)} ${asText(req.path)}${query ? `?${query}` : ''}`), ...headers(req.headers), body(req.body)),
    section('Response', h('div.ed-request-line', null, res.status === undefined ? 'no answer recorded' : asText(res.status)), ...headers(res.headers), body(res.body)),
  ]
}

function section(title: string, ...children: (Node | null)[]): HTMLElement {
  return h('div.ed-section', null, h('div.ed-section-title', null, title), ...children)
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)]
}

/** Before → after of one state; for maps, only the keys written. */
function diff(before: Json | undefined, after: Json | undefined, keys: string[] | null): HTMLElement {
  if (keys && isObject(before ?? {}) && isObject(after ?? {})) {
    const b = (before ?? {}) as Record<string, Json>
    const a = (after ?? {}) as Record<string, Json>
    return h('table.ed-diff', null, ...keys.map((k) => h('tr', { 'data-key': k },
      h('td.ed-key', null, k),
      h('td.ed-before', null, k in b ? preview(b[k]!, 60) : '—'),
      h('td.ed-arrow', null, '→'),
      h('td.ed-after', null, k in a ? preview(a[k]!, 60) : 'deleted'))))
  }
  return h('table.ed-diff', null, h('tr', null,
    h('td.ed-before', null, before === undefined ? '—' : preview(before, 80)),
    h('td.ed-arrow', null, '→'),
    h('td.ed-after', null, after === undefined ? '—' : preview(after, 80))))
}

function isObject(v: Json): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
