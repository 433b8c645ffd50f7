// A code cell: its source in Monaco, live-coded into the running app as you
// type (debounced; Shift+Enter applies at once), its problems at their lines,
// and the live value of each state it declares beside the declaration.
// In a shared session the editor is bound to the cell's text in the shared
// document instead (y-monaco), and the host applies what everyone typed.
import type { CellView, EditResult, LoomError, SharedProblem, StateValue } from '../../engine/protocol/messages.ts'
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { MonacoBinding } from 'y-monaco'
import { h } from '../dom.ts'
import { LiveValues } from './LiveValues.ts'
import { forgetCellNames, monaco, monacoTheme, shareCellNames } from './monaco.ts'
import { cellFileName } from '../../engine/protocol/cellTypes.ts'

/** How long typing must pause before an edit is sent to the running app. */
const EDIT_DELAY_MS = 400

export interface CodeHost {
  /** Sends a cell's new source to the engine (in order with every other edit). */
  edit(cell: string, source: string): Promise<EditResult | null>
  move(cell: string, by: -1 | 1): void
  remove(cell: string): void
}

/** A cell of a shared session: its text in the shared document, everyone's presence, and why it is read-only (null: you may edit). */
export interface SharedEditing {
  text: Y.Text
  awareness: Awareness
  readOnly: string | null
}

type CellState = 'live' | 'pending' | 'refused' | 'blocked' | 'failed' | 'cannot' | 'uncompiled'

export class CodeCell {
  readonly element: HTMLElement
  readonly kind = 'code'
  readonly editor: monaco.editor.IStandaloneCodeEditor
  private readonly model: monaco.editor.ITextModel
  private readonly message: HTMLElement
  private readonly badge: HTMLElement
  private readonly live: LiveValues
  private declares: string[]
  private timer: ReturnType<typeof setTimeout> | null = null
  /** The source the engine last accepted or sent: what the running app runs for this cell. */
  private engineSource: string
  /** Set while applying the engine's text to the model, so that it is not sent back as an edit. */
  private applying = false
  private compileProblems: (LoomError & Partial<SharedProblem>)[] = []
  private readonly binding: MonacoBinding | null = null
  private runtimeProblem: LoomError | null = null
  private lastValues: Record<string, StateValue> = {}
  /** The engine refused this cell's last edit (its own problem or another cell's): the app runs older code for it. */
  private unapplied = false
  /** Why the app cannot run at all (the top bar's "Cannot run"), or null: then no code runs, old or new. */
  private cannotRun: string | null = null

  constructor(readonly id: string, view: CellView, private readonly host: CodeHost, private readonly shared: SharedEditing | null = null) {
    if (shared) view = { ...view, source: shared.text.toString() }
    this.engineSource = view.source
    this.declares = view.declares ?? []
    const editorHost = h('div.cell-editor')
    this.message = h('div.cell-message', { hidden: true, role: 'status' })
    this.badge = h('span.cell-badge', null, '')
    const tool = (icon: string, title: string, onclick: () => void) =>
      h('button.icon-button', { type: 'button', title, 'aria-label': title, onclick }, h(`span.codicon.codicon-${icon}`))
    let confirmDelete: ReturnType<typeof setTimeout> | null = null
    const del = tool('trash', 'Delete cell', () => {
      if (confirmDelete) return this.host.remove(this.id)
      del.classList.add('confirm')
      del.title = 'Click again to delete'
      confirmDelete = setTimeout(() => {
        confirmDelete = null
        del.classList.remove('confirm')
        del.title = 'Delete cell'
      }, 2500)
    })
    this.element = h('div.cell.code-cell', { 'data-cell': id },
      h('div.cell-head', null,
        h('span.cell-id', null, `#${id}`),
        this.badge,
        h('span.cell-tools', null,
          // Shared: the host applies what everyone typed after a pause, and ▷ sends this cell's text now; a view guest changes nothing.
          shared?.readOnly ? null : tool('play', 'Apply now (Shift+Enter)', () => void this.apply()),
          shared?.readOnly ? null : tool('arrow-up', 'Move up', () => this.host.move(this.id, -1)),
          shared?.readOnly ? null : tool('arrow-down', 'Move down', () => this.host.move(this.id, 1)),
          shared?.readOnly ? null : del,
        ),
      ),
      editorHost,
      this.message,
    )

    this.model = monaco.editor.createModel(view.source, 'typescript', monaco.Uri.parse(cellFileName(id)))
    this.editor = monaco.editor.create(editorHost, {
      model: this.model,
      theme: monacoTheme(),
      automaticLayout: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      // Long lines wrap, as in Jupyter and marimo: a cell never stays scrolled sideways with the start of every line hidden.
      wordWrap: 'on',
      wrappingIndent: 'indent',
      scrollbar: { vertical: 'hidden', alwaysConsumeMouseWheel: false, horizontalScrollbarSize: 8 },
      overviewRulerLanes: 0,
      hideCursorInOverviewRuler: true,
      glyphMargin: false,
      folding: false,
      lineNumbersMinChars: 3,
      lineDecorationsWidth: 10,
      renderLineHighlight: 'line',
      renderLineHighlightOnlyWhenFocus: true,
      fontFamily: 'ui-monospace, "JetBrains Mono", "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: 13,
      lineHeight: 20,
      tabSize: 2,
      padding: { top: 10, bottom: 10 },
      fixedOverflowWidgets: true,
      stickyScroll: { enabled: false },
      contextmenu: true,
      ariaLabel: `Code cell ${id}`,
      readOnly: !!shared?.readOnly,
      ...(shared?.readOnly ? { readOnlyMessage: { value: shared.readOnly } } : {}),
    })
    if (shared) this.binding = new MonacoBinding(shared.text, this.model, new Set([this.editor]), shared.awareness)
    this.live = new LiveValues(this.editor, this.model)
    const fitHeight = () => {
      editorHost.style.height = `${this.editor.getContentHeight()}px`
    }
    this.editor.onDidContentSizeChange(fitHeight)
    this.editor.onDidLayoutChange(() => this.showValues(this.lastValues))
    fitHeight()
    this.editor.addAction({
      id: 'loom.applyCell',
      label: 'Loom: Apply this cell to the running app now',
      keybindings: [monaco.KeyMod.Shift | monaco.KeyCode.Enter],
      run: () => void this.apply(),
    })
    this.model.onDidChangeContent(() => {
      if (this.applying) return
      this.setBadge('pending')
      if (this.shared) {
        // Anyone's typing, here or elsewhere: the host saves and compiles it, and its presence says how that went.
        shareCellNames(this.id, this.model.getValue())
        this.showValues(this.lastValues)
        return
      }
      shareCellNames(this.id, this.model.getValue())
      if (this.timer) clearTimeout(this.timer)
      this.timer = setTimeout(() => void this.apply(), EDIT_DELAY_MS)
      this.showValues(this.lastValues)
    })
    shareCellNames(this.id, view.source)
    this.setBadge('live')
  }

  get source(): string {
    return this.model.getValue()
  }

  /** True while the editor holds text the engine has not seen yet. */
  get pending(): boolean {
    return this.timer !== null
  }

  /** The engine's view of this cell changed (another window, a reload, an add or move). */
  update(view: CellView): void {
    this.declares = view.declares ?? this.declares
    if (this.pending || this.shared) return
    if (view.source === this.engineSource) {
      // Typed while the engine was out of reach: send it now.
      if (this.model.getValue() !== view.source) void this.apply()
      return
    }
    this.engineSource = view.source
    if (view.source !== this.model.getValue()) {
      this.applying = true
      try {
        this.model.pushEditOperations([], [{ range: this.model.getFullModelRange(), text: view.source }], () => null)
      } finally {
        this.applying = false
      }
      shareCellNames(this.id, view.source)
    }
  }

  /** Sends the current text to the running app now. */
  async apply(): Promise<void> {
    if (this.shared?.readOnly) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const source = this.model.getValue()
    if (source === this.engineSource && this.compileProblems.length === 0) return this.renderBadge()
    this.setBadge('pending')
    const result = await this.host.edit(this.id, source)
    if (!result || this.model.getValue() !== source) return // a later edit is on its way
    if (result.ok) {
      this.engineSource = source
      this.markApplied()
    } else {
      this.unapplied = true
      this.setCompileProblems(result.problems.filter((p) => !p.where?.cell || p.where.cell === this.id), result.waiting)
    }
  }

  setCompileProblems(problems: (LoomError & Partial<SharedProblem>)[], waiting = false): void {
    this.compileProblems = problems
    this.runtimeProblem = problems.length ? null : this.runtimeProblem
    this.renderProblems()
    this.renderBadge(waiting)
  }

  /** The notebook compiled and runs: whatever this cell holds is live now. */
  markApplied(): void {
    this.unapplied = false
    this.compileProblems = []
    this.renderProblems()
    this.renderBadge()
  }

  /** The cell's last runtime error (code 'runtime': an exception; 'test': a failed test), or null to clear it. */
  setRuntimeProblem(problem: LoomError | null): void {
    this.runtimeProblem = problem
    this.renderProblems()
    this.renderBadge()
  }

  /** The app cannot run at all (null: it can): the badge says so instead of "running", with the top bar's reason. */
  setCannotRun(reason: string | null): void {
    if (reason === this.cannotRun) return
    this.cannotRun = reason
    this.renderProblems()
    this.renderBadge()
  }

  get hasRuntimeProblem(): boolean {
    return this.runtimeProblem !== null
  }

  showValues(values: Record<string, StateValue>): void {
    this.lastValues = values
    this.live.show(this.declares, values)
  }


  focus(): void {
    this.editor.focus()
  }

  /** Shows line `line` of the cell (an error's, from event details): the cell scrolled to, the cursor on the line, the line selected. */
  revealLine(line: number): void {
    const n = Math.max(1, Math.min(this.model.getLineCount(), line))
    // The editor is as tall as its text, so it is the notebook that scrolls: the line to the middle of it.
    let scroller = this.element.parentElement
    while (scroller && scroller.scrollHeight <= scroller.clientHeight) scroller = scroller.parentElement
    const lineTop = this.editor.getDomNode()!.getBoundingClientRect().top + this.editor.getTopForLineNumber(n)
    if (scroller) scroller.scrollBy({ top: lineTop - scroller.getBoundingClientRect().top - scroller.clientHeight / 2 })
    this.editor.setSelection({ startLineNumber: n, startColumn: 1, endLineNumber: n, endColumn: this.model.getLineMaxColumn(n) })
    this.editor.focus()
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    forgetCellNames(this.id)
    this.binding?.destroy()
    this.live.dispose()
    this.editor.dispose()
    this.model.dispose()
  }

  private renderProblems(): void {
    const markers: monaco.editor.IMarkerData[] = []
    const lines: HTMLElement[] = []
    const lineCount = this.model.getLineCount()
    const marker = (message: string, line: number | null, severity: monaco.MarkerSeverity) => {
      const l = Math.min(Math.max(line ?? 1, 1), lineCount)
      const first = this.model.getLineFirstNonWhitespaceColumn(l) || 1
      markers.push({ message, severity, startLineNumber: l, endLineNumber: l, startColumn: first, endColumn: this.model.getLineMaxColumn(l) })
    }
    for (const p of this.compileProblems) {
      marker(p.author ? `${p.message} (last edited by ${p.author})` : p.message, p.where?.line ?? null, monaco.MarkerSeverity.Error)
      const who = p.author ? `last edited by ${p.author} — ` : ''
      // With no code running at all there is no last good code to keep running.
      lines.push(problemLine('error', p.where?.line ?? null, p.message, `${who}${this.cannotRun === null ? 'not applied — the app keeps running the last good code' : 'the app cannot run until this is fixed'}`))
    }
    const r = this.runtimeProblem
    if (r) {
      const test = r.code === 'test'
      marker(r.message, r.where?.line ?? null, test ? monaco.MarkerSeverity.Warning : monaco.MarkerSeverity.Error)
      lines.push(problemLine(test ? 'test' : 'error', r.where?.line ?? null, r.message, test ? 'test failed' : 'transaction aborted'))
    }
    monaco.editor.setModelMarkers(this.model, 'loom', markers)
    this.message.replaceChildren(...lines)
    this.message.hidden = lines.length === 0
    const first = this.compileProblems[0]?.where?.line ?? r?.where?.line
    if (first) this.element.dataset.errorLine = String(first)
    else delete this.element.dataset.errorLine
  }

  private renderBadge(waiting = false): void {
    if (this.pending) return
    if (this.compileProblems.length) this.setBadge(waiting ? 'pending' : this.cannotRun === null ? 'refused' : 'uncompiled')
    // Nothing runs, this cell's code included: not "running", nor "not applied" as if older code ran instead.
    else if (this.cannotRun !== null) this.setBadge(this.runtimeProblem ? 'failed' : 'cannot')
    else if (this.unapplied) this.setBadge('blocked')
    else this.setBadge(this.runtimeProblem ? 'failed' : 'live')
  }

  private setBadge(state: CellState): void {
    const text: Record<CellState, string> = { live: 'running', pending: 'editing…', refused: 'not applied', blocked: 'not applied', failed: 'error', cannot: 'cannot run', uncompiled: 'does not compile' }
    const title: Record<CellState, string> = {
      live: 'The running app runs this code',
      pending: 'Waiting for a pause in typing (Shift+Enter applies now)',
      refused: 'The edit has an error; the app keeps running the last good code',
      blocked: 'Another cell has an error; this edit runs once it is fixed',
      failed: 'The last transaction that ran this code failed',
      cannot: `The app cannot run: ${this.cannotRun}`,
      uncompiled: 'This cell does not compile: the app cannot run until it is fixed',
    }
    this.badge.textContent = text[state]
    this.badge.title = title[state]
    this.badge.dataset.state = state
  }
}

function problemLine(kind: 'error' | 'test', line: number | null, message: string, note: string): HTMLElement {
  return h(`div.problem.${kind}`, null,
    h(`span.codicon.codicon-${kind === 'test' ? 'warning' : 'error'}`),
    h('span.problem-where', null, line ? `line ${line}` : ''),
    h('span.problem-text', null, message),
    h('span.problem-note', null, note),
  )
}
