// The app's state at the selected moment (right-hand panel). For now the
// moment is the live head and the view a read-only tree; the projectional
// editor (typed editors, `edit` transactions) will replace the tree here.
import type { StateValue } from '../../engine/protocol/messages.ts'
import { fill, h } from '../dom.ts'
import { jsonTree } from './jsonTree.ts'

export class StatePanel {
  readonly element: HTMLElement
  private readonly body: HTMLElement
  private readonly moment: HTMLElement
  private readonly open = new Set<string>()

  constructor() {
    this.moment = h('span.panel-sub', null, '')
    this.body = h('div.state-body', null, h('div.empty', null, 'No state yet.'))
    this.element = h('section.panel-section.state-section', { 'aria-label': 'State' },
      h('div.panel-head', null, h('span.panel-title', null, 'State'), this.moment),
      h('div.panel-scroll', null, this.body),
    )
  }

  show(at: number, branch: string, values: Record<string, StateValue>): void {
    this.moment.textContent = `${branch} · event ${at}${at ? '' : ' (start)'}`
    const names = Object.keys(values).sort()
    if (!names.length) return fill(this.body, h('div.empty', null, 'The app declares no state.'))
    fill(this.body, ...names.map((name) => {
      const { kind, value } = values[name]!
      if (!this.open.has(`init:${name}`)) {
        this.open.add(`init:${name}`)
        this.open.add(name)
      }
      const label = h('span.jt-key.state-name', null, name, h('span.kind', null, kind))
      return h('div.state-entry', { 'data-state': name }, jsonTree(value, name, this.open, label))
    }))
  }
}
