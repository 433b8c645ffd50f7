// A prose block: rendered markdown; click it to edit the markdown in place,
// and the change is saved into the notebook when you leave the editor.
import type { CellView } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import { renderMarkdown } from './markdown.ts'

export interface ProseHost {
  edit(cell: string, source: string): Promise<void>
}

export class ProseCell {
  readonly element: HTMLElement
  readonly kind = 'prose'
  private source: string
  private readonly rendered: HTMLElement
  private editor: HTMLTextAreaElement | null = null

  constructor(readonly id: string, view: CellView, private readonly host: ProseHost) {
    this.source = view.source
    this.rendered = h('div.prose-rendered.markdown', { title: 'Click to edit', tabindex: 0 })
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
    this.render()
  }

  /** A new source from the engine; ignored while the user is editing this block. */
  update(view: CellView): void {
    if (this.editor || view.source === this.source) return
    this.source = view.source
    this.render()
  }

  startEditing(): void {
    if (this.editor) return
    const editor = h('textarea.prose-editor', { spellcheck: true, 'aria-label': `Edit text ${this.id}` })
    editor.value = this.source
    const fit = () => {
      editor.style.height = 'auto'
      editor.style.height = `${editor.scrollHeight + 2}px`
    }
    editor.addEventListener('input', fit)
    editor.addEventListener('blur', () => void this.finish(true))
    editor.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault()
        void this.finish(false)
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

  private async finish(keep: boolean): Promise<void> {
    const editor = this.editor
    if (!editor) return
    this.editor = null
    this.element.classList.remove('editing')
    const text = editor.value
    editor.replaceWith(this.rendered)
    if (keep && text !== this.source) {
      this.source = text
      this.render()
      await this.host.edit(this.id, text)
    }
  }

  private render(): void {
    if (this.source.trim()) renderMarkdown(this.rendered, this.source)
    else this.rendered.replaceChildren(h('p.placeholder', null, 'Empty text — click to write.'))
  }

  dispose(): void {}
}
