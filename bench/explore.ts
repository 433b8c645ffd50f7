// Exploration speed: distinct states per second on the philosophers sample
// with 5 and 6 philosophers, against the same model searched by a
// hand-written breadth-first search in plain TypeScript (the limit); and the
// same search on two threads: its speed-up, and the CPU time it spends per
// state beside one exploration thread's (--workers 1: the same start-up, a
// cold memo and compiler alike), which load does not change — what two
// threads gain on a quiet 2-core machine follows from it.
import { cpus, loadavg } from 'node:os'
import { ensureEngineBundle } from '../scripts/build-engine.ts'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { readFile } from 'node:fs/promises'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { exploreParallel } from '../engine/replay/exploreParallel.ts'
import { philosophersBfs } from './philosophersBfs.ts'
import { fastest, perSecond } from './timing.ts'

export const EXPLORE_TARGET = 100_000
export const EXPLORE_WITHIN = 5

export interface ExploreFigures {
  maxStates: number
  /** By number of philosophers: Loom's and the hand-written search's distinct states per second. */
  /** cpuPerState: microseconds of CPU time per state with --workers 1 and --workers 2. */
  philosophers: Record<string, { loom: number; handWritten: number; states: number; slowdown: number; twoThreads: number; cpuPerState: { one: number; two: number } }>
  /** The load average (1 minute) and the cores while the threads ran. */
  load: { average: number; cores: number }
}

/** CPU time (user + system, every thread of the process) spent in `run`, in microseconds. */
async function cpuOf<T>(run: () => Promise<T> | T): Promise<{ value: T; cpuUs: number }> {
  const before = process.cpuUsage()
  const value = await run()
  const spent = process.cpuUsage(before)
  return { value, cpuUs: spent.user + spent.system }
}

export async function measureExplore(quick: boolean): Promise<ExploreFigures> {
  const sample = await readFile(new URL('../samples/philosophers.loom.md', import.meta.url), 'utf8')
  const maxStates = quick ? 100_000 : 300_000
  const repeat = { reps: quick ? 1 : 3, budgetMs: 20_000 }
  const figures: ExploreFigures = { maxStates, philosophers: {}, load: { average: 0, cores: cpus().length } }
  // Threads start from the engine's bundle, as in `loom explore` (from the sources each would compile them again).
  ensureEngineBundle(() => {})
  for (const n of [5, 6]) {
    const text = sample.replace('const N = 5', `const N = ${n}`)
    if (text === sample && n !== 5) throw new Error('the philosophers sample no longer declares `const N = 5`')
    let states = 0
    const cpu = { one: Infinity, two: Infinity }
    // The cells compiled once, as `loom explore` does before it starts the threads (an older Loom measured
    // with --base has no such step: its threads compile them).
    const compile = await import('../engine/runtime/transformCell.ts').then((m) => m.compileCellsNatively as (nb: unknown) => Promise<unknown[]>, () => null)
    const cells = compile ? ((await compile(parseNotebook(text, `philosophers-${n}.loom.md`))) as never) : undefined
    // A fresh model each run: its memo starts cold, as in a real `loom explore`.
    const models = await Promise.all(Array.from({ length: repeat.reps }, () => Model.create(text, { path: `philosophers-${n}.loom.md` })))
    const loomMs = await fastest(() => {
      const model = models.pop()!
      const t0 = performance.now()
      states = explore(model, { maxStates }).states
      return performance.now() - t0
    }, repeat)
    const handMs = await fastest(() => {
      const t0 = performance.now()
      if (philosophersBfs(n, maxStates).states !== states) throw new Error('the hand-written search found a different number of states')
      return performance.now() - t0
    }, repeat)
    // The same search on one exploration thread and shared between two, threads' start-up included.
    // (An older Loom measured with --base may not run one thread this way: its figure is then missing.)
    await fastest(async () => {
      const run = await cpuOf(() => exploreParallel(text, { path: `philosophers-${n}.loom.md`, maxStates, workers: 1, cells })).catch(() => null)
      if (run && run.value.states !== states) throw new Error('one exploration thread found a different number of states')
      if (run) cpu.one = Math.min(cpu.one, run.cpuUs / states)
      return 0
    }, repeat)
    const twoMs = await fastest(async () => {
      const t0 = performance.now()
      const run = await cpuOf(() => exploreParallel(text, { path: `philosophers-${n}.loom.md`, maxStates, workers: 2, cells }))
      if (run.value.states !== states) throw new Error('two threads found a different number of states')
      cpu.two = Math.min(cpu.two, run.cpuUs / states)
      figures.load.average = loadavg()[0]!
      return performance.now() - t0
    }, repeat)
    const loom = perSecond(states, loomMs)
    const handWritten = perSecond(states, handMs)
    figures.philosophers[n] = { loom, handWritten, states, slowdown: handWritten / loom, twoThreads: perSecond(states, twoMs), cpuPerState: cpu }
  }
  return figures
}

export function exploreTable(f: ExploreFigures): string {
  const rows = Object.entries(f.philosophers).map(([n, r]) =>
    `${`${n} philosophers`.padEnd(16)} loom explore ${Math.round(r.loom).toLocaleString('en-US').padStart(9)} states/s   hand-written BFS ${Math.round(r.handWritten).toLocaleString('en-US').padStart(9)} states/s   hand-written ÷ loom ${r.slowdown.toFixed(2)}`)
  const met = Object.values(f.philosophers).every((r) => r.loom >= EXPLORE_TARGET && r.slowdown <= EXPLORE_WITHIN)
  const threads = Object.entries(f.philosophers).map(([n, r]) =>
    `${`${n} philosophers`.padEnd(16)} loom explore --workers 2 ${Math.round(r.twoThreads).toLocaleString('en-US').padStart(9)} states/s   speed-up ÷ one thread ${(r.twoThreads / r.loom).toFixed(2)}   CPU per state ${r.cpuPerState.two.toFixed(1)} µs, --workers 1's ${r.cpuPerState.one.toFixed(1)} µs: ${(r.cpuPerState.two / r.cpuPerState.one).toFixed(2)}×`)
  return [
    `Exploration: distinct states per second, breadth first to ${f.maxStates.toLocaleString('en-US')} states, every test checked in each`,
    '',
    ...rows,
    ...threads,
    `(two threads pay on a quiet ${f.load.cores}-core machine when their CPU per state is within about 1.15× of one thread's; the speed-up above was measured at a load average of ${f.load.average.toFixed(1)} on ${f.load.cores} cores)`,
    '',
    `target at least ${EXPLORE_TARGET.toLocaleString('en-US')} states/s and within ${EXPLORE_WITHIN}× of the hand-written search: ${met ? 'met' : 'NOT met'}`,
  ].join('\n')
}
