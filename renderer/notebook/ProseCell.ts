// A prose block: rendered markdown; click it to edit the markdown in place,
// and the change is saved into the notebook when you leave the editor.
// In a shared session the block is the shared document's text: what you
// type reaches the others as you type it, and theirs shows here.
import type { CellView } from '../../engine/protocol/messages.ts'
import type * as Y from 'yjs'
import { h } from '../dom.ts'
import { setText } from '../share/sharedCells.ts'
import { renderMarkdown } from './markdown.ts'

export interface ProseHost {
  edit(cell: string, source: string): Promise<void>
}

/** A prose block of a shared session: its text, and why it is read-only (null: you may edit). */
export interface SharedProse {
  text: Y.Text
  readOnly: string | null
}

export class ProseCell {
  readonly element: HTMLElement
  readonly kind = 'prose'
  private source: string
  private readonly rendered: HTMLElement
  private editor: HTMLTextAreaElement | null = null
  private readonly observer: ((e: Y.YTextEvent, tr: Y.Transaction) => void) | null = null

  constructor(readonly id: string, view: CellView, private readonly host: ProseHost, private readonly shared: SharedProse | null = null) {
    this.source = shared ? shared.text.toString() : view.source
    this.rendered = h('div.prose-rendered.markdown', { title: shared?.readOnly ? '' : 'Click to edit', tabindex: 0 })
    this.rendered.addEventListener('click', (e) => {
      if ((e.target as Element).closest('a')) return // following a link is not editing
      this.startEditing()
    })
    this.rendered.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault()
        this.startEditing()
      }
    })
    this.element = h('div.cell.prose-cell', { 'data-cell': id }, this.rendered)
    if (shared) {
      this.observer = (e, tr) => this.remoteChange(e, tr)
      shared.text.observe(this.observer)
    }
    this.render()
  }

  /** A new source from the engine; ignored while the user is editing this block (and when the shared document is the source). */
  update(view: CellView): void {
    if (this.shared || this.editor || view.source === this.source) return
    this.source = view.source
    this.render()
  }

  startEditing(): void {
    if (this.editor || this.shared?.readOnly) return
    const editor = h('textarea.prose-editor', { spellcheck: true, 'aria-label': `Edit text ${this.id}` })
    editor.value = this.source
    const fit = () => {
      editor.style.height = 'auto'
      editor.style.height = `${editor.scrollHeight + 2}px`
    }
    editor.addEventListener('input', fit)
    // Shared: every keystroke goes into the document, so the others see it as it is typed.
    if (this.shared) editor.addEventListener('input', () => setText(this.shared!.text, editor.value))
    editor.addEventListener('blur', () => void this.finish(true))
    editor.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault()
        // Shared text is already everyone's: Escape just stops editing.
        void this.finish(!!this.shared)
      } else if (e.key === 'Enter' && (e.shiftKey || e.ctrlKey || e.metaKey)) {
        e.preventDefault()
        void this.finish(true)
      }
    })
    this.editor = editor
    this.element.classList.add('editing')
    this.rendered.replaceWith(editor)
    fit()
    editor.focus()
  }

  /** Someone else changed the shared text: show it, and keep a caret in the textarea where it was in the words around it. */
  private remoteChange(e: Y.YTextEvent, tr: Y.Transaction): void {
    const text = this.shared!.text.toString()
    this.source = text
    const editor = this.editor
    if (!editor) return this.render()
    if (!tr.local || editor.value !== text) {
      // An offset in the old text, in the new: what was inserted before it pushes it on, what was deleted before it pulls it back.
      const move = (at: number) => {
        let old = 0
        let shift = 0
        for (const op of e.delta) {
          if (old > at) break
          if (op.retain !== undefined) old += op.retain
          else if (typeof op.insert === 'string') shift += op.insert.length
          else if (op.delete !== undefined) {
            shift -= Math.min(op.delete, at - old)
            old += op.delete
          }
        }
        return Math.max(0, Math.min(text.length, at + shift))
      }
      const [a, b] = [move(editor.selectionStart), move(editor.selectionEnd)]
      editor.value = text
      editor.setSelectionRange(a, b)
    }
  }

  private async finish(keep: boolean): Promise<void> {
    const editor = this.editor
    if (!editor) return
    this.editor = null
    this.element.classList.remove('editing')
    const text = editor.value
    editor.replaceWith(this.rendered)
    if (this.shared) {
      setText(this.shared.text, text)
      this.source = this.shared.text.toString()
      return this.render()
    }
    if (keep && text !== this.source) {
      this.source = text
      this.render()
      await this.host.edit(this.id, text)
    }
  }

  private render(): void {
    if (this.source.trim()) renderMarkdown(this.rendered, this.source)
    else this.rendered.replaceChildren(h('p.placeholder', null, this.shared?.readOnly ? 'Empty text.' : 'Empty text — click to write.'))
  }

  dispose(): void {
    if (this.observer) this.shared?.text.unobserve(this.observer)
  }
}
