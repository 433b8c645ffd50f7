// The bar across the top: which notebook, what the app is doing, and the
// controls people reach for (Run/Pause F8, Step F10, Save Ctrl/Cmd+S), and
// in a shared session who else is in it (the `people` slot).
import type { AppView, RunState, StatusView } from '../engine/protocol/messages.ts'
import type { LinkState } from './connection.ts'
import { h } from './dom.ts'
import { plural } from './words.ts'
import { whyCannotRun } from './cannotRun.ts'
import { keyOf } from './shell/shortcuts.ts'
import type { ProblemCount } from './timeline/problemLog.ts'

export interface TopBarActions {
  runPause(): void
  step(): void
  save(): void
  /** Go to the next event after which a test failed or a transaction threw. */
  nextProblem(): void
}

const LABEL: Record<RunState, string> = { ready: 'Ready', running: 'Running', paused: 'Paused', parked: 'Parked', idle: 'Idle', halted: 'Halted' }

export class TopBar {
  readonly element: HTMLElement
  private readonly title: HTMLElement
  private readonly path: HTMLElement
  private readonly dirty: HTMLElement
  private readonly pill: HTMLElement
  private readonly pillText: HTMLElement
  private readonly reason: HTMLElement
  private readonly runButton: HTMLButtonElement
  private readonly stepButton: HTMLButtonElement
  private readonly saveButton: HTMLButtonElement
  private readonly head: HTMLElement
  private readonly link: HTMLElement
  private status: StatusView | null = null
  /** Why this page may not run or step (a shared session's view or edit link), or null. */
  private runRefused: string | null = null
  private saveRefused: string | null = null
  /** Where a shared session shows its people. */
  readonly people: HTMLElement
  private readonly app: HTMLAnchorElement
  private readonly problems: HTMLButtonElement
  /** The notebook's name: a button that opens another notebook (renderer/shell/NotebookSwitcher.ts). */
  readonly notebookButton: HTMLButtonElement

  constructor(actions: TopBarActions) {
    this.title = h('span.nb-title', null, 'Loom')
    this.path = h('span.nb-path', null, '')
    this.dirty = h('span.nb-dirty', { title: 'Unsaved changes', hidden: true }, '●')
    this.pillText = h('span.pill-text', null, 'Connecting')
    this.reason = h('span.pill-reason', null, '')
    this.pill = h('span.run-pill', { 'data-state': 'connecting', role: 'status', 'aria-label': 'Run state' }, h('span.pill-dot'), this.pillText, this.reason)
    const button = (cls: string, label: string, icon: string, key: string, onclick: () => void) =>
      h(`button.tb-button.${cls}`, { type: 'button', title: `${label} (${key})`, onclick }, h(`span.codicon.codicon-${icon}`), h('span.tb-label', null, label)) as HTMLButtonElement
    this.runButton = button('run', 'Run', 'debug-continue', keyOf('runPause'), actions.runPause)
    this.stepButton = button('step', 'Step', 'debug-step-over', keyOf('step'), actions.step)
    this.saveButton = button('save', 'Save', 'save', keyOf('save'), actions.save)
    this.head = h('span.tb-meta', null, '')
    this.link = h('span.link-state', { hidden: true, role: 'status' }, '')
    this.people = h('span.tb-people')
    this.app = h('a.tb-app', { hidden: true, target: '_blank', rel: 'noopener noreferrer' }, '')
    this.problems = h('button.tb-problems', { type: 'button', hidden: true, title: `Go to the next event after which a test failed or a transaction threw (${keyOf('nextProblem')})`, onclick: actions.nextProblem }) as HTMLButtonElement
    this.element = h('header.topbar', null,
      h('span.brand', null, h('span.brand-mark', { 'aria-hidden': 'true' }), 'Loom'),
      h('span.tb-sep'),
      (this.notebookButton = h('button.nb-switch', { type: 'button', title: 'Open another notebook in this window' },
        h('span.nb-name', null, this.title, this.dirty, this.path), h('span.codicon.codicon-chevron-down', { 'aria-hidden': 'true' })) as HTMLButtonElement),
      this.pill,
      h('span.tb-group', null, this.runButton, this.stepButton),
      h('span.tb-spacer'),
      this.problems,
      this.people,
      this.app,
      this.link,
      this.head,
      this.saveButton,
    )
  }

  /** How many tests failed (after how many events) and transactions threw since the window opened (hidden while none). */
  setProblems({ tests, testEvents, errors, notRecordedUntil }: ProblemCount): void {
    this.problems.hidden = !tests && !errors && !notRecordedUntil
    this.problems.dataset.tests = String(tests)
    this.problems.dataset.errors = String(errors)
    const failed = tests ? plural('failed test', tests) + (testEvents > tests ? ` (failing at ${testEvents} events)` : '') : ''
    // Events an older Loom wrote have no failures recorded: unknown, not none.
    const unknown = notRecordedUntil ? `failures not recorded up to event ${notRecordedUntil}` : ''
    this.problems.textContent = [failed, errors ? plural('error', errors) : '', unknown].filter(Boolean).join(' · ')
    this.problems.title = `${unknown ? 'A Loom before this version wrote those events and kept no failures for them. ' : ''}Failures found live and kept beside the log (not part of its hash chain; a replay recomputes them). Go to the next event after which a test failed or a transaction threw (${keyOf('nextProblem')})`
  }

  /** Where the app's own HTTP answers (its port, with /sys), or nothing when it has none. */
  setApp(app: AppView | undefined): void {
    this.app.hidden = !app
    if (!app) return
    this.app.href = app.url
    this.app.textContent = `app ${app.url.replace(/^http:\/\//, '')}`
    this.app.title = `The app's own HTTP port: requests to it run as http transactions and appear on the timeline; ${app.url}/sys shows its history as JSON`
  }

  setNotebook(path: string, text: string): void {
    const file = path.split(/[\\/]/).pop() ?? path
    // The front matter's title, else the first heading, else the file's name.
    const title = /^(?:\uFEFF)?---\r?\n[\s\S]*?^title:[ \t]*(.+?)[ \t]*$/m.exec(text)?.[1]?.replace(/^['"]|['"]$/g, '') ??
      /^#[ \t]+(.+?)[ \t#]*$/m.exec(text)?.[1]
    this.title.textContent = title ?? file
    this.path.textContent = file
    this.path.title = path
    document.title = `${title ?? file} — Loom`
  }

  setStatus(status: StatusView | null): void {
    // A status answered before events the stream has already shown does not move the head back (a branch's head only grows).
    const before = this.status
    if (status && before && status.branch === before.branch && status.restarted === before.restarted && status.head < before.head) status = { ...status, head: before.head }
    this.status = status
    const state = status?.state ?? 'stopped'
    this.pill.dataset.state = state
    // Ready with a reason: the app cannot start (its notebook does not parse or compile, or its log cannot be extended).
    const why = whyCannotRun(status)
    const cannot = why !== null
    this.pill.dataset.cannot = String(cannot)
    this.pillText.textContent = cannot ? 'Cannot run' : status ? LABEL[status.state] : 'Not running'
    // Paused or parked, what the next step waits for is worth saying (paused: it will not wake by itself); unable to start, why.
    const reason = (status?.state === 'parked' || status?.state === 'paused' || cannot) && status?.waiting ? status.waiting : ''
    // Requests to the app's port wait while a person has paused it: they are served, in order, when it runs.
    const held = status?.held ? `${plural('request', status.held)} waiting` : ''
    this.reason.textContent = [reason, held].filter(Boolean).map((t) => `— ${t}`).join(' ')
    this.pill.dataset.held = String(status?.held ?? 0)
    this.pill.title = [reason, held && `${held} to be served when the app runs (Step serves the first)`].filter(Boolean).join('; ')
    const running = status?.state === 'running' || status?.state === 'parked' || status?.state === 'idle'
    const runLabel = running ? 'Pause' : 'Run'
    this.runButton.querySelector('.tb-label')!.textContent = runLabel
    this.runButton.querySelector('.codicon')!.className = `codicon codicon-${running ? 'debug-pause' : 'debug-continue'}`
    this.runButton.title = `${runLabel} (${keyOf('runPause')})`
    this.runButton.disabled = !status || status.state === 'halted'
    // Steps are taken one at a time while the app is not running (parked and idle are running: the loop waits).
    this.stepButton.disabled = !status || status.state === 'halted' || running
    // Not allowed (a guest's link), or nothing can run: the buttons say why instead of failing when pressed.
    const refused = this.runRefused ?? (why === null ? null : `The app cannot run: ${why}`)
    if (refused) {
      for (const b of [this.runButton, this.stepButton]) {
        b.disabled = true
        b.title = refused
      }
    } else this.stepButton.title = running ? `Step (${keyOf('step')}): pause the app first` : `Step (${keyOf('step')})`
    this.showHead()
  }

  /**
   * The live head as the events stream moves it. Status notices come when the
   * run state changes, not with every event: the head follows the same stream
   * as the timeline, so both show the latest event, at no cost to the engine.
   */
  advance(branch: string, head: number): void {
    const s = this.status
    if (!s || s.branch !== branch || head <= s.head) return
    this.status = { ...s, head }
    this.showHead()
  }

  private showHead(): void {
    const status = this.status
    this.head.textContent = status ? [status.branch, `event ${status.head}`, status.codeHash.slice(0, 7)].filter(Boolean).join(' · ') : ''
    this.head.title = status ? `branch ${status.branch}, ${plural('event', status.head)}; running code ${status.codeHash}` : ''
    if (status) this.head.dataset.head = String(status.head)
    else delete this.head.dataset.head
  }

  get running(): boolean {
    const s = this.status?.state
    return s === 'running' || s === 'parked' || s === 'idle'
  }

  setDirty(dirty: boolean): void {
    this.dirty.hidden = !dirty
  }

  setSaveEnabled(enabled: boolean): void {
    this.saveButton.disabled = !enabled || this.saveRefused !== null
  }

  /** What this page may not do, and why (shown on the disabled buttons); null: allowed. */
  refuse(run: string | null, save: string | null): void {
    this.runRefused = run
    this.saveRefused = save
    this.saveButton.disabled = save !== null
    this.saveButton.title = save ?? `Save (${keyOf('save')})`
    this.setStatus(this.status)
  }

  setLink(link: LinkState): void {
    this.link.hidden = link.state === 'open'
    this.link.dataset.state = link.state
    this.link.textContent = link.state === 'connecting' ? 'Connecting…' : link.state === 'reconnecting' ? `Reconnecting… (${link.reason})` : link.state === 'refused' ? 'Not let in' : ''
  }
}
