// The timeline's one unit: a bin of a branch's seqs, counting its events by
// kind and those with output. The engine answers every range the timeline
// asks in bins (host/timeline.ts, from the log's marks: zoomed in, one bin per
// event), and an event the timeline is told of as it commits is made the same
// one-event bin here, so a range looks the same whichever way it arrived.
import type { EventRecord, TimelineBin } from './messages.ts'
import { EFFECTS_STATE, effectLine, effectParts } from './effectLine.ts'
import { latencyText } from './latencyText.ts'
import { refreshedWords } from './effectRefresh.ts'

/** How many characters of a request's hash a bin carries to link an effect to the transactions that used it. */
export const EFFECT_KEY = 12

type Binned = Pick<EventRecord, 'seq' | 'kind' | 'input' | 'outputs' | 'latency'> & Partial<Pick<EventRecord, 'reads' | 'writes'>>

/** Event `e` as a one-event bin; an http or effect event is labelled with its request and answer. */
export function eventBin(e: Binned): TimelineBin {
  const bin: TimelineBin = { from: e.seq, to: e.seq, kinds: { [e.kind]: 1 }, outputs: e.outputs.tty || e.outputs.logs?.length ? 1 : 0 }
  return Object.assign(bin, eventBlock(e))
}

/** What a one-event bin says of its event besides counts: its label, and the effects it recorded, used or refreshed. */
export function eventBlock(e: Omit<Binned, 'seq'>): Pick<TimelineBin, 'label' | 'effect' | 'uses' | 'refreshes'> {
  const block: Pick<TimelineBin, 'label' | 'effect' | 'uses' | 'refreshes'> = {}
  if (e.kind === 'http') block.label = requestLine(e)
  if (e.kind === 'effect') {
    block.label = effectLine(e.input)
    // A read's answer is kept under its request's hash, an action's outcome under its id.
    const key = effectParts(e.input).key
    if (key) block.effect = key.slice(0, EFFECT_KEY)
    return block
  }
  const uses = keysOf(e.reads, (r) => r.state === EFFECTS_STATE ? r.key : undefined)
  if (uses.length) block.uses = uses
  if (e.kind === 'edit') {
    // A refresh (effectRefresh.ts) writes a note in words where the response was kept.
    const notes = (Array.isArray(e.writes) ? e.writes : []).filter((w) => w?.state === EFFECTS_STATE && w.op === 'set' && 'key' in w && refreshedWords(w.value) !== null)
    const refreshes = keysOf(notes, (w) => ('key' in w ? w.key : undefined))
    if (refreshes.length) {
      block.refreshes = refreshes
      block.label = refreshes.length === 1 ? `refresh ${refreshedWords((notes[0] as { value: unknown }).value)}` : `refresh ${refreshes.length} reads`
    }
  }
  return block
}

/** The distinct hash starts `pick` finds in `list` (a log may be anyone's: not an array is none). */
function keysOf<T>(list: T[] | undefined, pick: (x: T) => unknown): string[] {
  if (!Array.isArray(list)) return []
  const keys = new Set<string>()
  for (const x of list) {
    const k = x !== null && typeof x === 'object' ? pick(x) : undefined
    if (typeof k === 'string' && keys.size < 64) keys.add(k.slice(0, EFFECT_KEY))
  }
  return [...keys]
}

/** An http event as a request line, its answer and how long it took when the log kept that: `POST /todos → 201 · 3 ms`. */
export function requestLine(e: Pick<EventRecord, 'input' | 'outputs' | 'latency'>): string {
  const req = (e.input ?? {}) as { method?: unknown; path?: unknown }
  const res = (e.outputs.http ?? {}) as { status?: unknown }
  const line = `${typeof req.method === 'string' ? req.method.slice(0, 16) : '?'} ${typeof req.path === 'string' ? req.path.slice(0, 200) : '?'}`
  const answered = typeof res.status === 'number' ? `${line} → ${res.status}` : line
  return typeof e.latency === 'number' && e.latency >= 0 ? `${answered} · ${latencyText(e.latency)}` : answered
}
