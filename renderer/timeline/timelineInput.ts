// What the timeline's pointer and keys mean: the moment under a point of the
// canvas, the readout's words over it, and the move a key asks for.
import type { PendingRead } from '../../engine/protocol/messages.ts'
import { shortcutOf, type ShortcutId } from '../shell/shortcuts.ts'
import { AXIS_H, trackAt } from './drawTimeline.ts'
import { describeEvent, type TrackData } from './track.ts'

/** The moment under canvas point (px, py): the track there, the event nearest, kept within the track; null over the axis. */
export function momentAt(px: number, py: number, at: { scrollTop: number; order: string[]; tracks: Map<string, TrackData>; seqAt(px: number): number }): { branch: string; seq: number } | null {
  // The axis stays on top of a scrolled body: a click there picks no track under it.
  if (py < at.scrollTop + AXIS_H - 4) return null
  const name = at.order[Math.max(0, Math.min(at.order.length - 1, trackAt(py)))]
  if (!name) return null
  const t = at.tracks.get(name)!
  const seq = Math.round(at.seqAt(px))
  return { branch: name, seq: Math.max(t.branch.forkedAt ?? 0, Math.min(t.branch.head, seq)) }
}

/** The readout over event `seq` of track `t`; `ahead` places past the live head, where the reads under way are shown. */
export function readoutText(t: TrackData, seq: number, ahead: number, pending: PendingRead[]): string {
  // After the live head: a read under way, and the transaction that asked for it waits.
  const read = t.branch.live && ahead >= 1 ? pending[ahead - 1] : undefined
  return read
    ? `${t.branch.label ?? t.branch.name} · pending · reading ${read.what} for ${Math.max(0, Math.round((Date.now() - read.since) / 100) / 10)} s · the transaction that asked for it waits`
    : describeEvent(t, seq)
}

/** The move a key asks for (shift: ten times as far), or undefined when the key is not the timeline's. */
export function keyMove(e: KeyboardEvent): number | 'home' | 'end' | undefined {
  // The keys are the shortcuts table's (renderer/shell/shortcuts.ts), which the ? overlay lists.
  const moves: Partial<Record<ShortcutId, number | 'home' | 'end'>> = { previousEvent: -1, nextEvent: 1, firstEvent: 'home', lastEvent: 'end', back10: -10, forward10: 10 }
  const id = shortcutOf(e, Object.keys(moves) as ShortcutId[])
  const d = id ? moves[id] : undefined
  return typeof d === 'number' && e.shiftKey ? d * 10 : d
}
