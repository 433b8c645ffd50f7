// The most recent events of the live branch, newest first: what each
// transaction was and what it did, in one line (the inspector's Recent tab).
// A running app sends thousands of events a second: the list is redrawn at
// most ten times a second, and not at all while it is hidden. A window that
// falls behind is sent only the last few events of a burst: a row says how
// many were not shown.
import type { EventRecord, SkippedEvents } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import { plural } from '../words.ts'
import { eventBlock } from '../../engine/protocol/eventBin.ts'
import { redactCredentials } from '../../engine/protocol/redactCredentials.ts'

/** How many events the list keeps. */
const KEEP = 200

export class EventList {
  readonly element: HTMLElement
  private readonly list: HTMLElement
  private readonly count: HTMLElement
  private last = 0
  /** Events (and gaps) not yet in the list, oldest first (the newest KEEP at most). */
  private pending: (EventRecord | SkippedEvents)[] = []
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor() {
    this.list = h('ol.event-list', { reversed: true })
    this.count = h('span.panel-sub', null, '')
    this.element = h('section.panel-section.events-section', { 'aria-label': 'Events' },
      h('div.panel-head', null, h('span.panel-title', null, 'Events'), this.count),
      h('div.panel-scroll', null, this.list),
    )
    // Shown again (its tab chosen): what came meanwhile.
    new ResizeObserver(() => this.flush()).observe(this.element)
  }

  /** `skipped` came before `events` (what was left out of a burst, before its last few). */
  add(events: EventRecord[], skipped: SkippedEvents[] = []): void {
    const fresh = events.filter((e) => e.seq > this.last)
    if (!fresh.length) return
    const gaps = skipped.filter((s) => s.to > this.last && s.branch === fresh[0]!.branch)
    this.last = fresh[fresh.length - 1]!.seq
    this.pending = [...this.pending, ...gaps, ...fresh.slice(-KEEP)].slice(-KEEP)
    this.count.textContent = `${this.last} on ${fresh[0]!.branch}`
    this.timer ??= setTimeout(() => {
      this.timer = null
      this.flush()
    }, 100)
  }

  private flush(): void {
    if (!this.pending.length || !this.element.offsetParent) return
    this.list.prepend(...this.pending.reverse().map(row))
    this.pending = []
    while (this.list.children.length > KEEP) this.list.lastElementChild!.remove()
  }
}

function row(e: EventRecord | SkippedEvents): HTMLElement {
  if (!('seq' in e)) {
    return h('li.event.event-gap', { 'data-from': e.from, 'data-to': e.to, title: 'The app ran faster than this window could follow; these events are in the log: scrub the timeline' },
      h('span.event-seq', null, '…'),
      h('span.event-what', null, `${plural('event', e.count)} not shown live (${e.from.toLocaleString()}–${e.to.toLocaleString()})`),
    )
  }
  return h('li.event', { 'data-seq': e.seq, 'data-kind': e.kind, title: `event ${e.seq}: ${e.kind}${e.method ? ` ${e.method}()` : ''}\n${e.hash}` },
    h('span.event-seq', null, String(e.seq)),
    h('span.event-kind', null, e.kind),
    h('span.event-what', null, summary(e)),
  )
}

function summary(e: EventRecord): string {
  if (e.kind === 'code') return `new code ${e.codeHash.slice(0, 7)}`
  // What the timeline's block says: a request line, an effect (`GET http://…/stock → 200 · 4 ms`), a refresh.
  const label = eventBlock(e).label
  if (label) return label
  if (e.outputs.halt) return 'halted the app'
  const tty = e.outputs.tty?.split('\n').find((l) => l.trim())
  if (tty) return tty
  const log = e.outputs.logs?.[0]
  if (log) return `${log.channel}: ${typeof log.message === 'string' ? log.message : JSON.stringify(redactCredentials(log.message))}`
  const written = [...new Set(e.writes.map((w) => ('key' in w && w.key !== undefined ? `${w.state}.${w.key}` : w.state)))]
  return written.length ? `wrote ${written.join(', ')}` : 'no change'
}

