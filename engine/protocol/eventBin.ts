// The timeline's one unit: a bin of a branch's seqs, counting its events by
// kind and those with output. The engine answers every range the timeline
// asks in bins (host/timeline.ts, from the log's marks: zoomed in, one bin per
// event), and an event the timeline is told of as it commits is made the same
// one-event bin here, so a range looks the same whichever way it arrived.
import type { EventRecord, TimelineBin } from './messages.ts'

/** Event `e` as a one-event bin. */
export function eventBin(e: Pick<EventRecord, 'seq' | 'kind' | 'outputs'>): TimelineBin {
  return { from: e.seq, to: e.seq, kinds: { [e.kind]: 1 }, outputs: e.outputs.tty || e.outputs.logs?.length ? 1 : 0 }
}
