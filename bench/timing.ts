// Timing helpers for the benchmark: run a trial a few times (each on a fresh
// instance) and keep the fastest, within a time budget.

/** One timed run: sets up its own fresh instance and returns only the milliseconds spent in the measured work. */
export type Trial = () => Promise<number> | number

export interface Repeat {
  /** How many timed runs at most. */
  reps: number
  /** Stop repeating once this much wall time has gone by (at least one run always happens). */
  budgetMs: number
}

/** Runs `trial` up to `reps` times and returns the fastest run's milliseconds. */
export async function fastest(trial: Trial, { reps, budgetMs }: Repeat): Promise<number> {
  const start = performance.now()
  let best = Infinity
  for (let i = 0; i < reps; i++) {
    await settle()
    best = Math.min(best, await trial())
    if (performance.now() - start > budgetMs) break
  }
  return best
}

/** Operations per second for `ops` operations done in `ms` milliseconds. */
export function perSecond(ops: number, ms: number): number {
  return ops / (Math.max(ms, 1e-3) / 1000)
}

/** Lets pending I/O and timers run, and collects garbage if node was started with --expose-gc. */
export async function settle(): Promise<void> {
  ;(globalThis as { gc?: () => void }).gc?.()
  await new Promise<void>((resolve) => setTimeout(resolve, 20))
}
