// How each state a search found was first reached: its parent and the move
// from it, enough to rebuild the shortest trace to any state. Kept per state
// id in one flat array (parents) and one list (moves): no object per state.
import type { Move } from './explore.ts'
import type { StateRef } from './searchTypes.ts'
import { INITIAL } from './worldKeys.ts'

export class Trails {
  /** Per state id: its parent packed as shard · 2³² + id (-1: a starting state). */
  /** Small to begin with (worldKeys.ts Texts). */
  private parents = new Float64Array(INITIAL)
  private readonly via: (Move | null)[] = []

  /** How many states have a trail. */
  get length(): number {
    return this.via.length
  }

  /** Records how the next state (id `length`) was first reached. */
  push(parent: StateRef | null, move: Move | null): void {
    const id = this.via.length
    if (id >= this.parents.length) {
      const more = new Float64Array(this.parents.length * 2)
      more.set(this.parents)
      this.parents = more
    }
    this.parents[id] = parent ? parent.shard * 2 ** 32 + parent.id : -1
    this.via.push(move)
  }

  /** Forgets the trails of states from id `length` on (a piece of search undone, search.ts resume). */
  truncate(length: number): void {
    this.via.length = length
  }

  /** How state `id` was first reached. */
  trail(id: number): { parent: StateRef | null; move: Move | null } {
    const packed = id < this.via.length ? this.parents[id]! : -1
    return { parent: packed < 0 ? null : { shard: Math.floor(packed / 2 ** 32), id: packed % 2 ** 32 }, move: this.via[id] ?? null }
  }
}
