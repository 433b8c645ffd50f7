// The moves of a state that are no transaction of the app: time passing to
// the soonest deadline a transaction waits for, the next recorded tty input
// typed, and each answer the world may give an effect a transaction waited
// for. The search adds them once every transaction of the state was tried.
import type { Move } from './explore.ts'
import type { Model } from './model.ts'
import type { Expanding } from './searchTypes.ts'
import type { World } from './worlds.ts'

/**
 * Hands each free move of the state being expanded to `take`, in order,
 * until `take` returns false (the search is full); returns how many it took.
 */
export function freeMoves(model: Model, cur: Expanding, take: (cur: Expanding, world: World, move: Move) => boolean): number {
  // No closure per state: this runs once for every state explored.
  let taken = 0
  if (cur.wake) {
    taken++
    if (!take(cur, model.clockMoved(cur.world, cur.wake), { method: 'clock', choices: [], time: cur.wake })) return taken
  }
  const t = model.nextTty(cur.world)
  if (t >= 0) {
    const r = model.recorded[t]!
    taken++
    if (!take(cur, model.ttyTyped(cur.world, t), { method: 'tty', choices: [], input: r.input, recorded: r.seq })) return taken
  }
  // Each response recorded for the effect, and each fault (effectOutcomes.ts).
  for (const want of cur.effects?.values() ?? []) {
    for (const o of model.effectOutcomes(want)) {
      const input = { ...want, ...o }
      const move: Move = { method: 'effect', choices: [], input: input as unknown as Move['input'], ...(o.fault ? { fault: o.fault } : {}) }
      if (cur.world.at.clock !== model.time) move.time = cur.world.at.clock
      taken++
      if (!take(cur, model.effectAnswered(cur.world, input), move)) return taken
    }
  }
  return taken
}
