// sys.random(index, n): an HMAC of the notebook's seed, so the same question
// always gets the same answer — nothing to record, nothing to diverge on replay.
import { createHmac } from 'node:crypto'

const SPAN = 2 ** 48

export class StableRandom {
  private readonly cache = new Map<string, number>()
  constructor(private readonly seed: string) {}

  /** An integer in 0..n-1, uniform, fixed for (seed, index, n). */
  pick(index: string | number, n: number): number {
    const key = `${typeof index === 'number' ? 'n' : 's'}:${index}:${n}`
    let v = this.cache.get(key)
    if (v === undefined) {
      const digest = createHmac('sha256', this.seed).update(key).digest()
      // Rejection sampling over 48-bit chunks keeps the result unbiased.
      const limit = SPAN - (SPAN % n)
      v = 0
      for (let off = 0; off + 6 <= digest.length; off += 6) {
        const x = digest.readUIntBE(off, 6)
        v = x % n
        if (x < limit) break
      }
      if (this.cache.size > 100_000) this.cache.clear()
      this.cache.set(key, v)
    }
    return v
  }
}
