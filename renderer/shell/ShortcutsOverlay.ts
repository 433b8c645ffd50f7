// `?`: the list of every key the window knows, read from the shortcuts table
// the handlers use (shortcuts.ts). Esc, a click outside or `?` again closes it.
import { h } from '../dom.ts'
import { keyLabel, SHORTCUTS, shortcutOf, typing, type Shortcut } from './shortcuts.ts'

export class ShortcutsOverlay {
  readonly element: HTMLElement
  private opener: Element | null = null

  constructor() {
    const groups = new Map<string, Shortcut[]>()
    for (const s of SHORTCUTS) groups.set(s.group, [...(groups.get(s.group) ?? []), s])
    const close = h('button.icon-button', { type: 'button', title: 'Close (Esc)', 'aria-label': 'Close', onclick: () => this.close() }, h('span.codicon.codicon-close'))
    const card = h('div.overlay-card', { role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Keyboard shortcuts', tabindex: '-1' },
      h('div.overlay-head', null, h('span.overlay-title', null, 'Keyboard shortcuts'), h('span.tb-spacer'), close),
      ...[...groups].flatMap(([group, list]) => [
        h('div.shortcut-group', null, group),
        ...list.map((s) => h('div.shortcut-row', { 'data-shortcut': s.id },
          h('span.shortcut-keys', null, ...s.keys.map((k) => h('kbd', null, keyLabel(k)))),
          h('span.shortcut-what', null, s.what))),
      ]),
    )
    this.element = h('div.overlay.shortcuts-overlay', { hidden: true }, card)
    this.element.addEventListener('mousedown', (e) => e.target === this.element && this.close())
    window.addEventListener('keydown', (e) => this.key(e), { capture: true })
  }

  get open(): boolean {
    return !this.element.hidden
  }

  show(): void {
    this.opener = document.activeElement
    this.element.hidden = false
    this.element.querySelector<HTMLElement>('.overlay-card')?.focus()
  }

  close(): void {
    if (this.element.hidden) return
    this.element.hidden = true
    if (this.opener instanceof HTMLElement) this.opener.focus()
  }

  private key(e: KeyboardEvent): void {
    const id = shortcutOf(e, ['shortcuts', 'close'])
    if (this.open && id) {
      e.preventDefault()
      e.stopPropagation()
      this.close()
    } else if (this.open) {
      // While the list is open, its keys are not the window's (F would fork behind it).
      if (e.key !== 'Tab') e.stopPropagation()
    } else if (id === 'shortcuts' && !typing(e)) {
      e.preventDefault()
      e.stopPropagation()
      this.show()
    }
  }
}
