// Messages that are not tied to a cell: banners that stay while their cause
// lasts (a lost connection, a crashed engine) and toasts that fade.
import { h } from './dom.ts'

/** done: something asked for happened (a check); info: a note (nothing to do, who you follow). */
type Tone = 'done' | 'info' | 'warning' | 'error'

export class Banner {
  readonly element: HTMLElement
  private readonly toasts: HTMLElement
  private readonly shown = new Map<string, HTMLElement>()

  constructor() {
    this.toasts = h('div.toasts', { 'aria-live': 'polite' })
    this.element = h('div.banners', null, this.toasts)
  }

  /** `action`: a button that does what the banner asks for (it stays until its cause is gone). */
  show(key: string, tone: Tone, message: string, detail?: string, action?: { label: string; title: string; run: () => void }): void {
    const el = h(`div.banner.${tone}`, { role: 'alert', 'data-banner': key },
      h(`span.codicon.codicon-${tone === 'done' ? 'check' : tone}`),
      h('span.banner-text', null, message),
      detail ? h('span.banner-detail', null, detail) : null,
      action ? h('button.se-btn.banner-action', { type: 'button', title: action.title, onclick: action.run }, action.label) : null,
      h('button.icon-button.banner-close', { type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss', onclick: () => this.hide(key) }, h('span.codicon.codicon-close')),
    )
    const old = this.shown.get(key)
    if (old) old.replaceWith(el)
    else this.element.insertBefore(el, this.toasts)
    this.shown.set(key, el)
  }

  hide(key: string): void {
    this.shown.get(key)?.remove()
    this.shown.delete(key)
  }

  toast(message: string, tone: Tone): void {
    const el = h(`div.toast.${tone}`, { role: tone === 'error' ? 'alert' : 'status' }, h(`span.codicon.codicon-${tone === 'done' ? 'check' : tone}`), h('span.toast-text', null, message))
    this.toasts.append(el)
    // A warning or an error is read, not glanced at: it stays longer than a confirmation.
    const stay = tone === 'done' || tone === 'info' ? 3000 : 8000
    setTimeout(() => el.classList.add('leaving'), stay)
    setTimeout(() => el.remove(), stay + 400)
  }
}
