// Exploration speed: distinct states per second on the philosophers sample
// with 5 and 6 philosophers, against the same model searched by a
// hand-written breadth-first search in plain TypeScript (the limit).
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
  philosophers: Record<string, { loom: number; handWritten: number; states: number; slowdown: number; twoThreads: number }>
}

export async function measureExplore(quick: boolean): Promise<ExploreFigures> {
  const sample = await readFile(new URL('../samples/philosophers.loom.md', import.meta.url), 'utf8')
  const maxStates = quick ? 100_000 : 300_000
  const repeat = { reps: quick ? 1 : 3, budgetMs: 20_000 }
  const figures: ExploreFigures = { maxStates, philosophers: {} }
  for (const n of [5, 6]) {
    const text = sample.replace('const N = 5', `const N = ${n}`)
    if (text === sample && n !== 5) throw new Error('the philosophers sample no longer declares `const N = 5`')
    let states = 0
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
    // The same search shared between two threads, threads' start-up included.
    const twoMs = await fastest(async () => {
      const t0 = performance.now()
      if ((await exploreParallel(text, { path: `philosophers-${n}.loom.md`, maxStates, workers: 2 })).states !== states) throw new Error('two threads found a different number of states')
      return performance.now() - t0
    }, repeat)
    const loom = perSecond(states, loomMs)
    const handWritten = perSecond(states, handMs)
    figures.philosophers[n] = { loom, handWritten, states, slowdown: handWritten / loom, twoThreads: perSecond(states, twoMs) }
  }
  return figures
}

export function exploreTable(f: ExploreFigures): string {
  const rows = Object.entries(f.philosophers).map(([n, r]) =>
    `${`${n} philosophers`.padEnd(16)} loom explore ${Math.round(r.loom).toLocaleString('en-US').padStart(9)} states/s   hand-written BFS ${Math.round(r.handWritten).toLocaleString('en-US').padStart(9)} states/s   hand-written ÷ loom ${r.slowdown.toFixed(2)}`)
  const met = Object.values(f.philosophers).every((r) => r.loom >= EXPLORE_TARGET && r.slowdown <= EXPLORE_WITHIN)
  const threads = Object.entries(f.philosophers).map(([n, r]) =>
    `${`${n} philosophers`.padEnd(16)} loom explore --workers 2 ${Math.round(r.twoThreads).toLocaleString('en-US').padStart(9)} states/s   ÷ one thread ${(r.twoThreads / r.loom).toFixed(2)}`)
  return [
    `Exploration: distinct states per second, breadth first to ${f.maxStates.toLocaleString('en-US')} states, every test checked in each`,
    '',
    ...rows,
    ...threads,
    '',
    `target at least ${EXPLORE_TARGET.toLocaleString('en-US')} states/s and within ${EXPLORE_WITHIN}× of the hand-written search: ${met ? 'met' : 'NOT met'}`,
  ].join('\n')
}
