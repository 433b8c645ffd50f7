// The notebook column: prose and code cells in file order, kept in step with
// the engine's notebook. Structural edits (add, move, delete) go to the engine
// and the view follows what it answers, so the file stays the one truth.
// In a shared session the shared document is the truth instead: cells are
// its blocks, edits and structural changes go into it, and the engine's
// notebook only says which states each cell declares.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { Attempt, BranchFailure, CellView, EditResult, NotebookView as Notebook, LoomError, SharedProblem, StateValue, TestFailure } from '../../engine/protocol/messages.ts'
import { loomError } from '../../engine/protocol/loomError.ts'
import type * as Y from 'yjs'
import { fill, h } from '../dom.ts'
import type { ShareSession } from '../share/ShareSession.ts'
import { addCell, cellsOf, deleteCell, moveCell, visibleCells } from '../share/sharedCells.ts'
import { CodeCell } from './CodeCell.ts'
import { ParseErrorView } from './ParseErrorView.ts'
import { ProseCell } from './ProseCell.ts'

type Cell = CodeCell | ProseCell

export interface NotebookEvents {
  /** Something the user should see that is not tied to one cell (a refused request, a failed edit). */
  problem(message: string): void
  /** The log cannot be extended (damaged, or unreadable with events acknowledged): the app does not run while this lasts; null once it is gone. */
  historyProblem(message: string | null): void
  /** An edit reached the engine (the notebook differs from the file until saved). */
  edited(): void
}

export class NotebookView {
  readonly element: HTMLElement
  private readonly list: HTMLElement
  private client: EngineClient | null = null
  private readonly cells = new Map<string, Cell>()
  /** The "add here" strips, by the cell they follow ('' for the top), reused so that a render moves no element needlessly. */
  private readonly adders = new Map<string, HTMLElement>()
  private order: string[] = []
  private parseError: ParseErrorView | null = null
  /** Edits are sent one at a time, in the order they were made. */
  private queue: Promise<unknown> = Promise.resolve()
  private values: Record<string, StateValue> = {}
  private toasted = new Set<string>()
  /** The shared session whose document this view shows, once joined (see `share`). */
  private session: ShareSession | null = null
  /** True from the moment a page knows it is in a shared session until it has the document: the engine's cells are not editable meanwhile. */
  private joining = false
  /** The shared text each cell is bound to (a moved cell is a new block with a new text). */
  private readonly boundText = new Map<string, Y.Text>()
  /** The states each code cell declares, as the engine last said. */
  private declares = new Map<string, string[]>()
  /** Why this page may not change the notebook (a view link), or null. */
  private readOnly: string | null = null
  private unobserve: (() => void) | null = null
  /** Why the app cannot run at all (the top bar's "Cannot run"), or null: each code cell's badge says it. */
  private cannotRun: string | null = null

  constructor(private readonly events: NotebookEvents) {
    this.list = h('div.cells')
    this.element = h('main.notebook', { 'aria-label': 'Notebook' }, this.list)
  }

  attach(client: EngineClient): void {
    this.client = client
  }

  get hasParseError(): boolean {
    return this.parseError !== null
  }

  codeCells(): CodeCell[] {
    return this.order.map((id) => this.cells.get(id)).filter((c): c is CodeCell => c instanceof CodeCell)
  }

  /** The page joins a shared session: until `share` hands over its document, the notebook waits for it. */
  expectShare(): void {
    if (this.session) return
    this.joining = true
    this.clear()
    fill(this.list, h('p.placeholder.share-joining', null, 'Joining the shared notebook…'))
  }

  /** From now on the cells are the shared document's blocks, bound to everyone's edits. */
  share(session: ShareSession, readOnly: string | null): void {
    this.unobserve?.()
    this.clear()
    this.list.replaceChildren()
    this.session = session
    this.joining = false
    this.readOnly = readOnly
    const cells = cellsOf(session.doc)
    const changed = () => this.renderShared()
    cells.observe(changed)
    this.unobserve = () => cells.unobserve(changed)
    this.renderShared()
  }

  /** The engine's status changed whether the app can run at all: every code cell says so, as the top bar does. */
  setCannotRun(reason: string | null): void {
    this.cannotRun = reason
    for (const cell of this.codeCells()) cell.setCannotRun(reason)
  }

  get shared(): boolean {
    return this.session !== null
  }

  /** Shows the engine's notebook, keeping each cell's editor (and what is being typed in it) where the cell is unchanged. */
  render(nb: Notebook): void {
    for (const c of nb.cells) if (c.kind === 'code') this.declares.set(c.id, c.declares ?? [])
    if (this.session || this.joining) {
      // The document holds the cells; the engine says what they declare (and the host's presence, their problems).
      for (const cell of this.codeCells()) cell.update({ id: cell.id, kind: 'code', source: cell.source, declares: this.declares.get(cell.id) ?? [] })
      this.showValues(this.values)
      return
    }
    if (nb.parseError) {
      this.clear()
      this.parseError = new ParseErrorView(nb)
      fill(this.list, this.parseError.element)
      return
    }
    if (this.parseError) {
      this.parseError.dispose()
      this.parseError = null
      this.list.replaceChildren()
    }
    const seen = new Set<string>()
    for (const view of nb.cells) {
      seen.add(view.id)
      const existing = this.cells.get(view.id)
      if (existing && existing.kind === view.kind) existing.update(view)
      else {
        existing?.dispose()
        this.cells.set(view.id, this.make(view))
      }
    }
    for (const [id, cell] of this.cells) {
      if (!seen.has(id)) {
        cell.dispose()
        this.cells.delete(id)
      }
    }
    this.place(nb.cells.map((c) => c.id))
    this.showProblems(nb.problems)
    this.showValues(this.values)
  }

  /** The shared document's blocks as cells: new ones made, gone ones disposed, the rest kept with their editors. */
  private renderShared(): void {
    const session = this.session!
    const blocks = visibleCells(session.doc)
    const seen = new Set<string>()
    for (const b of blocks) {
      seen.add(b.id)
      const existing = this.cells.get(b.id)
      if (existing && existing.kind === b.kind && this.boundText.get(b.id) === b.text) continue
      existing?.dispose()
      const view: CellView = { id: b.id, kind: b.kind, source: b.text.toString(), declares: this.declares.get(b.id) ?? [] }
      const cell = b.kind === 'prose'
        ? new ProseCell(b.id, view, { edit: async () => {} }, { text: b.text, readOnly: this.readOnly })
        : new CodeCell(b.id, view, this.codeHost(), { text: b.text, awareness: session.awareness, readOnly: this.readOnly })
      if (cell instanceof CodeCell) cell.setCannotRun(this.cannotRun)
      this.cells.set(b.id, cell)
      this.boundText.set(b.id, b.text)
    }
    for (const [id, cell] of this.cells) {
      if (!seen.has(id)) {
        cell.dispose()
        this.cells.delete(id)
        this.boundText.delete(id)
      }
    }
    this.place(blocks.map((b) => b.id))
    const host = session.host()
    if (host) this.showProblems(host.problems)
    this.showValues(this.values)
  }

  /** Puts the cells in `order` on the page, with an "add here" strip around each (none for a view guest). */
  private place(order: string[]): void {
    this.order = order
    const adders = this.readOnly === null
    const children: HTMLElement[] = adders ? [this.adder(null)] : []
    for (const id of this.order) children.push(this.cells.get(id)!.element, ...(adders ? [this.adder(id)] : []))
    for (const key of this.adders.keys()) if (key && !this.cells.has(key)) this.adders.delete(key)
    // Re-inserting a Monaco editor's element loses its focus (and its suggestions): move only what moved.
    children.forEach((el, i) => {
      if (this.list.children[i] !== el) this.list.insertBefore(el, this.list.children[i] ?? null)
    })
    while (this.list.children.length > children.length) this.list.lastElementChild!.remove()
  }

  /** Compile problems of the running code, each at its cell and line (in a shared session, with who last changed that line). */
  showProblems(problems: (LoomError & Partial<SharedProblem>)[]): void {
    for (const cell of this.codeCells()) {
      if (cell.pending) continue
      if (problems.length === 0) cell.markApplied()
      else cell.setCompileProblems(problems.filter((p) => p.where?.cell === cell.id))
    }
    // A log the app cannot run on is said for as long as it lasts: a toast would fade and leave what looks like an empty, ready app.
    this.events.historyProblem(problems.find((p) => p.code === 'history')?.message ?? null)
    // Other problems no cell can show (a duplicate state across cells) go to a toast, once each.
    const homeless = problems.filter((p) => p.code !== 'history' && (!p.where?.cell || !this.cells.has(p.where.cell))).map((p) => p.message)
    for (const message of homeless) if (!this.toasted.has(message)) this.events.problem(message)
    this.toasted = new Set(homeless)
  }

  /** A transaction that failed with an exception (an abort that waits is not an error). */
  showAttempt(a: Attempt): void {
    if (a.aborted || !a.location) return
    this.cellProblem('runtime', a.reason, a.location.cell, a.location.line)
  }

  showTestFailure(f: TestFailure): void {
    if (!f.location) return this.events.problem(`test '${f.test}' failed after event ${f.seq}: ${f.message}`)
    this.cellProblem('test', `test '${f.test}' failed after event ${f.seq}: ${f.message}`, f.location.cell, f.location.line, f.seq)
  }

  /** A failure the log kept after the event the window opened at: its cell says so, as when it happened live. */
  showRecordedFailure(f: BranchFailure): void {
    if (f.kind === 'test') this.showTestFailure({ test: f.name, seq: f.seq, message: f.message, location: f.cell ? { cell: f.cell, line: f.line ?? 0, fileLine: 0 } : null, saw: {} })
    else if (f.cell) this.cellProblem('runtime', f.message, f.cell, f.line ?? 0)
  }

  private cellProblem(code: 'runtime' | 'test', message: string, cellId: string, line: number, event?: number): void {
    const cell = this.cells.get(cellId)
    if (cell instanceof CodeCell) cell.setRuntimeProblem(loomError(code, message, { cell: cellId, line, ...(event === undefined ? {} : { event }) }))
  }

  /** New code is running, or a method committed: last errors no longer describe the app. */
  clearRuntimeProblems(): void {
    for (const cell of this.codeCells()) if (cell.hasRuntimeProblem) cell.setRuntimeProblem(null)
  }

  showValues(values: Record<string, StateValue>): void {
    this.values = values
    for (const cell of this.codeCells()) cell.showValues(values)
  }

  /** Sends every edit still waiting for a pause in typing, and waits for all edits to be answered. */
  async flush(): Promise<void> {
    await Promise.all(this.codeCells().filter((c) => c.pending).map((c) => c.apply()))
    await this.queue
  }

  private make(view: CellView): Cell {
    if (view.kind === 'prose') return new ProseCell(view.id, view, { edit: async (cell, source) => void (await this.edit(cell, source)) })
    const cell = new CodeCell(view.id, view, this.codeHost())
    cell.setCannotRun(this.cannotRun)
    return cell
  }

  private codeHost() {
    return {
      edit: (cell: string, source: string) => this.edit(cell, source),
      move: (cell: string, by: -1 | 1) => void this.move(cell, by),
      remove: (cell: string) => {
        if (this.session) deleteCell(this.session.doc, cell)
        else void this.structural((c) => c.call('deleteCell', { cell }))
      },
    }
  }

  private edit(cell: string, source: string): Promise<EditResult | null> {
    const client = this.client
    const run = async (): Promise<EditResult | null> => {
      if (!client) return null
      try {
        const result = await client.call('editCell', { cell, source })
        this.events.edited()
        if (result.ok) for (const c of this.codeCells()) if (c.id !== cell && !c.pending) c.markApplied()
        return result
      } catch (err) {
        this.events.problem(`The edit of #${cell} was not applied: ${(err as Error).message}`)
        return null
      }
    }
    const next = this.queue.then(run, run)
    this.queue = next
    return next
  }

  private async move(cell: string, by: -1 | 1): Promise<void> {
    if (this.session) return moveCell(this.session.doc, cell, by)
    const at = this.order.indexOf(cell)
    const to = at + by
    if (at < 0 || to < 0 || to >= this.order.length) return
    await this.structural((c) => c.call('moveCell', { cell, to }))
  }

  private async add(after: string | null, kind: 'code' | 'prose'): Promise<void> {
    if (this.session) {
      const id = addCell(this.session.doc, after, kind)
      const cell = this.cells.get(id)
      if (cell instanceof ProseCell) cell.startEditing()
      else cell?.focus()
      return
    }
    const result = await this.structural((c) => c.call('addCell', { after, kind, source: '' }))
    if (!result?.cell) return
    const cell = this.cells.get(result.cell)
    if (cell instanceof ProseCell) cell.startEditing()
    else cell?.focus()
  }

  private async structural(request: (client: EngineClient) => Promise<EditResult & { cell?: string }>): Promise<(EditResult & { cell?: string }) | null> {
    const client = this.client
    if (!client) return null
    await this.flush()
    try {
      const result = await request(client)
      this.events.edited()
      if (!result.ok) this.events.problem(result.problems.map((p) => p.message).join('\n'))
      this.render(await client.call('notebook', {}))
      return result
    } catch (err) {
      this.events.problem((err as Error).message)
      return null
    }
  }

  /** The "+ Code / + Text" strip between cells. */
  private adder(after: string | null): HTMLElement {
    const existing = this.adders.get(after ?? '')
    if (existing) return existing
    const strip = h('div.adder', null,
      h('button.adder-button', { type: 'button', title: 'Add a code cell here', onclick: () => void this.add(after, 'code') }, h('span.codicon.codicon-add'), 'Code'),
      h('button.adder-button', { type: 'button', title: 'Add text here', onclick: () => void this.add(after, 'prose') }, h('span.codicon.codicon-add'), 'Text'),
    )
    this.adders.set(after ?? '', strip)
    return strip
  }

  private clear(): void {
    for (const cell of this.cells.values()) cell.dispose()
    this.cells.clear()
    this.boundText.clear()
    this.adders.clear()
    this.order = []
  }
}
