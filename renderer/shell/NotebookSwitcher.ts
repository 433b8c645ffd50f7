// Open another notebook in this window: click the notebook's name in the top
// bar for a path field and the notebooks opened last. The host opens it
// (only for the owner, never in a shared session: it checks, the page only
// says so); once it has, this page and every other page of the session
// reload onto the new notebook. A path the host refuses is shown here, and
// the notebook open now stays open.
import type { EngineClient } from '../../engine/protocol/client.ts'
import { h } from '../dom.ts'
import { shortcutOf } from './shortcuts.ts'

export class NotebookSwitcher {
  readonly element: HTMLElement
  private readonly input: HTMLInputElement
  private readonly error: HTMLElement
  private readonly list: HTMLElement
  private readonly openButton: HTMLButtonElement
  private client: EngineClient | null = null
  private refused: string | null = null

  constructor(private readonly anchor: HTMLButtonElement) {
    this.input = h('input.switcher-path', { type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'path/to/notebook.loom.md (absolute, or beside this one)', 'aria-label': 'Path of the notebook to open' }) as HTMLInputElement
    this.openButton = h('button.tb-button.switcher-open', { type: 'submit' }, 'Open') as HTMLButtonElement
    this.error = h('p.switcher-error', { role: 'alert', hidden: true })
    this.list = h('ul.switcher-recent', { 'aria-label': 'Recent notebooks' })
    const form = h('form', null, this.input, this.openButton)
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.open(this.input.value)
    })
    this.element = h('div.switcher', { hidden: true, role: 'dialog', 'aria-label': 'Open a notebook' }, form, this.error, h('div.switcher-title', null, 'Recent'), this.list)
    window.addEventListener('keydown', (e) => {
      if (!this.element.hidden && shortcutOf(e, ['close'])) {
        e.preventDefault()
        e.stopPropagation()
        this.hide()
      }
    })
    anchor.addEventListener('click', () => (this.element.hidden ? void this.show() : this.hide()))
    document.addEventListener('mousedown', (e) => {
      if (!this.element.hidden && !this.element.contains(e.target as Node) && !anchor.contains(e.target as Node)) this.hide()
    })
  }

  attach(client: EngineClient): void {
    this.client = client
  }

  /** null: this page may switch; otherwise why not (shown on the name, and the name opens nothing). */
  refuse(reason: string | null): void {
    this.refused = reason
    this.anchor.disabled = reason !== null
    this.anchor.title = reason ?? 'Open another notebook in this window'
    if (reason) this.hide()
  }

  async show(): Promise<void> {
    if (this.refused || !this.client) return
    this.element.hidden = false
    this.error.hidden = true
    this.input.focus()
    try {
      const { current, recent } = await this.client.call('recentNotebooks', {})
      const others = recent.filter((r) => r.path !== current)
      this.list.replaceChildren(...(others.length
        ? others.map((r) => h('li', null, h('button', { type: 'button', title: r.path, onclick: () => void this.open(r.path) },
          h('span.recent-name', null, r.path.split(/[\\/]/).pop() ?? r.path), h('span.recent-path', null, r.path))))
        : [h('li.switcher-empty', null, 'No other notebook opened lately')]))
    } catch (err) {
      this.list.replaceChildren(h('li.switcher-empty', null, `The recent notebooks could not be read: ${(err as Error).message}`))
    }
  }

  hide(): void {
    this.element.hidden = true
  }

  private async open(path: string): Promise<void> {
    if (!this.client) return
    this.error.hidden = true
    this.openButton.disabled = true
    try {
      const { elsewhere } = await this.client.call('openNotebook', { path: path.trim() })
      // The desktop app opens it in a window of its own; loom serve has switched and disconnects every page.
      if (elsewhere) {
        this.openButton.disabled = false
        return this.hide()
      }
      location.reload()
    } catch (err) {
      this.error.textContent = (err as Error).message
      this.error.hidden = false
      this.openButton.disabled = false
    }
  }
}
