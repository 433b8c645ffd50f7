// Time travel as one small reducer: which moment is selected, and whether
// the selection follows the live head. Every way of moving through time (a
// click, an arrow key, End, Live, new events while following, a promote)
// is an action here; the timeline only draws and reports the result.
import type { SelectedMoment } from './moment.ts'

export interface TimeTravel {
  selected: SelectedMoment | null
  /** Following the live head (live mode) rather than staying where the person put the moment. */
  follow: boolean
  /** The branch the running app extends. */
  live: string
}

export type TravelAction =
  /** `byUser`: a person chose it, so a moment other than the live head stops following. */
  | { type: 'select'; branch: string; seq: number; byUser: boolean }
  /** Along the selected moment's branch: by some events, to its start, or to its head. */
  | { type: 'move'; by: number | 'home' | 'end' }
  | { type: 'follow'; on: boolean }
  /** Heads moved or the branches changed (`live`: which one is live now). */
  | { type: 'heads'; live?: string }

export const START: TimeTravel = { selected: null, follow: true, live: 'main' }

/**
 * The next state. `headOf` says how far each branch goes (undefined: no
 * such branch, and the action does nothing). A select always makes a new
 * moment, even for the same place, so that the timeline brings it into view.
 */
export function travel(s: TimeTravel, a: TravelAction, headOf: (branch: string) => number | undefined): TimeTravel {
  switch (a.type) {
    case 'select': {
      const head = headOf(a.branch)
      if (head === undefined) return s
      const seq = Math.max(0, Math.min(head, Math.round(a.seq)))
      const live = a.branch === s.live && seq === head
      return { ...s, follow: a.byUser && !live ? false : s.follow, selected: { branch: a.branch, seq, live } }
    }
    case 'move': {
      const m = s.selected ?? { branch: s.live, seq: 0, live: false }
      const head = headOf(m.branch)
      if (head === undefined) return s
      if (a.by === 'end') {
        // End on the live branch is live mode again; on another branch, its head.
        if (m.branch === s.live) return travel({ ...s, follow: true }, { type: 'select', branch: m.branch, seq: head, byUser: false }, headOf)
        return travel(s, { type: 'select', branch: m.branch, seq: head, byUser: true }, headOf)
      }
      return travel(s, { type: 'select', branch: m.branch, seq: a.by === 'home' ? 0 : m.seq + a.by, byUser: true }, headOf)
    }
    case 'follow': {
      const next = { ...s, follow: a.on }
      return a.on ? followHead(next, headOf) : next
    }
    case 'heads': {
      const next = a.live && a.live !== s.live ? { ...s, live: a.live } : s
      return next.follow ? followHead(next, headOf) : next
    }
  }
}

function followHead(s: TimeTravel, headOf: (branch: string) => number | undefined): TimeTravel {
  const head = headOf(s.live)
  return head === undefined ? s : travel(s, { type: 'select', branch: s.live, seq: head, byUser: false }, headOf)
}
