// The keys of a state.map in their order (code sees it through keys()), and
// where each one's entry is. Most writes set a key the map has: the slot they
// make shares its keys with the one before and copies only its array of
// entries — no hash table copied per write (exploration makes a slot per
// state found, and keeps a whole level of them).
export class MapKeys {
  /** Keys by position; null where a key was moved to the end (set again after a delete). */
  readonly names: (string | null)[] = []
  private readonly where = new Map<string, number>()
  /** How many of `names` are null. */
  private holes = 0
  /** Another slot than the one that made it holds it too: a change is made to a copy. */
  shared = false

  /** The position of `key`, or undefined. */
  at(key: string): number | undefined {
    return this.where.get(key)
  }

  /** Appends `key` (not there yet): its position. */
  push(key: string): number {
    const i = this.names.push(key) - 1
    this.where.set(key, i)
    return i
  }

  /** Moves `key`, at position `i`, to the end (a key set again after a delete, as a JS Map does): its new position. */
  moveToEnd(key: string, i: number): number {
    this.names[i] = null
    this.holes++
    return this.push(key)
  }

  /** A copy no other slot holds, the same positions. */
  copy(): MapKeys {
    const keys = new MapKeys()
    for (const name of this.names) {
      keys.names.push(name)
      if (name !== null) keys.where.set(name, keys.names.length - 1)
    }
    keys.holes = this.holes
    return keys
  }

  /** Whether the holes are worth closing (more than half, once there are a few): `compact` then. */
  get sparse(): boolean {
    return this.holes > 16 && this.holes * 2 > this.names.length
  }

  /** Closes the holes (keys this slot alone holds), moving each entry of `entries` with its key. */
  compact<E>(entries: (E | undefined)[]): void {
    let j = 0
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]
      if (name === null) continue
      this.names[j] = name
      entries[j] = entries[i]
      this.where.set(name, j++)
    }
    this.names.length = j
    entries.length = j
    this.holes = 0
  }
}
