// A connection that falls behind gets fewer, coarser `events` notices
// instead of being cut off. While more than SOFT_LIMIT bytes wait on its
// carrier, `events` notices are held back: the last few events of each
// branch are kept and the rest only counted. Once the backlog drains, one
// `events` notice carries what was kept and says what was left out
// (`skipped`). Responses and every other notice always go through, so a
// request is answered even while the app floods the page. A connection that
// keeps up is untouched: it gets every notice as it was sent.
import type { EventRecord, Message, SkippedEvents, Transport } from '../protocol/messages.ts'

/** Held back above this: a page even a few MB behind shows events late, and a pause answer would wait behind them. */
export const SOFT_LIMIT = 1024 * 1024
/** Events of each branch kept while holding back: what the page's "recent events" and its terminal show of the burst. */
const KEEP = 20
/** How often a connection holding events back looks whether its backlog has drained. */
const CHECK_MS = 20

export interface ThrottleOptions {
  softLimit?: number
  keep?: number
}

type EventsNotice = { type: 'events'; events: EventRecord[]; skipped?: SkippedEvents[] }

/** Wraps `transport`; one that cannot tell its backlog is returned as it is. */
export function throttleEvents(transport: Transport, options: ThrottleOptions = {}): Transport {
  const backlog = transport.backlog?.bind(transport)
  if (!backlog) return transport
  const softLimit = options.softLimit ?? SOFT_LIMIT
  const keep = options.keep ?? KEEP
  /** Per branch: the newest events held, and what was left out before them. */
  let held: Map<string, { events: EventRecord[]; skipped: SkippedEvents | null }> | null = null
  let timer: ReturnType<typeof setInterval> | null = null

  const hold = (notice: EventsNotice) => {
    held ??= new Map()
    for (const s of notice.skipped ?? []) skip(branchOf(s.branch), s)
    for (const e of notice.events) {
      const b = branchOf(e.branch)
      b.events.push(e)
      if (b.events.length > keep) {
        const gone = b.events.shift()!
        skip(b, { branch: gone.branch, count: 1, from: gone.seq, to: gone.seq })
      }
    }
    timer ??= setInterval(release, CHECK_MS)
  }
  const branchOf = (name: string) => {
    let b = held!.get(name)
    if (!b) held!.set(name, (b = { events: [], skipped: null }))
    return b
  }
  const skip = (b: { skipped: SkippedEvents | null }, s: SkippedEvents) => {
    if (!b.skipped) b.skipped = { ...s }
    else {
      b.skipped.count += s.count
      b.skipped.from = Math.min(b.skipped.from, s.from)
      b.skipped.to = Math.max(b.skipped.to, s.to)
    }
  }
  /** Sends what is held once the backlog has drained. */
  const release = () => {
    if (held && backlog() > softLimit / 2) return
    stopTimer()
    const branches = [...(held?.values() ?? [])]
    held = null
    const notice: EventsNotice = { type: 'events', events: branches.flatMap((b) => b.events) }
    const skipped = branches.flatMap((b) => (b.skipped ? [b.skipped] : []))
    if (skipped.length) notice.skipped = skipped
    try {
      transport.send({ kind: 'notice', notice })
    } catch {
      // The connection has gone; its close handler tidies up.
    }
  }
  const stopTimer = () => {
    if (timer) clearInterval(timer)
    timer = null
  }
  transport.onClose(() => {
    stopTimer()
    held = null
  })

  return {
    send(message: Message) {
      if (message.kind === 'notice' && message.notice.type === 'events' && (held || backlog() > softLimit)) return hold(message.notice)
      transport.send(message)
    },
    onMessage: (fn) => transport.onMessage(fn),
    onClose: (fn) => transport.onClose(fn),
    close: (reason) => transport.close(reason),
    backlog,
  }
}
