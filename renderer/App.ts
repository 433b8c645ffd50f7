// The window: top bar, notebook, state panel and terminal dock, wired to the
// engine through one client. Every (re)connection re-reads everything, so the
// UI never shows a state the engine does not have.
import { mountProfileAndDiff } from './questions/mountProfileAndDiff.ts'
import { ProtocolError, type EngineClient } from '../engine/protocol/client.ts'
import type { EventRecord, NotebookView as Notebook, SkippedEvents, StatusView } from '../engine/protocol/messages.ts'
import type { Hello, LinkState } from './connection.ts'
import { h } from './dom.ts'
import { NotebookView } from './notebook/NotebookView.ts'
import { TerminalDock } from './terminal/TerminalDock.ts'
import { EventList } from './timeline/EventList.ts'
import { Debugger } from './timeline/Debugger.ts'
import { Banner } from './Banner.ts'
import { ShareUi } from './share/ShareUi.ts'
import { EffectsAllowance } from './shell/EffectsAllowance.ts'
import { TopBar } from './TopBar.ts'
import { plural } from './words.ts'
import { Panes } from './shell/Panes.ts'
import { ShortcutsOverlay } from './shell/ShortcutsOverlay.ts'
import { NotebookSwitcher } from './shell/NotebookSwitcher.ts'
import { shortcutOf } from './shell/shortcuts.ts'
import { whyCannotRun } from './cannotRun.ts'
import './shell/shell.css'

/** How many past events' terminal output to show when the window opens. */
const TTY_HISTORY = 1000

export class App {
  readonly element: HTMLElement
  private readonly topBar: TopBar
  private readonly banner = new Banner()
  private readonly allowance = new EffectsAllowance(this.banner)
  private readonly notebook: NotebookView
  private readonly eventList = new EventList()
  private readonly questions: ReturnType<typeof mountProfileAndDiff>
  private readonly dock = new TerminalDock()
  private readonly debugger: Debugger
  /** A shared session's part of the window (nothing when the page did not come from an invite link). */
  private readonly sharing: ShareUi
  private readonly panes: Panes
  private readonly switcher: NotebookSwitcher
  private client: EngineClient | null = null
  private unsubscribe: (() => void)[] = []
  private status: StatusView | null = null
  private nb: Notebook | null = null
  /** The page of whoever owns the notebook: alone, or the owner of a shared session (not a guest). */
  private owns = true
  /** The last event whose terminal output has been printed. */
  private ttySeq = 0
  /** Events are being skipped (this window fell behind) and the terminal has said so: once per burst. */
  private skipping = false

  constructor() {
    this.topBar = new TopBar({ runPause: () => void this.runPause(), step: () => void this.step(), save: () => void this.save(), nextProblem: () => this.debugger.nextProblem() })
    this.notebook = new NotebookView({
      problem: (message) => this.banner.toast(message, 'error'),
      historyProblem: (message) => (message ? this.banner.show('history', 'error', 'The app does not run: its log cannot be extended.', message) : this.banner.hide('history')),
      edited: () => this.topBar.setDirty(true),
    })
    this.debugger = new Debugger({
      toast: (message, kind) => this.banner.toast(message, kind),
      moment: (moment, values) => {
        this.notebook.showValues(values)
        this.dock.setMoment(moment.live ? null : { branch: moment.branch, at: moment.seq })
        this.sharing.moment(moment)
      },
      cell: (cell, line) => this.notebook.codeCells().find((c) => c.id === cell)?.revealLine(line),
      problems: (count) => this.topBar.setProblems(count),
    }, { title: 'Recent', element: this.eventList.element })
    this.questions = mountProfileAndDiff(this.debugger)
    this.sharing = new ShareUi({
      topBar: this.topBar,
      banner: this.banner,
      notebook: this.notebook,
      timeline: () => this.debugger.timeline,
      runButtons: () => [
        ...this.debugger.timelineElement.querySelectorAll<HTMLButtonElement>('.tl-fork, .tl-promote, .tl-rename, .tl-delete, .tl-verify, .tl-rerun, .tl-import'),
        ...this.debugger.inspector.querySelectorAll<HTMLButtonElement>('.ag-preview, .ag-explore-run'),
      ],
      stateReadOnly: (reason) => this.debugger.stateEditor.refuse(reason),
    })
    const side = h('aside.side-panel', null, this.debugger.inspector)
    this.switcher = new NotebookSwitcher(this.topBar.notebookButton)
    this.element = h('div.app', null,
      this.topBar.element,
      this.banner.element,
      h('div.workspace', null,
        h('div.notebook-scroll', null, this.notebook.element),
        side,
      ),
      this.debugger.timelineElement,
      this.dock.element,
      new ShortcutsOverlay().element,
      this.switcher.element,
    )
    // Each pane resizes whatever panel is in it (the inspector's tabs, the timeline's tracks, the terminals).
    this.panes = new Panes(this.element)
    const roomFor = (taken: number) => Math.max(120, window.innerHeight - taken)
    this.panes.add({ name: 'side', host: side, edge: 'left', sized: () => side, label: 'side panel', min: 220, max: () => Math.max(220, window.innerWidth - 360) })
    this.panes.add({ name: 'timeline', host: this.debugger.timelineElement, edge: 'top', sized: () => this.debugger.timelineElement.querySelector('.tl-body'), label: 'timeline', min: 60, max: () => roomFor(360) })
    this.panes.add({ name: 'dock', host: this.dock.element, edge: 'top', sized: () => this.dock.element, label: 'terminal', min: 70, max: () => roomFor(300) })
    window.addEventListener('keydown', (e) => this.shortcut(e), { capture: true })
    // The desktop app's File › Save comes here, so what is still being typed is saved too.
    window.loom?.onMenu?.((command) => command === 'save' && void this.save())
  }

  link(state: LinkState): void {
    this.topBar.setLink(state)
    if (state.state === 'reconnecting') {
      this.banner.show('link', 'warning', 'The connection to the engine was lost. Reconnecting…', state.reason)
      this.topBar.setStatus(null)
    } else if (state.state === 'open') this.banner.hide('link')
  }

  /** The engine would not let this page in (its hello was refused): say why; nothing else can be shown. */
  refused(message: string): void {
    this.topBar.setLink({ state: 'refused', reason: message })
    this.banner.show('link', 'error', 'The engine refused this page.', message)
  }

  /** A new connection: subscribe, then show everything it says. */
  async open(client: EngineClient, hello: Hello): Promise<void> {
    for (const off of this.unsubscribe) off()
    // Another notebook was opened in this window (here or from another page of it): start again on it.
    if (this.nb && hello.notebook.path !== this.nb.path) return location.reload()
    this.client = client
    this.switcher.attach(client)
    this.switcher.refuse(hello.share ? 'A shared session keeps its notebook: only loom serve, without --share, opens another' : null)
    this.owns = !hello.share || hello.share.role === 'owner'
    this.allowance.attach(client, this.owns)
    this.notebook.attach(client)
    this.dock.attach(client)
    this.questions.attach(client)
    const pending: EventRecord[] = []
    let historyLoaded = false
    this.unsubscribe = [
      client.on('status', ({ status }) => this.setStatus(status)),
      client.on('notebook', ({ notebook }) => this.showNotebook(notebook)),
      // Before the history is loaded, what was skipped is read from the log anyway.
      client.on('events', ({ events, skipped }) => (historyLoaded ? this.onEvents(events, skipped) : pending.push(...events))),
      client.on('attempt', ({ attempt }) => (this.notebook.showAttempt(attempt), this.debugger.attempt(attempt))),
      client.on('test', ({ failure }) => (this.notebook.showTestFailure(failure), this.debugger.testFailed(failure))),
      client.on('branches', ({ branches }) => this.debugger.setBranches(branches)),
      client.on('progress', (n) => this.debugger.onProgress(n)),
      client.on('engineCrashed', ({ reason }) => this.crashed(reason)),
    ]
    const first = this.nb === null
    this.sharing.open(hello)
    this.showNotebook(hello.notebook)
    this.topBar.setApp(hello.app)
    this.setStatus(hello.status)
    if (first) this.topBar.setDirty(false)
    // The cells first: the timeline, the state and the terminal's history load once the editors are on screen.
    if (first) await painted()
    void this.dock.load()
    await this.debugger.open(client, hello.status)
    await this.loadHistory(client, hello.status)
    historyLoaded = true
    this.onEvents(pending.filter((e) => e.seq > this.ttySeq))
    this.refreshState()
    // A failure after the head is the app's present: its cell says so, whether this engine saw it (attempts) or an earlier one (kept in the log).
    for (const f of this.debugger.keptAfter(hello.status.branch, hello.status.head)) this.notebook.showRecordedFailure(f)
    try {
      for (const a of await client.call('attempts', { limit: 50 })) if (a.after === hello.status.head) this.notebook.showAttempt(a)
    } catch {
      // attempts are a nicety; the app works without them
    }
  }

  private async loadHistory(client: EngineClient, status: StatusView): Promise<void> {
    if (status.head <= this.ttySeq || status.head === 0) return
    const from = Math.max(this.ttySeq + 1, status.head - TTY_HISTORY + 1)
    try {
      const page = await client.call('log', { from, limit: TTY_HISTORY })
      this.onEvents(page.events)
    } catch (err) {
      this.dock.note(`could not read the log: ${(err as Error).message}`)
    }
  }

  /** Not every event comes: a window that falls behind gets the last few of a burst and what was `skipped`. */
  private onEvents(events: EventRecord[], skipped: SkippedEvents[] = []): void {
    const missed = skipped.filter((s) => s.to > this.ttySeq)
    if (!missed.length) this.skipping = false
    else if (!this.skipping) {
      this.skipping = true
      const count = missed.reduce((n, s) => n + s.count, 0)
      this.dock.note(`the output of ${plural('event', count)} is not shown live: the app ran faster than this window could follow (they are in the log: scrub the timeline)`)
    }
    let codeChanged = false
    for (const e of events) {
      if (e.seq <= this.ttySeq) continue
      this.ttySeq = e.seq
      if (e.outputs.tty) this.dock.output(e.outputs.tty)
      if (e.kind === 'code') codeChanged = true
    }
    // The top bar's head moves with the same stream as the timeline (status notices come only when the run state changes).
    for (const e of events) this.topBar.advance(e.branch, e.seq)
    for (const s of missed) this.topBar.advance(s.branch, s.to)
    this.eventList.add(events, missed)
    this.debugger.addEvents(events, missed)
    if (codeChanged) this.notebook.clearRuntimeProblems()
    if (events.length) this.refreshState()
  }

  private setStatus(status: StatusView): void {
    const restarted = status.restarted && status.restarted !== this.status?.restarted
    this.status = status
    this.topBar.setStatus(status)
    this.notebook.setCannotRun(whyCannotRun(status))
    this.debugger.setStatus(status)
    this.allowance.status(status)
    if (restarted) {
      this.banner.show('crash', 'warning', 'The engine stopped unexpectedly and was restarted; the log is intact.', status.restarted)
      void this.reload()
    } else if (!status.restarted) this.banner.hide('crash')
  }

  private crashed(reason: string): void {
    this.banner.show('crash', 'error', 'The engine stopped unexpectedly. Restarting it…', reason)
    this.dock.note(`engine stopped: ${reason}; restarting`)
    this.topBar.setStatus(null)
  }

  /** After an engine restart: the notebook, the run state and the state as the new engine has them. */
  private async reload(): Promise<void> {
    const client = this.client
    if (!client) return
    try {
      this.showNotebook(await client.call('notebook', {}))
      this.setStatus(await client.call('status', {}))
      this.refreshState()
    } catch (err) {
      this.banner.toast(`Could not reload after the restart: ${(err as Error).message}`, 'error')
    }
  }

  private showNotebook(nb: Notebook): void {
    this.nb = nb
    this.panes.restore(nb.path)
    this.topBar.setNotebook(nb.path, nb.text)
    this.topBar.setSaveEnabled(!nb.parseError)
    this.notebook.render(nb)
    if (nb.parseError) this.topBar.setStatus(null)
    this.offerUnsaved(nb)
  }

  /**
   * Code the app ran before Loom stopped that was never saved to the file: offered back, not lost in silence.
   * To the owner only (the file is theirs); in a shared session the restored cells reach the shared document
   * as any change made through the engine does (ShareHost), so every guest sees them.
   */
  private offerUnsaved(nb: Notebook): void {
    const unsaved = nb.unsaved
    if (!unsaved || !this.owns) return this.banner.hide('unsaved')
    this.banner.show('unsaved', 'warning', `The app last ran code this file does not have (event ${unsaved.event}): edits not saved before Loom stopped?`,
      "The file's code runs now. Restore puts that code back into the cells (not saved until you save), and the app runs it.",
      { label: 'Restore', title: `Put the cells of event ${unsaved.event}'s code back`, run: () => void this.restore(unsaved.text) })
  }

  private async restore(text: string): Promise<void> {
    if (!this.client) return
    try {
      const r = await this.client.call('editNotebook', { text })
      this.topBar.setDirty(true)
      if (!r.ok) this.banner.toast(`Restored, but not running: ${r.problems.map((p) => p.message).join('; ')}`, 'warning')
    } catch (err) {
      this.banner.toast(`Could not restore it: ${(err as Error).message}`, 'error')
    }
  }

  /** The state at the selected moment (the head while the timeline is live) for the state editor and the cells. */
  private refreshState(): void {
    if (!this.client || this.nb?.parseError) return
    this.debugger.refresh()
  }

  private async runPause(): Promise<void> {
    if (!this.client || !this.status) return
    try {
      this.setStatus(await this.client.call(this.topBar.running ? 'pause' : 'run', {}))
    } catch (err) {
      this.banner.toast((err as Error).message, 'error')
    }
  }

  private async step(): Promise<void> {
    if (!this.client || !this.status) return
    try {
      const { event, status } = await this.client.call('step', {})
      this.setStatus(status)
      if (!event) this.banner.toast(status.waiting ? `Nothing to step: ${status.waiting}` : 'Nothing to step: the app is waiting', 'info')
    } catch (err) {
      this.banner.toast((err as Error).message, 'error')
    }
  }

  /** `overwrite`: the person chose to replace a file that changed on disk since Loom read or saved it. */
  private async save(overwrite = false): Promise<void> {
    if (!this.client) return
    if (this.nb?.parseError) return this.banner.toast('This notebook does not parse; it is not saved, so the file keeps what you wrote.', 'error')
    try {
      await this.notebook.flush()
      const { path, bytes } = await this.client.call('save', overwrite ? { overwrite } : {})
      this.banner.hide('disk')
      this.topBar.setDirty(false)
      this.allowance.saved()
      this.banner.toast(`Saved ${path.split(/[\\/]/).pop()} (${bytes.toLocaleString()} bytes)`, 'done')
    } catch (err) {
      // Someone else's change to the file is not thrown away unseen: it stays until the person chooses to replace it.
      if (err instanceof ProtocolError && err.code === 'changedOnDisk') {
        return this.banner.show('disk', 'warning', 'Not saved: the file changed on disk.', err.message,
          { label: 'Save anyway', title: 'Replace the file on disk with this notebook', run: () => void this.save(true) })
      }
      this.banner.toast(`Not saved: ${(err as Error).message}`, 'error')
    }
  }

  /** Save, Run/Pause and Step: also while typing in a cell (the shortcuts table, renderer/shell/shortcuts.ts, lists them). */
  private shortcut(e: KeyboardEvent): void {
    const id = shortcutOf(e, ['save', 'runPause', 'step'])
    if (!id) return
    e.preventDefault()
    e.stopPropagation()
    if (id === 'save') void this.save()
    else if (id === 'runPause') void this.runPause()
    else void this.step()
  }
}

/** Resolves after the next frame is drawn (or after 100 ms where frames are not drawn, as in a hidden tab). */
function painted(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve()
    requestAnimationFrame(() => setTimeout(done, 0))
    setTimeout(done, 100)
  })
}
