// How close this process's heap is to its limit (--max-old-space-size), so a
// long job can stop with what it has before V8 ends the process. A heap past
// the mark counts as full only if it stays past it after a full collection:
// garbage not yet collected is not taken for what the search keeps.
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * The share of the limit past which a heap that a full collection leaves is full. Below 0.8: V8 ends a
 * process whose collections leave more than 80% of the limit four times in a row while they take most of
 * its time ("ineffective mark-compacts near heap limit"), which a search growing its heap fast gets to
 * well before 100%.
 */
const NEAR = 0.7
/**
 * The share of the limit past which a look collects to see what is left. Above NEAR, so a search that keeps
 * less is not slowed by a collection each look (V8 itself collects before then), and below 0.8 (see NEAR).
 */
const COLLECT = 0.75

/**
 * A watch on the heap: `full()` is true (and stays so) once what a full collection leaves is past NEAR of
 * the limit. A look costs about 2 µs, so it can be taken after every batch: a search that grows its heap
 * fast is seen between two of them.
 */
export function heapRoom(): { full: () => boolean } {
  const limit = oldSpaceLimit()
  const collect = collector()
  let full = false
  return {
    full: () => {
      if (full || oldSpaceUsed() <= COLLECT * limit) return full
      collect?.()
      return (full = oldSpaceUsed() > NEAR * limit)
    },
  }
}

/**
 * This thread's full collection (V8's gc(), which node gives only to a process started with --expose-gc, and
 * then to every context, cells' included). It is taken from a context made while the flag is on for that
 * moment; the flag is process-wide, so threads that start together can turn it off under each other: tried
 * again a few times. Null if it could not be had: then a heap past COLLECT is full, garbage and all (a search
 * stopped early, with its report, rather than one V8 ends).
 */
function collector(): (() => void) | null {
  // Started with --expose-gc (a benchmark): the flag stays as it was given.
  if (typeof globalThis.gc === 'function') return globalThis.gc
  for (let tries = 0; tries < 20; tries++) {
    // A V8 whose flags cannot change once it runs: no collector of its own.
    if (!setFlag('--expose-gc')) return null
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null')
    setFlag('--no-expose-gc')
    if (typeof gc === 'function') return gc as () => void
  }
  return null
}

function setFlag(flag: string): boolean {
  try {
    setFlagsFromString(flag)
    return true
  } catch {
    return false
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
