// Which state each world key is: a world's key is a small number (Tuples
// gives 0, 1, 2… in the order worlds are first described), so the search's
// seen set is one flat array indexed by key, not a hash table of a million
// entries probed once per transition.

import { INITIAL } from './worldKeys.ts'

export class StateIds {
  /** Per key: the state's id plus one (0: not seen). Small to begin with (worldKeys.ts Texts). */
  private ids = new Int32Array(INITIAL)
  /** The keys set since the last clear, while few: a random walk clears after every level, and a whole pass over the array each time would cost more than the walk. */
  private written: number[] | null = []

  has(key: number): boolean {
    return key >= 0 && key < this.ids.length && this.ids[key] !== 0
  }

  /** The id of the state with this key, or undefined. */
  get(key: number): number | undefined {
    const id = key >= 0 && key < this.ids.length ? this.ids[key]! : 0
    return id === 0 ? undefined : id - 1
  }

  set(key: number, id: number): void {
    if (key >= this.ids.length) {
      let length = this.ids.length * 2
      while (length <= key) length *= 2
      const more = new Int32Array(length)
      more.set(this.ids)
      this.ids = more
    }
    this.ids[key] = id + 1
    if (this.written) {
      this.written.push(key)
      if (this.written.length > this.ids.length >> 3) this.written = null
    }
  }

  /** Forgets a key set by work that is being undone. */
  unset(key: number): void {
    if (key >= 0 && key < this.ids.length) this.ids[key] = 0
  }

  clear(): void {
    if (this.written) for (const key of this.written) this.ids[key] = 0
    else this.ids.fill(0)
    this.written = []
  }
}
