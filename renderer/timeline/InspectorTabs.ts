// The inspector's tabs beside the notebook (State, Event, Agent, Questions,
// and those added later: Profile, Diff, the Recent events list): one shown at
// a time, each told when it is chosen.
import { h } from '../dom.ts'

interface Tab {
  button: HTMLElement
  pane: HTMLElement
  shown?: () => void
}

export class InspectorTabs {
  /** The inspector: the tab strip, then the panes. */
  readonly element: HTMLElement
  private readonly strip: HTMLElement
  private readonly tabs = new Map<string, Tab>()

  constructor() {
    this.strip = h('div.insp-tabs', { role: 'tablist' })
    this.element = h('section.inspector', { 'aria-label': 'Inspector' }, this.strip)
  }

  /** A tab showing `element`; `shown` runs each time it is chosen; `before`: the tab it goes in front of, where there is one. */
  add(name: string, title: string, element: HTMLElement, shown?: () => void, before?: string): void {
    const t: Tab = {
      button: h('button.insp-tab', { type: 'button', role: 'tab', 'data-tab': name, onclick: () => this.select(name) }, title),
      pane: h('div.insp-pane.panel-scroll', { 'data-tab': name, role: 'tabpanel', hidden: true }, element),
      shown,
    }
    this.tabs.set(name, t)
    this.strip.insertBefore(t.button, (before && this.tabs.get(before)?.button) || null)
    this.element.append(t.pane)
  }

  select(tab: string): void {
    for (const [name, t] of this.tabs) {
      const on = name === tab
      t.button.classList.toggle('active', on)
      t.button.setAttribute('aria-selected', String(on))
      t.pane.hidden = !on
      // A tab chosen by a key (E) may be scrolled out of a narrow tab strip.
      if (on) t.button.scrollIntoView?.({ block: 'nearest', inline: 'nearest' })
    }
    this.tabs.get(tab)?.shown?.()
  }

  /** Whether tab `name` is the one shown. */
  showing(name: string): boolean {
    return this.tabs.get(name)?.pane.hidden === false
  }
}
