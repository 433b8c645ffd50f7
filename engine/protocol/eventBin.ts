// The timeline's one unit: a bin of a branch's seqs, counting its events by
// kind and those with output. The engine answers every range the timeline
// asks in bins (host/timeline.ts, from the log's marks: zoomed in, one bin per
// event), and an event the timeline is told of as it commits is made the same
// one-event bin here, so a range looks the same whichever way it arrived.
import type { EventRecord, TimelineBin } from './messages.ts'

/** Event `e` as a one-event bin; an http event is labelled with its request and answer. */
export function eventBin(e: Pick<EventRecord, 'seq' | 'kind' | 'input' | 'outputs' | 'latency'>): TimelineBin {
  const bin: TimelineBin = { from: e.seq, to: e.seq, kinds: { [e.kind]: 1 }, outputs: e.outputs.tty || e.outputs.logs?.length ? 1 : 0 }
  if (e.kind === 'http') bin.label = requestLine(e)
  return bin
}

/** An http event as a request line, its answer and how long it took when the log kept that: `POST /todos → 201 · 3 ms`. */
export function requestLine(e: Pick<EventRecord, 'input' | 'outputs' | 'latency'>): string {
  const req = (e.input ?? {}) as { method?: unknown; path?: unknown }
  const res = (e.outputs.http ?? {}) as { status?: unknown }
  const line = `${typeof req.method === 'string' ? req.method.slice(0, 16) : '?'} ${typeof req.path === 'string' ? req.path.slice(0, 200) : '?'}`
  const answered = typeof res.status === 'number' ? `${line} → ${res.status}` : line
  return typeof e.latency === 'number' && e.latency >= 0 ? `${answered} · ${latencyText(e.latency)}` : answered
}

/** A latency as people read it: `0.4 ms`, `3 ms`, `1.2 s`. */
export function latencyText(ms: number): string {
  return ms < 1 ? `${ms.toFixed(1)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}
