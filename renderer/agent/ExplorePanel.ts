// Exploration from the selected moment (DESIGN §6), in the agent panel:
// every choice and every fault tried, with its progress, Stop, the
// violations found (each opens as a branch), and for a small space the state
// graph (StateGraphView.ts), whose states on a trace seek that branch.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { BranchView, ExploreView } from '../../engine/protocol/messages.ts'
import { GRAPH_STATES, readExploreGraph } from '../../engine/protocol/exploreGraph.ts'
import { fill, h } from '../dom.ts'
import { plural } from '../words.ts'
import { stateGraphView } from './StateGraphView.ts'
import type { AgentPanelActions } from './AgentPanel.ts'

export class ExplorePanel {
  readonly element: HTMLElement
  private client: EngineClient | null = null
  private readonly exploreBar: HTMLElement
  private readonly exploreOut: HTMLElement
  private readonly exploreStop: HTMLButtonElement
  private readonly depth: HTMLInputElement
  /** The faults exploration gives effects (as `loom explore --faults`): one box each, all ticked by default. */
  private readonly faultBoxes: HTMLInputElement[]
  private exploring = false
  /** The job of the exploration under way, once its progress has said it (what Stop stops); when it began, for states per second. */
  private exploreJob: { job: number; began: number } | null = null
  /** Counterexamples saved as branches, by job and violation. */
  private readonly saved = new Map<string, BranchView>()

  constructor(private readonly actions: AgentPanelActions) {
    this.depth = h('input.se-input.ag-depth', { type: 'number', min: 1, max: 50, value: 8, 'aria-label': 'Depth' })
    this.faultBoxes = FAULTS.map(([f]) => h('input.ag-fault', { type: 'checkbox', checked: true, 'data-fault': f }))
    this.exploreBar = h('div.progress', { hidden: true }, h('div.progress-fill'))
    this.exploreOut = h('div.ag-explore-out')
    this.exploreStop = h('button.se-btn.ag-explore-stop', { type: 'button', hidden: true, title: 'Stop the exploration: it reports what it found so far', onclick: () => void this.stopExploring() }, h('span.codicon.codicon-debug-stop'), 'Stop')
    this.element = h('div.ag-explore', null,
      h('div.ag-section-title', null, 'Explore every choice from the selected moment'),
      h('div.se-row', null, h('label.ag-label', null, 'depth ', this.depth),
        h('button.se-btn.ag-explore-run', { type: 'button', onclick: () => void this.explore() }, h('span.codicon.codicon-search'), 'Explore'),
        this.exploreStop),
      h('div.se-row.ag-faults', { title: 'The faults an effect the app waits for may meet, besides the responses the log recorded' },
        h('span.ag-label', null, 'effect faults'),
        ...FAULTS.map(([, words], i) => h('label.ag-fault-label', null, this.faultBoxes[i]!, words))),
      this.exploreBar, this.exploreOut)
  }

  attach(client: EngineClient): void {
    this.client = client
  }

  progress(job: number, done: number, total: number | null, what: string): void {
    if (!this.exploring) return
    // The first progress after Explore is this exploration's: its job is what Stop stops.
    if (!this.exploreJob) this.exploreJob = { job, began: performance.now() }
    else if (job !== this.exploreJob.job) return
    this.exploreStop.hidden = false
    this.exploreBar.hidden = false
    const fillEl = this.exploreBar.firstElementChild as HTMLElement
    fillEl.style.width = total ? `${Math.min(100, (100 * done) / total)}%` : `${Math.min(95, 10 + Math.log10(done + 1) * 18)}%`
    const seconds = (performance.now() - this.exploreJob.began) / 1000
    const rate = seconds > 0.5 && done > 0 ? ` · ${Math.round(done / seconds).toLocaleString('en')} states/s` : ''
    this.exploreBar.title = what
    this.exploreOut.textContent = what + rate
  }

  private async stopExploring(): Promise<void> {
    if (!this.client || !this.exploreJob) return
    this.exploreStop.disabled = true
    this.exploreOut.textContent = 'stopping…'
    try {
      await this.client.call('stopJob', { job: this.exploreJob.job })
    } catch (err) {
      this.actions.toast((err as Error).message, 'error')
    }
  }

  private async explore(): Promise<void> {
    const client = this.client
    if (!client || this.exploring) return
    const m = this.actions.moment()
    this.exploring = true
    this.exploreJob = null
    this.exploreBar.hidden = false
    ;(this.exploreBar.firstElementChild as HTMLElement).style.width = '3%'
    this.exploreOut.textContent = 'exploring…'
    try {
      const faults = FAULTS.filter((_, i) => this.faultBoxes[i]!.checked).map(([f]) => f)
      const r = await client.call('explore', { ...(m ? { branch: m.branch, at: m.seq } : {}), depth: Math.max(1, Number(this.depth.value) || 8), faults })
      this.showExploration(r)
    } catch (err) {
      fill(this.exploreOut, h('div.ag-failure', null, (err as Error).message))
    } finally {
      this.exploring = false
      this.exploreJob = null
      this.exploreBar.hidden = true
      this.exploreStop.hidden = true
      this.exploreStop.disabled = false
    }
  }

  private showExploration(r: ExploreView): void {
    const unexplored = r.unexplored ?? []
    const head = h('div.ag-explore-sum', { 'data-violations': r.violations.length, 'data-unexplored': unexplored.length },
      `${plural('state', r.states)}, ${plural('transition', r.transitions)}, depth ${r.depth}${r.exhausted ? (unexplored.length ? ', every state reachable with the inputs explored' : ', exhausted') : r.stoppedBy ? `, ${STOPPED[r.stoppedBy]}` : ''}${r.deadlocks ? `, ${plural('deadlock', r.deadlocks)}` : ''}.`)
    // What exploration did not give the app: "no violation" is then no proof, and the panel says so.
    const notes = unexplored.map((u) => h('div.ag-unexplored', null, h('span.codicon.codicon-info'), `Did not explore: ${u}`))
    const list = r.violations.map((v, i) => {
      const name = h('input.se-input.ag-cx-name', { value: `counterexample-${r.job}-${i + 1}`, 'aria-label': 'Branch name' })
      return h('div.ag-violation', { 'data-index': i },
        h('div.ag-failure', null, h('span.codicon.codicon-warning'), `${v.kind === 'test' ? `test “${v.test}”` : v.kind === 'liveness' ? `property “${v.test}”` : v.kind}: ${v.message}`),
        h('div.ag-trace', null, `${plural('move', v.trace.length)}: `, v.trace.map((t, j) => `${j === v.loop ? '⟳ for ever: ' : ''}${t.label ?? `${t.method}()`}${t.choices.length ? ` [${t.choices.join(',')}]` : ''}`).join(' → ') + lassoEnd(v)),
        h('div.se-row', null, name, h('button.se-btn.primary.ag-open-cx', { type: 'button', onclick: () => void this.openCounterexample(r.job, i, name.value) }, h('span.codicon.codicon-git-branch'), 'Open as branch')))
    })
    fill(this.exploreOut, head, ...notes, ...(list.length ? list : [h('div.ag-pass', null, h('span.codicon.codicon-pass'), 'No test fails in any state found.')]), this.graphOf(r))
  }

  /** The state graph of a small space; for a larger one, the bound; nothing when none was sent. */
  private graphOf(r: ExploreView): HTMLElement | null {
    if (r.graph === undefined) return null
    if (r.graph === null) return h('div.ag-unexplored.sg-too-many', null, h('span.codicon.codicon-type-hierarchy'), `${plural('state', r.states)}: too many to draw (at most ${GRAPH_STATES})${r.violations.length ? ', here is the counterexample' : ''}.`)
    const read = readExploreGraph(r.graph)
    if (!read.ok) return h('div.ag-failure.sg-refused', null, h('span.codicon.codicon-error'), `The state graph cannot be drawn: ${read.why}.`)
    return stateGraphView(read.graph, r.violations, {
      seek: (violation, moves) => void this.seekOnTrace(r, violation, moves),
      saved: (violation) => this.saved.get(`${r.job} ${violation}`)?.name ?? null,
    })
  }

  /** Seeks the branch a counterexample was saved as to the moment after `moves` of its moves, saving it first if it was not. */
  private async seekOnTrace(r: ExploreView, violation: number, moves: number): Promise<void> {
    const client = this.client
    if (!client) return
    let b = this.saved.get(`${r.job} ${violation}`)
    if (!b) {
      const input = this.exploreOut.querySelector<HTMLInputElement>(`.ag-violation[data-index="${violation}"] .ag-cx-name`)
      b = (await this.openCounterexample(r.job, violation, input?.value ?? `counterexample-${r.job}-${violation + 1}`, false)) ?? undefined
      if (!b) return
    }
    try {
      // Its events: a code event first when the code changed, then one per move but clock and tty moves (which are none), and halt markers.
      const log = await client.call('log', { branch: b.name, from: (b.forkedAt ?? 0) + 1, limit: 10_000 })
      const events = log.events.filter((e) => e.kind !== 'code' && e.kind !== 'halt')
      const made = r.violations[violation]!.trace.slice(0, moves).filter((m) => m.method !== 'clock' && m.method !== 'tty').length
      const code = log.events.find((e) => e.kind === 'code')
      const seq = made ? events[made - 1]?.seq : (code?.seq ?? b.forkedAt ?? 0)
      if (seq === undefined) throw new Error(`branch ${b.name} has fewer events than the trace has moves`)
      // Opened (or selected again) at that moment: a branch just saved is new to the timeline.
      this.actions.openBranch(b, seq)
    } catch (err) {
      this.actions.toast((err as Error).message, 'error')
    }
  }

  /** Saves violation `violation` of exploration `job` as branch `name`; `open`: and selects its head. */
  private async openCounterexample(job: number, violation: number, name: string, open = true): Promise<BranchView | null> {
    if (!this.client) return null
    try {
      const b = await this.client.call('saveCounterexample', { job, violation, name: name.trim() })
      this.saved.set(`${job} ${violation}`, b)
      if (open) this.actions.openBranch(b)
      this.actions.toast(`Opened counterexample as branch ${b.name} (${plural('event', b.head - (b.forkedAt ?? 0))})`, 'done')
      return b
    } catch (err) {
      this.actions.toast((err as Error).message, 'error')
      return null
    }
  }
}

/** Why an exploration ended before every state, in the panel's words: it found no more than this. */
const STOPPED: Record<NonNullable<ExploreView['stoppedBy']>, string> = {
  depth: 'stopped at the depth bound (states further away were not explored)',
  states: 'stopped at the state bound (not every state was explored)',
  outcomes: 'a transaction had more outcomes than are tried (not every state was explored)',
  stopped: 'stopped, as you asked: this is what it found so far',
  memory: 'stopped near the memory limit: this is what it found so far',
  walks: 'random walks: a sample, not every state',
}

/** The faults, as the panel names them. */
const FAULTS = [['timeout', 'timeout'], ['refused', 'refused'], ['5xx', '503'], ['failed', 'failed file'], ['lost', 'lost answer']] as const

/** How a liveness counterexample's lasso ends: round its cycle again, or standing still. */
function lassoEnd(v: ExploreView['violations'][number]): string {
  if (v.loop === undefined) return ''
  return v.loop === v.trace.length ? ' — then nothing moves, for ever' : ' → and round again, for ever'
}
