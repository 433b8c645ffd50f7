// How close this process's heap is to its limit (--max-old-space-size), so a
// long job can stop with what it has before V8 ends the process. Garbage not
// yet collected counts as used: only a heap that stays near the limit across
// several looks (collections run in between) is taken as full.
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'

/** The share of the limit past which a look counts as near it. */
const NEAR = 0.8
/** Looks in a row near the limit before the heap is taken as full. */
const LOOKS = 3

/** A watch on the heap: `full()` is true once it has stayed near its limit for LOOKS looks. */
export function heapRoom(): { full: () => boolean } {
  const limit = oldSpaceLimit()
  let near = 0
  return {
    full: () => {
      near = oldSpaceUsed() > NEAR * limit ? near + 1 : 0
      return near >= LOOKS
    },
  }
}

/** The limit V8 ends the process at: the old generation's (the young one is beside it, and emptied by every scavenge). */
function oldSpaceLimit(): number {
  const given = process.execArgv.map((a) => /^--max-old-space-size=(\d+)$/.exec(a)?.[1]).find(Boolean)
  return given ? Number(given) * 2 ** 20 : getHeapStatistics().heap_size_limit
}

function oldSpaceUsed(): number {
  let used = 0
  for (const s of getHeapSpaceStatistics()) if (!s.space_name.startsWith('new_')) used += s.space_used_size
  return used
}
