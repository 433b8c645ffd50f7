// The visual debugger's wiring: the timeline and its toolbar (live, step
// through time, the branch actions of BranchActions.ts, the history jobs of
// HistoryJobs.ts), and the inspector beside the notebook (the state at the
// selected moment, the selected event, the agent panel). The selected moment
// drives everything that shows state; the live branch keeps running.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { Attempt, BranchFailure, BranchView, EventRecord, FailureList, Json, SkippedEvents, StateEdit, StateValue, StatusView, TestFailure } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import { AgentPanel } from '../agent/AgentPanel.ts'
import { StateEditor } from '../stateEditor/StateEditor.ts'
import { EventDetails } from './EventDetails.ts'
import { KIND_COLOURS, KINDS, type SelectedMoment } from './moment.ts'
import { Timeline } from './Timeline.ts'
import { BranchActions, branchLabel } from './BranchActions.ts'
import { HistoryJobs } from './HistoryJobs.ts'
import { QuestionsPanel } from '../questions/QuestionsPanel.ts'
import { shortcutOf, typing } from '../shell/shortcuts.ts'
import { InspectorTabs } from './InspectorTabs.ts'
import { ProblemLog, type Problem, type ProblemCount } from './problemLog.ts'
import { StateAtMoment } from './StateAtMoment.ts'
import './debugger.css'

export interface DebuggerHost {
  toast(message: string, kind: 'done' | 'info' | 'warning' | 'error'): void
  /** The state at the selected moment, for the live values beside cells and the REPL. */
  moment(moment: SelectedMoment, values: Record<string, StateValue>): void
  cell(cell: string, line: number): void
  /** The failed tests and errors seen since the window opened, counted (the top bar shows them). */
  problems?(count: ProblemCount): void
}

type Tab = 'state' | 'event' | 'agent' | 'questions'

export class Debugger {
  readonly timelineElement: HTMLElement
  readonly inspector: HTMLElement
  readonly timeline: Timeline
  readonly stateEditor: StateEditor
  readonly details: EventDetails
  readonly agent: AgentPanel
  private client: EngineClient | null = null
  private status: StatusView | null = null
  private readonly tabs = new InspectorTabs()
  private readonly momentLabel: HTMLElement
  private readonly liveButton: HTMLButtonElement
  private readonly branchActions: BranchActions
  private readonly jobs: HistoryJobs
  private readonly state: StateAtMoment
  private readonly problems = new ProblemLog()
  /** What the log kept of failures when the window opened. */
  private kept: FailureList[] = []
  /** The branches this window knows (null before the first list): one that appears later brings the failures kept on it. */
  private known: Set<string> | null = null
  private readonly watchers: ((m: SelectedMoment) => void)[] = []

  constructor(private readonly host: DebuggerHost, extraTab?: { title: string; element: HTMLElement }) {
    const btn = (cls: string, label: string, icon: string, title: string, onclick: () => void) =>
      h(`button.tl-btn.${cls}` as 'button', { type: 'button', title, onclick }, h(`span.codicon.codicon-${icon}`), label ? h('span', null, label) : null) as HTMLButtonElement
    this.liveButton = btn('tl-live', 'Live', 'circle-filled', 'Follow the live head as events come in (End)', () => this.goLive())
    this.branchActions = new BranchActions({
      client: () => this.client,
      moment: () => this.timeline.moment,
      branch: (name) => this.timeline.branch(name),
      setBranches: (b) => this.setBranches(b),
      setStatus: (s) => this.setStatus(s),
      select: (branch, seq) => this.timeline.select(branch, seq),
      goLive: () => this.goLive(),
      refresh: () => this.refresh(),
      toast: (m, k) => host.toast(m, k),
    }, btn)
    const actions = this.branchActions
    this.jobs = new HistoryJobs({
      client: () => this.client,
      timeline: () => this.timeline,
      details: () => this.details,
      setBranches: (b) => this.setBranches(b),
      freeName: (base) => this.branchActions.freeName(base),
      toast: (m, k) => host.toast(m, k),
    }, btn)
    this.momentLabel = h('span.tl-moment', null, '')
    const legend = h('span.tl-legend', null, ...KINDS.map((k) => h('span.tl-legend-item', null, h('span.tl-swatch', { style: `background:${KIND_COLOURS[k]}` }), k)))
    const toolbar = h('div.tl-toolbar', null,
      h('span.panel-title', null, 'Timeline'),
      this.liveButton,
      h('span.tl-group', null,
        btn('tl-prev', '', 'chevron-left', 'Previous event (←)', () => this.timeline.move(-1)),
        btn('tl-next', '', 'chevron-right', 'Next event (→)', () => this.timeline.move(1))),
      this.momentLabel,
      h('span.tl-sep'),
      actions.forkButton,
      actions.promoteButton,
      actions.renameButton,
      actions.deleteButton,
      actions.forms,
      this.jobs.verifyButton,
      this.jobs.rerunButton,
      actions.exportButton,
      actions.importButton,
      this.jobs.bar,
      h('span.tb-spacer'),
      legend,
      btn('tl-all', '', 'screen-full', 'Show the whole history', () => this.timeline.showRange(0.5, Infinity)),
    )
    this.timeline = new Timeline({ select: (m) => this.selected(m) }, toolbar)
    this.timelineElement = this.timeline.element

    this.stateEditor = new StateEditor({
      edit: (edits, expect) => this.edit(edits, expect),
      forkHere: () => this.branchActions.showFork(),
      goLive: () => this.goLive(),
      promote: () => void this.branchActions.promote(),
      called: (b) => branchLabel(this.timeline.branch(b), b),
    })
    this.details = new EventDetails({
      state: (name) => {
        this.selectTab('state')
        this.stateEditor.reveal(name)
      },
      cell: (cell, line) => host.cell(cell, line),
      select: (branch, seq) => this.timeline.select(branch, seq),
    })
    this.agent = new AgentPanel({
      toast: (m, k) => host.toast(m, k),
      openBranch: (b, seq) => void this.branchActions.openBranch(b, seq),
      moment: () => this.timeline.moment,
      cell: (cell, line) => host.cell(cell, line),
    })
    this.state = new StateAtMoment({
      client: () => this.client,
      moment: () => this.timeline.moment,
      branch: (name) => this.timeline.branch(name),
      show: (m, values) => {
        this.stateEditor.show(m, values, this.atBranchHead(m))
        host.moment(m, values)
      },
      series: (series) => this.stateEditor.setSeries(series),
    })
    this.tabs.add('state', 'State', this.stateEditor.element)
    // Details cost three requests: read them only while they are shown (and when their tab opens).
    this.tabs.add('event', 'Event', this.details.element, () => {
      const m = this.timeline.moment
      if (m) void this.details.show(m)
    })
    this.tabs.add('agent', 'Agent', this.agent.element)
    // Questions asked of the selected branch's whole history; a row seeks, the answers are marked on the timeline.
    this.tabs.add('questions', 'Questions', new QuestionsPanel({
      client: () => this.client,
      branch: () => this.timeline.moment?.branch ?? this.status?.branch ?? null,
      seek: (branch, seq) => this.timeline.select(branch, seq),
      mark: (kind, branch, seqs) => this.timeline.markAnswers(kind, branch, seqs),
    }).element)
    // The app's own tab (the Recent events list): always last.
    if (extraTab) this.tabs.add('extra', extraTab.title, extraTab.element)
    this.inspector = this.tabs.element
    this.selectTab('state')

    window.addEventListener('keydown', (e) => {
      // Only while the person is not typing somewhere (an input, a cell's editor, the terminal).
      if (typing(e)) return
      // Ctrl+Z while the state is on screen: undo the last hand edit of it (cells have their own undo).
      if (shortcutOf(e, ['undoStateEdit']) && this.stateEditor.canUndo && this.stateEditor.element.offsetParent !== null) {
        e.preventDefault()
        void this.stateEditor.undo()
        return
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return
      if (this.shortcut(e)) return
      if ((e.target as HTMLElement | null)?.classList.contains('tl-canvas')) return
      this.timeline.key(e)
    })
  }

  /** F fork here, P promote, V verify, R replay with the current code: as in the buttons' tooltips; E the next failed test or error. */
  private shortcut(e: KeyboardEvent): boolean {
    if (e.repeat) return false
    const id = shortcutOf(e, ['nextProblem', 'fork', 'promote', 'verify', 'rerun'])
    if (id === 'nextProblem') {
      e.preventDefault()
      this.nextProblem()
      return true
    }
    if (!id) return false
    const action = { fork: () => this.branchActions.showFork(), promote: () => void this.branchActions.promote(), verify: () => void this.jobs.verify(), rerun: () => void this.jobs.rerun() }[id]
    const button = this.timelineElement.querySelector<HTMLButtonElement>({ fork: '.tl-fork', promote: '.tl-promote', verify: '.tl-verify', rerun: '.tl-rerun' }[id])
    // A button the page disabled (nothing to promote, a guest who may not) is not pressed by its key either.
    if (button?.disabled) return false
    e.preventDefault()
    action()
    return true
  }

  /** Adds a tab beside State, Event and Agent (Profile, Diff); `shown` runs each time it is chosen. */
  addTab(name: string, title: string, element: HTMLElement, shown: () => void): void {
    this.tabs.add(name, title, element, shown, 'extra')
  }

  /** Calls `fn` with each moment selected on the timeline. */
  watch(fn: (m: SelectedMoment) => void): void {
    this.watchers.push(fn)
  }

  selectTab(tab: Tab | string): void {
    this.tabs.select(tab)
  }

  async open(client: EngineClient, status: StatusView): Promise<void> {
    this.client = client
    this.status = status
    this.timeline.attach(client)
    this.details.attach(client)
    this.agent.attach(client)
    try {
      this.setBranches(await client.call('branches', {}))
      // What the log kept: the failures found since it was written (before this window opened too), then the latest attempts.
      this.recorded(await client.call('failures', {}))
      for (const a of await client.call('attempts', { limit: 200 })) this.attempt(a)
    } catch (err) {
      // Nothing has run yet (the notebook does not parse, or is not UTF-8): no history is not an error, the empty timeline says it.
      if (status.head === 0 && !status.codeHash) return
      this.host.toast(`Could not read the branches: ${(err as Error).message}`, 'error')
    }
  }

  setStatus(status: StatusView): void {
    this.status = status
    // Events may have been skipped on the way here (a window that falls behind): the status says where the live head is.
    this.timeline.addEvents([], [{ branch: status.branch, head: status.head }])
    this.timeline.setPending(status.reading ?? [])
  }

  setBranches(branches: BranchView[]): void {
    const fresh = this.known ? branches.map((b) => b.name).filter((n) => !this.known!.has(n)) : []
    this.known = new Set(branches.map((b) => b.name))
    if (fresh.length) void this.keptOn(fresh)
    this.timeline.setBranches(branches)
    this.branchActions.setBranches(branches)
    this.updateButtons()
    const m = this.timeline.moment
    if (m) this.showMoment(m)
  }

  /** `skipped`: events the engine did not send this window live (it fell behind); they are in the log. */
  addEvents(events: EventRecord[], skipped: SkippedEvents[] = []): void {
    this.timeline.addEvents(events, skipped.map((s) => ({ branch: s.branch, head: s.to })))
    // A moment that did not move still shows newer sparklines.
    this.state.queueSeries()
  }

  /** An attempt that threw is an error, marked and counted; one that aborted is a wait, and is neither. */
  attempt(a: Attempt): void {
    this.details.addAttempt(a)
    if (a.aborted) return
    this.timeline.markError(a.branch, a.after)
    this.problem({ branch: a.branch, seq: a.after, kind: 'error', test: '' })
  }

  testFailed(f: TestFailure): void {
    const branch = this.status?.branch ?? 'main'
    this.timeline.markFailure(branch, f.seq)
    this.details.addTestFailure(branch, f.seq, { test: f.test, message: f.message, cell: f.location?.cell ?? null, line: f.location?.line ?? null })
    this.problem({ branch, seq: f.seq, kind: 'test', test: f.test })
  }

  /** The failures the log kept (as a live run found them: the same marks and counts), and how much of each branch has none recorded. */
  recorded(lists: FailureList[]): void {
    this.kept = lists
    this.markKept(lists)
  }

  /** A branch that appeared since (a counterexample opened as a branch, an import): the failures kept on it are marked too. */
  private async keptOn(names: string[]): Promise<void> {
    const client = this.client
    if (!client) return
    try {
      const lists = (await client.call('failures', {})).filter((l) => names.includes(l.branch))
      this.kept = [...this.kept, ...lists]
      this.markKept(lists)
    } catch {
      // marks are a nicety: the branch itself is there
    }
  }

  private markKept(lists: FailureList[]): void {
    for (const list of lists) {
      this.problems.notRecorded(list.notRecordedUntil)
      for (const f of list.failures) {
        if (f.kind === 'test') {
          this.timeline.markFailure(f.branch, f.seq)
          this.details.addTestFailure(f.branch, f.seq, { test: f.name, message: f.message, cell: f.cell, line: f.line })
        } else this.timeline.markError(f.branch, f.seq)
        // An error's `test` is empty, as for an attempt seen live: the same event is counted once whichever way it came.
        this.problems.add({ branch: f.branch, seq: f.seq, kind: f.kind, test: f.kind === 'test' ? f.name : '' })
      }
    }
    this.host.problems?.(this.problems.count())
  }

  /** The failures the log kept after event `seq` of `branch` (the head a window opened at: its cells show them). */
  keptAfter(branch: string, seq: number): BranchFailure[] {
    return this.kept.flatMap((l) => l.failures.filter((f) => f.branch === branch && f.seq === seq))
  }

  private problem(p: Problem): void {
    if (this.problems.add(p)) this.host.problems?.(this.problems.count())
  }

  /** E: the next event after which a test failed or a transaction threw, after the selected one (round to the first). */
  nextProblem(): void {
    const next = this.problems.next(this.timeline.moment)
    if (!next) return this.host.toast('No failed test or error so far', 'info')
    this.timeline.select(next.branch, next.seq)
    // The event's details say what failed there.
    this.selectTab('event')
  }

  onProgress(n: { job: number; done: number; total: number | null; what: string; op?: string }): void {
    if (n.op === 'explore') return this.agent.progress(n.job, n.done, n.total, n.what)
    this.jobs.progress(n.done, n.total, n.what)
  }

  /** Re-reads the state at the selected moment (after a reconnect or an edit elsewhere). */
  refresh(): void {
    const m = this.timeline.moment
    if (m) this.state.load(m)
  }

  // ---- the selected moment ----

  private selected(m: SelectedMoment): void {
    this.showMoment(m)
    this.liveButton.classList.toggle('on', this.timeline.following)
    this.updateButtons()
    this.state.load(m)
    if (this.tabs.showing('event')) void this.details.show(m)
    for (const fn of this.watchers) fn(m)
    this.state.queueSeries()
  }

  /** The selected moment in words, with the branch as people call it (a renamed one by its new name). */
  private showMoment(m: SelectedMoment): void {
    const name = branchLabel(this.timeline.branch(m.branch), m.branch)
    this.momentLabel.textContent = m.live ? `${name} · event ${m.seq} · live` : `${name} · event ${m.seq}`
    this.momentLabel.dataset.live = String(m.live)
  }

  private atBranchHead(m: SelectedMoment): boolean {
    return this.timeline.branch(m.branch)?.head === m.seq
  }

  // ---- actions ----

  private goLive(): void {
    this.timeline.setFollow(true)
    this.liveButton.classList.add('on')
  }

  private updateButtons(): void {
    this.branchActions.update()
    this.liveButton.classList.toggle('on', this.timeline.following)
  }

  private async edit(edits: StateEdit[], expect?: Record<string, Json>): Promise<{ after: Record<string, Json> } | null> {
    if (!this.client) return null
    try {
      return await this.client.call('editState', { edits, expect })
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
      return null
    }
  }
}
