// The agent panel: the person is the agent. Preview the next step, an HTTP
// request or the app's gui(agent) as a transaction that is not committed yet;
// pick each sys.fork answer and answer each ask/choose; see what it would
// read, write, output and break; answer by hand an effect it waits for (a
// response, a timeout, an error) and see what the app does with it; then
// Commit, Discard or Fork it off. From here, exploration tries every choice
// and every fault (ExplorePanel.ts).
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { BranchView, EffectAnswer, Json, PreviewSpec, PreviewView } from '../../engine/protocol/messages.ts'
import { fill, h } from '../dom.ts'
import { preview as short } from '../state/jsonTree.ts'
import { outcomeTree } from './OutcomeTree.ts'
import { ExplorePanel } from './ExplorePanel.ts'

export interface AgentPanelActions {
  toast(message: string, kind: 'done' | 'info' | 'error'): void
  /** A branch was made here (fork or counterexample): show it on the timeline, at its head or at `seq`. */
  openBranch(branch: BranchView, seq?: number): void
  /** Where exploration starts: the selected moment. */
  moment(): { branch: string; seq: number } | null
  cell(cell: string, line: number): void
}

export class AgentPanel {
  readonly element: HTMLElement
  private client: EngineClient | null = null
  private method: PreviewSpec['method'] = 'step'
  private choices: number[] = []
  private answers: Record<string, Json> = {}
  /** The person's answers to effects the transaction waits for. */
  private effectAnswers: EffectAnswer[] = []
  /** Something changed while a preview was on its way: run again when it is back. */
  private again = false
  private current: PreviewView | null = null
  private changed: string[] | null = null
  private readonly methods: HTMLElement
  private readonly httpForm: HTMLElement
  private readonly httpMethod: HTMLSelectElement
  private readonly httpPath: HTMLInputElement
  private readonly httpBody: HTMLTextAreaElement
  private readonly result: HTMLElement
  /** Exploration from the selected moment: its box under the preview. */
  private readonly explorer: ExplorePanel
  private busy = false

  constructor(private readonly actions: AgentPanelActions) {
    this.methods = h('div.ag-methods', { role: 'tablist' }, ...(['step', 'http', 'gui'] as const).map((m) =>
      h('button.ag-method', { type: 'button', role: 'tab', 'data-method': m, onclick: () => this.setMethod(m) }, m === 'gui' ? 'gui(agent)' : m === 'http' ? 'http request' : 'next step')))
    this.httpMethod = h('select.se-input.ag-http-method', { 'aria-label': 'HTTP method' }, ...['GET', 'POST', 'PUT', 'DELETE'].map((m) => h('option', null, m)))
    this.httpPath = h('input.se-input.ag-http-path', { value: '/', 'aria-label': 'Path', placeholder: '/path?query' })
    this.httpBody = h('textarea.se-input.ag-http-body', { rows: 2, placeholder: 'body', 'aria-label': 'Body' })
    this.httpForm = h('div.ag-http', { hidden: true }, h('div.se-row', null, this.httpMethod, this.httpPath), this.httpBody)
    this.result = h('div.ag-result', null, h('div.empty', null, 'Preview a transaction to see what it would do before it happens. Nothing is committed until you say so.'))
    this.explorer = new ExplorePanel(actions)
    this.element = h('div.agent-panel', null,
      h('div.ag-controls', null, this.methods, this.httpForm,
        h('div.se-row', null,
          h('button.se-btn.primary.ag-preview', { type: 'button', onclick: () => void this.run(true) }, h('span.codicon.codicon-eye'), 'Preview'),
          h('span.ag-hint', null, 'runs against the live head, commits nothing'))),
      this.result,
      this.explorer.element)
    this.setMethod('step')
  }

  attach(client: EngineClient): void {
    this.client = client
    this.current = null
    this.explorer.attach(client)
  }

  progress(job: number, done: number, total: number | null, what: string): void {
    this.explorer.progress(job, done, total, what)
  }

  private setMethod(m: PreviewSpec['method']): void {
    this.method = m
    for (const b of this.methods.children) b.classList.toggle('active', (b as HTMLElement).dataset.method === m)
    this.httpForm.hidden = m !== 'http'
  }

  private spec(): PreviewSpec {
    const spec: PreviewSpec = { method: this.method, choices: this.choices, answers: this.answers }
    if (this.effectAnswers.length) spec.effects = this.effectAnswers
    if (this.method === 'http') {
      const [path, q] = this.httpPath.value.split('?', 2)
      spec.request = { method: this.httpMethod.value, path: path || '/', ...(q ? { query: Object.fromEntries(new URLSearchParams(q)) } : {}), ...(this.httpBody.value ? { body: this.httpBody.value } : {}) }
    }
    return spec
  }

  /** Previews afresh (fresh: forget earlier choices and answers). */
  private async run(fresh: boolean): Promise<void> {
    const client = this.client
    if (!client) return
    if (fresh) {
      this.choices = []
      this.answers = {}
      this.effectAnswers = []
      this.changed = null
    }
    // An answer given while a preview is on its way is not lost: the preview runs again once that one is back.
    if (this.busy) {
      this.again = true
      return
    }
    this.busy = true
    try {
      await this.discardCurrent()
      const p = await client.call('preview', this.spec())
      this.current = p
      // The answers the engine used fill in only what the person has not answered since.
      if (!this.again) this.choices = p.choices.map((c) => c.value)
      for (const q of p.questions) if (!(q.key in this.answers)) this.answers[q.key] = q.answer
      if (!this.again) this.render()
    } catch (err) {
      this.current = null
      fill(this.result, h('div.ag-failure', null, h('span.codicon.codicon-error'), (err as Error).message))
    } finally {
      this.busy = false
      if (this.again) {
        this.again = false
        void this.run(false)
      }
    }
  }

  private async discardCurrent(): Promise<void> {
    const p = this.current
    this.current = null
    if (p && this.client) await this.client.call('discardPreview', { id: p.id }).catch(() => undefined)
  }

  private choose(index: number, value: number): void {
    this.choices = [...this.choices.slice(0, index), value]
    this.changed = null
    void this.run(false)
  }

  private answer(key: string, value: Json): void {
    this.answers = { ...this.answers, [key]: value }
    // Later questions may depend on this answer: let them ask again.
    const keys = this.current?.questions.map((q) => q.key) ?? []
    for (const k of keys.slice(keys.indexOf(key) + 1)) delete this.answers[k]
    this.changed = null
    void this.run(false)
  }

  /** Answers a pending effect (replacing an earlier answer to it) and previews again. */
  private answerEffect(a: EffectAnswer | { hash: string; clear: true }): void {
    this.effectAnswers = this.effectAnswers.filter((x) => x.hash !== a.hash)
    if (!('clear' in a)) this.effectAnswers.push(a)
    this.changed = null
    void this.run(false)
  }

  /** What the person may answer a pending effect with: a response (or a file's text), each fault that can happen to it, or an error of their own. */
  private effectForm(pending: NonNullable<PreviewView['pendingEffect']>): HTMLElement {
    const http = pending.kind.startsWith('http.')
    const status = h('input.se-input.ag-effect-status', { type: 'number', min: 100, max: 599, value: 200, 'aria-label': 'Status' })
    const body = h('textarea.se-input.ag-effect-body', { rows: 2, placeholder: http ? 'response body' : 'the file\'s text', 'aria-label': http ? 'Response body' : 'File text' })
    const error = h('input.se-input.ag-effect-error', { placeholder: 'an error, in words', 'aria-label': 'Error' })
    const give = (a: Omit<EffectAnswer, 'hash'>) => this.answerEffect({ hash: pending.hash, ...a })
    const faults: EffectAnswer['fault'][] = http ? ['timeout', 'refused', '5xx'] : ['failed']
    return h('div.ag-effect', { 'data-hash': pending.hash },
      h('div.ag-effect-what', null, h('span.codicon.codicon-plug'), h('span.ag-effect-call', null, pending.what), h('span.ag-hint', null, ' waits: no response is recorded. Answer it by hand to see what the app does with it.')),
      h('div.se-row.ag-effect-response', null, ...(http ? [status] : []), body,
        h('button.se-btn.ag-effect-give', { type: 'button', onclick: () => give({ response: http ? { status: Math.trunc(Number(status.value)) || 200, body: body.value } : { text: body.value } }) }, http ? 'Respond' : 'Give text')),
      h('div.se-row.ag-effect-faults', null, ...faults.map((f) => h('button.se-btn.ag-effect-fault', { type: 'button', 'data-fault': f, onclick: () => give({ fault: f }) }, h('span.codicon.codicon-debug-disconnect'), f === '5xx' ? '503' : f!)),
        error, h('button.se-btn.ag-effect-fail', { type: 'button', onclick: () => error.value.trim() && give({ response: { error: error.value.trim() } }) }, 'Fail with it')))
  }

  private render(): void {
    const p = this.current
    if (!p) return
    const parts: (HTMLElement | null)[] = []
    if (this.changed) {
      parts.push(h('div.ag-changed', null, h('span.codicon.codicon-sync'), `Not committed: ${this.changed.join(', ')} changed since the preview. This is the preview run again on the new state — look, then commit again.`))
    }
    parts.push(h('div.ag-verdict', { 'data-committed': String(p.committed) },
      h(`span.codicon.codicon-${p.committed ? 'pass' : 'error'}`),
      p.committed ? `Would commit (${p.method})` : 'Would abort',
      p.failure ? h('span.ag-reason', null, p.failure.message) : null,
      p.failure?.where?.cell ? h('button.ed-where', { type: 'button', onclick: () => this.actions.cell(p.failure!.where!.cell!, p.failure!.where!.line ?? 1) }, `${p.failure.where.cell}:${p.failure.where.line ?? ''}`) : null))
    if (p.answered?.length || p.pendingEffect) {
      parts.push(section('Effects',
        ...(p.answered ?? []).map((a) => h('div.ag-effect-answered', { 'data-hash': a.hash },
          h('span.codicon.codicon-reply'), h('span.ag-effect-call', null, a.what), h('span.ag-effect-arrow', null, '←'), h('span.ag-effect-answer', null, a.answer), h('span.ag-hint', null, 'by hand'),
          h('button.ag-effect-clear', { type: 'button', title: 'Take this answer back', onclick: () => this.answerEffect({ hash: a.hash, clear: true }) }, h('span.codicon.codicon-close')))),
        p.pendingEffect ? this.effectForm(p.pendingEffect) : null))
    }
    if (p.choices.length) {
      parts.push(section('Choices', ...p.choices.map((c, i) => h('div.ag-choice', { 'data-index': i },
        h('span.ag-choice-label', null, `sys.fork(${c.n})`),
        h('span.ag-seg', null, ...Array.from({ length: Math.min(c.n, 24) }, (_, v) =>
          h('button', { type: 'button', 'data-value': v, class: v === c.value ? 'on' : '', onclick: () => this.choose(i, v) }, String(v))))))))
    }
    if (p.questions.length) {
      parts.push(section('Questions', ...p.questions.map((q) => {
        let input: HTMLElement
        if (q.kind === 'choose') {
          const sel = h('select.se-input', { 'aria-label': q.key, 'data-question': q.key }, ...(q.options ?? []).map((o, i) => h('option', { value: i }, typeof o === 'string' ? o : JSON.stringify(o))))
          sel.selectedIndex = Math.max(0, (q.options ?? []).findIndex((o) => JSON.stringify(o) === JSON.stringify(q.answer)))
          sel.addEventListener('change', () => this.answer(q.key, (q.options ?? [])[sel.selectedIndex] ?? null))
          input = sel
        } else {
          const inp = h('input.se-input', { 'aria-label': q.key, 'data-question': q.key })
          inp.value = typeof q.answer === 'string' ? q.answer : JSON.stringify(q.answer)
          const send = () => {
            const t = inp.value.trim()
            let v: Json = inp.value
            if (typeof q.answer !== 'string') { try { v = JSON.parse(t) as Json } catch { v = inp.value } }
            if (JSON.stringify(v) !== JSON.stringify(q.answer)) this.answer(q.key, v)
          }
          inp.addEventListener('keydown', (e) => e.key === 'Enter' && send())
          inp.addEventListener('change', send)
          input = inp
        }
        return h('label.ag-question', null, h('span.ag-q-key', null, q.kind === 'choose' ? `choose ${q.key}` : `ask ${q.key}`), input)
      })))
    }
    if (p.shown.length) parts.push(section('Shown', ...p.shown.map((s) => h('div.ag-shown', null, typeof s === 'string' ? s : short(s, 200)))))
    parts.push(section('Changes', p.changes.length
      ? h('table.ed-diff.ag-changes', null, ...p.changes.map((c) => h('tr', { 'data-state': c.state },
          h('td.ed-key', null, c.state), h('td.ed-before', null, short(c.before, 70)), h('td.ed-arrow', null, '→'), h('td.ed-after', null, short(c.after, 70)))))
      : h('div.empty', null, p.committed ? 'no state changes' : 'nothing: the transaction aborts')))
    if (p.writes.length) {
      parts.push(section('Writes', h('div.ag-writes', null, ...p.writes.map((w) => h('div.ag-write', { 'data-state': w.state }, writeText(w))))))
    }
    if (p.reads.length) parts.push(section('Reads', h('div.ed-chips', null, ...[...new Set(p.reads.map((r) => (r.key !== undefined ? `${r.state}.${r.state === 'sys.effects' ? `${r.key.slice(0, 10)}…` : r.key}` : r.state)))].map((r) => h('span.ed-chip', null, r)))))
    const out: HTMLElement[] = []
    if (p.outputs.tty) out.push(h('pre.ed-tty', null, p.outputs.tty))
    for (const l of p.outputs.logs ?? []) out.push(h('div.ed-log', null, h('span.ed-channel', null, l.channel), short(l.message, 200)))
    if (p.outputs.http !== undefined) out.push(h('div.ed-log', null, h('span.ed-channel', null, 'http'), short(p.outputs.http, 300)))
    if (out.length) parts.push(section('Outputs', ...out))
    parts.push(section('Tests', p.brokenTests.length
      ? h('div.ag-broken', null, ...p.brokenTests.map((t) => h('div.ag-failure', { 'data-test': t.test }, h('span.codicon.codicon-warning'), `${t.test}: ${t.message}`)))
      : h('div.ag-pass', null, h('span.codicon.codicon-pass'), 'every test holds after it')))
    parts.push(section(`Outcomes (${p.outcomes.length})`, outcomeTree(p, Math.max(260, this.element.clientWidth - 28), (path) => {
      this.choices = path
      this.changed = null
      void this.run(false)
    })))
    const name = h('input.se-input.ag-fork-name', { value: `what-if-${p.id}`, 'aria-label': 'Branch name' })
    parts.push(h('div.ag-actions', null,
      h('button.se-btn.primary.ag-commit', { type: 'button', disabled: !p.committed, onclick: () => void this.commit() }, h('span.codicon.codicon-check'), 'Commit'),
      h('button.se-btn.ag-discard', { type: 'button', onclick: () => void this.discard() }, 'Discard'),
      h('span.ag-fork', null, name, h('button.se-btn.ag-fork-go', { type: 'button', disabled: !p.committed, onclick: () => void this.fork(name.value) }, h('span.codicon.codicon-git-branch'), 'Fork'))))
    fill(this.result, ...parts)
    this.result.dataset.previewId = String(p.id)
  }

  private async commit(): Promise<void> {
    const p = this.current
    if (!p || !this.client) return
    try {
      const r = await this.client.call('commitPreview', { id: p.id })
      if ('event' in r) {
        this.current = null
        const answered = p.answered?.length ? ` The answer${p.answered.length === 1 ? '' : 's'} given by hand ${p.answered.length === 1 ? 'was' : 'were'} recorded first, as the effect's outcome (${p.answered.map((a) => `${a.what} ← ${a.answer}`).join('; ')}).` : ''
        fill(this.result, h('div.ag-done', { 'data-seq': r.event.seq }, h('span.codicon.codicon-pass'), `Committed as event ${r.event.seq} (${r.event.kind}${r.event.method ? ` ${r.event.method}()` : ''}) on ${r.event.branch}${r.note ? ` — ${r.note}` : ''}.${answered}`))
      } else {
        this.changed = r.changed
        this.current = r.preview
        this.render()
      }
    } catch (err) {
      this.actions.toast((err as Error).message, 'error')
    }
  }

  private async discard(): Promise<void> {
    await this.discardCurrent()
    fill(this.result, h('div.empty', null, 'Discarded: nothing was committed.'))
  }

  private async fork(name: string): Promise<void> {
    const p = this.current
    if (!p || !this.client) return
    try {
      const b = await this.client.call('forkPreview', { id: p.id, name: name.trim() })
      this.current = null
      fill(this.result, h('div.ag-done', null, h('span.codicon.codicon-git-branch'), `Forked as branch ${b.name} at event ${b.forkedAt}; the live branch is as it was.`))
      this.actions.openBranch(b)
    } catch (err) {
      this.actions.toast((err as Error).message, 'error')
    }
  }
}

function section(title: string, ...children: (Node | null)[]): HTMLElement {
  return h('div.ed-section', null, h('div.ed-section-title', null, title), ...children)
}

function writeText(w: PreviewView['writes'][number]): string {
  switch (w.op) {
    case 'set': return 'key' in w && w.key !== undefined ? `${w.state}.set(${JSON.stringify(w.key)}, ${short(w.value, 60)})` : `${w.state}.set(${short(w.value, 60)})`
    case 'delete': return `${w.state}.delete(${JSON.stringify(w.key)})`
    case 'queue': return `${w.state}: take ${w.take}${w.push.length ? `, push ${w.push.map((v) => short(v, 50)).join(', ')}` : ''}`
    case 'bag': return `${w.state}: take [${w.take.join(', ')}]${w.put.length ? `, put ${w.put.map((v) => short(v, 50)).join(', ')}` : ''}`
    case 'add': return `${w.state}.add(${w.value})`
    case 'declare': return `declare ${w.kind} ${w.state}`
  }
}
