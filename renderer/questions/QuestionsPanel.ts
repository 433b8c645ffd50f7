// The inspector's Questions tab: questions asked of a whole branch. "When
// did it happen?" lists the events after which a predicate held (the engine's
// query op); "Logs with this code" lists what the notebook's current code,
// unsaved edits too, would have logged at every past event (retroLogs). A
// row, clicked or chosen with the arrow keys and Enter, seeks there; both
// answers are marked on the timeline.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { Json, QueryView, RetroLogsView } from '../../engine/protocol/messages.ts'
import { h, fill } from '../dom.ts'
import { plural } from '../words.ts'
import './questions.css'

export interface QuestionsHost {
  client(): EngineClient | null
  /** The branch the questions are asked of: the selected moment's. */
  branch(): string | null
  seek(branch: string, seq: number): void
  /** Marks on the timeline: the moments a predicate held, the events that logged (null: clear them). */
  mark(kind: 'match' | 'log', branch: string, seqs: number[] | null): void
}

interface Row {
  seq: number
  kind: string
  method: string | null
  text: string
  diverged?: boolean
}

export class QuestionsPanel {
  readonly element: HTMLElement
  private readonly input: HTMLInputElement
  private readonly askButton: HTMLButtonElement
  private readonly logsButton: HTMLButtonElement
  private readonly matchSummary: HTMLElement
  private readonly matchList: HTMLElement
  private readonly logSummary: HTMLElement
  private readonly logList: HTMLElement

  constructor(private readonly host: QuestionsHost) {
    this.input = h('input.q-input', { type: 'text', spellcheck: 'false', 'aria-label': 'Predicate', placeholder: "accounts.get('bob') < 0   or   event.http?.status >= 500" })
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault()
        void this.ask()
      } else if (e.key === 'ArrowDown') {
        e.preventDefault()
        this.matchList.querySelector<HTMLElement>('.q-row')?.focus()
      }
    })
    this.askButton = h('button.q-btn.q-ask', { type: 'button', title: 'List the events after which the predicate held (Enter)', onclick: () => void this.ask() }, 'Ask') as HTMLButtonElement
    this.logsButton = h('button.q-btn.q-logs', { type: 'button', title: 'Re-enact the branch with the notebook as it is now (unsaved edits too) and list what each event would log; nothing is written', onclick: () => void this.logs() }, 'Logs with this code') as HTMLButtonElement
    this.matchSummary = h('div.q-summary', null, 'A JavaScript expression over the state (as the cells name it) and over event (seq, kind, method, time, http, tty, logs, wrote), evaluated after every event.')
    this.matchList = h('ol.q-list.q-matches', { 'aria-label': 'Matching moments' })
    this.logSummary = h('div.q-summary', null, 'Add a sys.log or console.log line to a cell, then see what it would have printed at every past event.')
    this.logList = h('ol.q-list.q-loglines', { 'aria-label': 'Log lines' })
    this.element = h('section.questions', { 'aria-label': 'Questions' },
      h('div.q-head', null, h('span.panel-title', null, 'When did it happen?')),
      h('div.q-ask-row', null, this.input, this.askButton),
      this.matchSummary,
      this.matchList,
      h('div.q-head', null, h('span.panel-title', null, 'Logs with this code'), this.logsButton),
      this.logSummary,
      this.logList,
    )
  }

  private async ask(): Promise<void> {
    const client = this.host.client()
    const branch = this.host.branch()
    const expr = this.input.value
    if (!client || !branch) return
    if (!expr.trim()) {
      this.say(this.matchSummary, 'Type a predicate first, like refused.get() > 0', true)
      return
    }
    await this.answer('match', branch, `Asking after every event of '${branch}'…`, async () => this.showMatches(await client.call('query', { expr, branch })))
  }

  private showMatches(r: QueryView): void {
    const kept = r.matches.length < r.count ? ` — the first ${r.matches.length} of ${r.count.toLocaleString()}` : ''
    const threw = r.errorCount ? ` It threw after ${plural('event', r.errorCount)}: ${r.errors.map((e) => `#${e.seq} ${e.message}${e.line ? ` (line ${e.line}, column ${e.column})` : ''}`).slice(0, 2).join('; ')}.` : ''
    const damage = r.damage ? ` The log is damaged: ${r.damage}.` : ''
    const what = r.count ? `${plural('match', r.count, 'matches')}${kept}` : 'No match'
    this.say(this.matchSummary, `${what} in events ${r.from}–${r.from + r.evaluated - 1} of '${r.branch}'.${threw}${damage}`, !!(r.errorCount || r.damage) && !r.count)
    this.list(this.matchList, r.branch, r.matches.map((m) => ({ seq: m.seq, kind: m.kind, method: m.method, text: 'value' in m ? show(m.value!) : '' })))
    this.host.mark('match', r.branch, r.matches.map((m) => m.seq))
  }

  private async logs(): Promise<void> {
    const client = this.host.client()
    const branch = this.host.branch()
    if (!client || !branch) return
    await this.answer('log', branch, `Re-enacting '${branch}' with the current code…`, async () => this.showLogs(await client.call('retroLogs', { branch })))
  }

  /** Asks one of the two questions: its button waits meanwhile; a refusal is said where the answer would be, and the old answer goes. */
  private async answer(kind: 'match' | 'log', branch: string, asking: string, ask: () => Promise<void>): Promise<void> {
    const [button, summary, list] = kind === 'match' ? [this.askButton, this.matchSummary, this.matchList] : [this.logsButton, this.logSummary, this.logList]
    button.disabled = true
    this.say(summary, asking)
    try {
      await ask()
    } catch (err) {
      fill(list)
      this.host.mark(kind, branch, null)
      this.say(summary, (err as Error).message, true)
    } finally {
      button.disabled = false
    }
  }

  private showLogs(r: RetroLogsView): void {
    const kept = r.events.length < r.found ? ` — the first ${r.events.length} of ${r.found.toLocaleString()} events` : ''
    const diverged = r.diverged ? ` ${plural('event', r.diverged)} came out differently (↯), the first #${r.firstDivergence}.` : ' Every outcome is as recorded.'
    this.say(this.logSummary, `${plural('log line', r.lines)} over ${plural('recorded transaction', r.inputs)} of '${r.branch}'${kept}.${diverged} Nothing was written.`)
    const rows: Row[] = []
    for (const e of r.events) {
      for (const l of e.lines) rows.push({ seq: e.seq, kind: e.kind, method: e.method, text: `${l.channel === 'console' ? '' : `${l.channel}: `}${typeof l.message === 'string' ? l.message : show(l.message)}` })
      if (e.diverged) rows.push({ seq: e.seq, kind: e.kind, method: e.method, text: `↯ ${e.diverged}`, diverged: true })
    }
    this.list(this.logList, r.branch, rows)
    this.host.mark('log', r.branch, r.events.map((e) => e.seq))
  }

  private list(list: HTMLElement, branch: string, rows: Row[]): void {
    fill(list, ...rows.map((r) => {
      const li = h('li.q-row', { tabindex: 0, 'data-seq': r.seq, 'data-kind': r.kind, title: `Seek to event ${r.seq} (Enter)` },
        h('span.q-seq', null, `#${r.seq}`),
        h('span.q-kind', null, r.method && r.method !== r.kind ? `${r.kind} ${r.method}` : r.kind),
        h('span.q-text', null, r.text))
      if (r.diverged) li.classList.add('q-diverged')
      li.addEventListener('click', () => this.host.seek(branch, r.seq))
      li.addEventListener('keydown', (e) => {
        const step = e.key === 'ArrowDown' ? li.nextElementSibling : e.key === 'ArrowUp' ? li.previousElementSibling : null
        if (e.key === 'Enter') this.host.seek(branch, r.seq)
        else if (step) (step as HTMLElement).focus()
        else if (e.key === 'ArrowUp' && list === this.matchList) this.input.focus()
        else return
        e.preventDefault()
        e.stopPropagation()
      })
      return li
    }))
  }

  private say(summary: HTMLElement, text: string, error = false): void {
    summary.textContent = text
    summary.classList.toggle('q-error', error)
  }
}

function show(v: Json): string {
  const text = JSON.stringify(v)
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}
