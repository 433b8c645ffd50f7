// Puts the Profile and Diff tabs into the inspector, wired to the timeline:
// the selected moment's branch is profiled, a slow event seeks there, and
// each moment selected is compared with the pinned one.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { Debugger } from '../timeline/Debugger.ts'
import { ProfileTable } from './ProfileTable.ts'
import { DiffView } from './DiffView.ts'

export function mountProfileAndDiff(debug: Debugger): { attach(client: EngineClient): void } {
  const profile = new ProfileTable({
    branch: () => debug.timeline.moment?.branch ?? null,
    seek: (branch, seq) => debug.timeline.select(branch, seq),
  })
  const diff = new DiffView(() => debug.timeline.moment)
  debug.addTab('profile', 'Profile', profile.element, () => void profile.load())
  debug.addTab('diff', 'Diff', diff.element, () => void diff.load())
  debug.watch((m) => {
    diff.moment(m)
    profile.moment(m.branch)
  })
  return {
    attach(client) {
      profile.attach(client)
      diff.attach(client)
    },
  }
}
