// Sparklines: the numeric values of a few states at evenly spread moments of
// a branch. Walks forward from one moment to the next (applying write sets)
// unless a snapshot lies between them and they are far apart: then it seeks
// afresh (a snapshot and at most K write sets), so a long range costs about
// `points` seeks.
import { nearestSnapshot, seekStore } from '../replay/seek.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import type { Store } from '../runtime/store.ts'
import type { Result } from '../protocol/messages.ts'

export const MAX_POINTS = 1000

/** Values of `states` after events `from`..`to` of `branch`, at most `points` of them: numbers, or null where a state is not a number (or does not exist yet). */
export function series(log: HistoryLog, branch: string, states: string[], from: number, to: number, points: number): Result<'series'> {
  const n = to - from + 1
  const count = Math.max(0, Math.min(points, n, MAX_POINTS))
  const at: number[] = []
  // Samples far apart fall on multiples of K, where the log keeps snapshots: each is then one snapshot load.
  const k = log.snapshotEvery
  const apart = count > 1 && (n - 1) / (count - 1) >= k
  for (let i = 0; i < count; i++) {
    const seq = count === 1 ? to : from + Math.round((i * (n - 1)) / (count - 1))
    at.push(apart && i < count - 1 ? Math.max(from, Math.floor(seq / k) * k) : seq)
  }
  const values: Record<string, (number | null)[]> = Object.fromEntries(states.map((s) => [s, []]))
  let store: Store | null = null
  let cur = -1
  for (const seq of at) {
    // Far ahead, and a snapshot lies between: seek from it (found once, and used).
    const snap = store && seq - cur > log.snapshotEvery ? nearestSnapshot(log, { branch, seq }) : undefined
    if (!store || (snap && snap.seq > cur)) store = seekStore(log, { branch, seq }, undefined, snap)
    else for (const e of log.iterate(branch, cur + 1, seq)) store.apply(e.writes, e.seq)
    cur = seq
    for (const name of states) {
      const cell = store.get(name)
      // Only a var or a counter can hold a number; reading a map's value would copy it.
      const v = cell && (cell.kind === 'var' || cell.kind === 'counter') ? cell.value() : null
      values[name]!.push(typeof v === 'number' ? v : null)
    }
  }
  return { at, values }
}
