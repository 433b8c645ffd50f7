// The most recent events of the live branch, newest first: what each
// transaction was and what it did, in one line. The d3 timeline of every
// branch will take this place; until then this is the history at a glance.
import type { EventRecord } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'

/** How many events the list keeps. */
const KEEP = 200

export class EventList {
  readonly element: HTMLElement
  private readonly list: HTMLElement
  private readonly count: HTMLElement
  private last = 0

  constructor() {
    this.list = h('ol.event-list', { reversed: true })
    this.count = h('span.panel-sub', null, '')
    this.element = h('section.panel-section.events-section', { 'aria-label': 'Events' },
      h('div.panel-head', null, h('span.panel-title', null, 'Events'), this.count),
      h('div.panel-scroll', null, this.list),
    )
  }

  add(events: EventRecord[]): void {
    for (const e of events) {
      if (e.seq <= this.last) continue
      this.last = e.seq
      this.list.prepend(row(e))
    }
    while (this.list.children.length > KEEP) this.list.lastElementChild!.remove()
    this.count.textContent = this.last ? `${this.last} on ${events[0]?.branch ?? 'main'}` : ''
  }
}

function row(e: EventRecord): HTMLElement {
  return h('li.event', { 'data-seq': e.seq, 'data-kind': e.kind, title: `event ${e.seq}: ${e.kind}${e.method ? ` ${e.method}()` : ''}\n${e.hash}` },
    h('span.event-seq', null, String(e.seq)),
    h('span.event-kind', null, e.kind),
    h('span.event-what', null, summary(e)),
  )
}

function summary(e: EventRecord): string {
  if (e.kind === 'code') return `new code ${e.codeHash.slice(0, 7)}`
  if (e.outputs.halt) return 'halted the app'
  const tty = e.outputs.tty?.split('\n').find((l) => l.trim())
  if (tty) return tty
  const log = e.outputs.logs?.[0]
  if (log) return `${log.channel}: ${typeof log.message === 'string' ? log.message : JSON.stringify(log.message)}`
  const written = [...new Set(e.writes.map((w) => ('key' in w && w.key !== undefined ? `${w.state}.${w.key}` : w.state)))]
  return written.length ? `wrote ${written.join(', ')}` : 'no change'
}
