// Why the step loop waits, and what wakes it: a commit that changes what the
// waiting step read, tty input, the time it awaits (a timer, unless the clock
// is virtual), a pause, new code. A wake that comes while nobody sleeps is
// kept, so the next sleep returns at once.
import type { Read, SourceLocation } from '../event.ts'

/** Why the step (or start) is waiting. */
export interface Parked {
  reads: Read[]
  wakeAt: number
  input: boolean
  /** It waits for a safe read the runner is performing (its effect event wakes it). */
  effect?: boolean
  reason: string
  /** The method threw (not an abort): a bug, not a wait; it stays stuck until what it read changes. */
  stuck?: Stuck
}

/** A method that throws on the state it runs on (not an abort): what, where. */
export interface Stuck {
  method: string
  reason: string
  location: SourceLocation | null
  /** Cut off by the time limit, not thrown: `location` is the line it was running. */
  runaway?: true
}

export class Waiting {
  /** The wait, while the step waits. */
  parked: Parked | null = null
  private wakeUp: (() => void) | null = null
  private woken = false
  private timer: NodeJS.Timeout | null = null

  /** `virtualClock`: time jumps to the awaited time instead (the loop does it), so no timer is set. */
  constructor(private readonly virtualClock: boolean) {}

  park(parked: Parked): void {
    this.parked = parked
    if (parked.wakeAt && !this.virtualClock) {
      if (this.timer) clearTimeout(this.timer)
      const delay = Math.max(0, parked.wakeAt - Date.now())
      this.timer = setTimeout(() => {
        this.timer = null
        if (this.parked === parked) this.unpark()
      }, Math.min(delay, 2 ** 31 - 1))
    }
  }

  unpark(): void {
    this.parked = null
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    this.wake()
  }

  sleep(): Promise<void> {
    // A wake that came while nobody slept is not lost: the next sleep returns at once.
    if (this.woken) {
      this.woken = false
      return Promise.resolve()
    }
    return new Promise((resolve) => (this.wakeUp = resolve))
  }

  wake(): void {
    const w = this.wakeUp
    this.wakeUp = null
    if (w) w()
    else this.woken = true
  }
}
