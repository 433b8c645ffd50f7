// CPU time spent by the thread that runs cell code: what a transaction that
// runs away spends, and one the machine stalled does not (runBatch.ts). The
// process's clock is not enough once an exploration runs on several threads
// (or the log writer works beside the engine): a thread that stood still
// while another computed would look as if it had computed itself.
import { closeSync, openSync, readSync } from 'node:fs'

/** The thread clock's resolution: Linux counts a thread's CPU time in ticks of 1/100 s (USER_HZ). */
const TICK_MS = 10

export interface CpuClock {
  /** CPU time spent so far, in ms. */
  now(): number
  /**
   * CPU time spent so far, or as read at most `maxAgeMs` of wall time ago: at most that much lower
   * (a thread computes no faster than the clock on the wall). A reading costs a system call; one
   * taken before every short call would cost a run of one-step calls a seventh of its speed.
   */
  recent(maxAgeMs: number): number
  /** How far `now()` may be off: a difference under this tells nothing. */
  readonly resolutionMs: number
}

let clock: CpuClock | null = null

/** This thread's clock where the system keeps one (Linux), else the whole process's. */
export function cpuClock(): CpuClock {
  return (clock ??= threadClock() ?? processClock())
}

function processClock(): CpuClock {
  return reusing(() => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }, 0)
}

/** A clock whose last reading is given again while it is young enough. */
function reusing(read: () => number, resolutionMs: number): CpuClock {
  let value = 0
  let at = -Infinity
  const now = () => {
    at = performance.now()
    return (value = read())
  }
  return { now, recent: (maxAgeMs) => (performance.now() - at <= maxAgeMs ? value : now()), resolutionMs }
}

/**
 * /proc/thread-self/stat, opened by this thread and kept open: each read is
 * this thread's figures at that moment (about 10 µs; runBatch reads it at most once per hundredth of its limit).
 */
function threadClock(): CpuClock | null {
  let fd: number
  try {
    fd = openSync('/proc/thread-self/stat', 'r')
  } catch {
    return null
  }
  const buf = Buffer.alloc(1024)
  const now = () => {
    const text = buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0))
    // After the command name (which may hold spaces and parentheses): state is field 3, utime 14 and stime 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  }
  try {
    if (!Number.isFinite(now())) throw new Error('unreadable')
  } catch {
    closeSync(fd)
    return null
  }
  return reusing(now, TICK_MS)
}
