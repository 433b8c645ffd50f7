// The Move a transaction makes, with what a trace needs to run it again. A
// search makes one for each state it finds: moves made from the start's
// situation are shared by every state they reach (a memo's leaf is tried in
// many states, with the same choices).
import type { Move } from './explore.ts'
import type { Action, Model } from './model.ts'
import type { World } from './worlds.ts'

export class Moves {
  /** By a memo leaf's choices (never changed once made): the plain move with them. */
  private readonly plain = new WeakMap<object, Move>()

  constructor(private readonly model: Model) {}

  /** The move `action` makes in `world` with these choices: its input, clock and tty input where not the start's. */
  of(world: World, action: Action, choices: Move['choices'], made: readonly string[] | null = null): Move {
    const model = this.model
    const plain = action.input === null && action.recorded === undefined && !action.client && world.at.clock === model.time && !world.at.tty
    const known = plain ? this.plain.get(choices) : undefined
    if (known && known.method === action.method) return known
    const move: Move = { method: action.method, choices }
    if (made?.length) move.made = made.slice()
    if (action.method === 'effect') {
      const fault = (action.input as { outcome?: { fault?: Move['fault'] } }).outcome?.fault
      if (fault) move.fault = fault
    }
    if (plain) this.plain.set(choices, move)
    if (action.input !== null) move.input = action.input
    if (world.at.clock !== model.time) move.time = world.at.clock
    if (world.at.tty) move.typed = world.at.tty
    if (action.recorded !== undefined) move.recorded = model.recorded[action.recorded]!.seq
    if (action.client) move.client = true
    if (action.bare) move.bare = true
    return move
  }
}
