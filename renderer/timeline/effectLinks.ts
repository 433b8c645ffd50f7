// Which events an effect is linked to on a track: the transaction that asked
// for a read and used it (the first after the effect event that read its
// response), and back from that transaction, or from a refresh, to the effect
// events it used or refreshed. Found among the events the track has cached
// (those in view, zoomed in), never fetched: a link is drawn where both ends show.
import type { TrackData } from './track.ts'

/** How far along the track a link is looked for, each way. */
const REACH = 2000

/** The seqs event `seq` of track `t` is linked to by an effect (empty: none, or none cached). */
export function effectLinks(t: TrackData, seq: number): number[] {
  const e = t.events.get(seq)
  if (!e) return []
  if (e.kind === 'effect' && e.effect) {
    for (let s = seq + 1; s <= Math.min(t.branch.head, seq + REACH); s++) if (t.events.get(s)?.uses?.includes(e.effect)) return [s]
    return []
  }
  const wanted = new Set([...(e.uses ?? []), ...(e.refreshes ?? [])])
  const found: number[] = []
  for (let s = seq - 1; s >= Math.max(1, seq - REACH) && wanted.size; s--) {
    const x = t.events.get(s)
    if (x?.kind === 'effect' && x.effect && wanted.delete(x.effect)) found.push(s)
  }
  return found
}
