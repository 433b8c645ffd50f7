// Heap in use once garbage has been collected, for the check that memory does
// not grow with history length (works without node's --expose-gc flag).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Gc = () => void
let found: Gc | null | undefined

/** node's gc(): the global one if exposed, else one taken from a context made while the flag is briefly on. */
function collector(): Gc | null {
  if (found !== undefined) return found
  found = (globalThis as { gc?: Gc }).gc ?? null
  if (!found) {
    try {
      setFlagsFromString('--expose-gc')
      const gc: unknown = runInNewContext('gc')
      found = typeof gc === 'function' ? (gc as Gc) : null
    } catch {
      found = null
    } finally {
      setFlagsFromString('--no-expose-gc')
    }
  }
  return found
}

/** Collections after the pause, at most: one that frees nothing more ends them (the second to the fourth did, measured). */
const MAX_COLLECTIONS = 10

/**
 * MB of heap in use once a collection frees nothing more, after a short pause; `collected` is false if no gc()
 * was available. One collection after the pause was not enough: at random, about one reading in three still
 * counted 0.15-0.23 MB that a further collection freed (not so with V8's GC threads off, --single-threaded-gc),
 * as much as the whole history's own heap (bench/durable.ts), so that figure swung by half from run to run.
 */
export async function settledHeapMB(): Promise<{ mb: number; collected: boolean }> {
  const gc = collector()
  gc?.()
  await new Promise<void>((resolve) => setTimeout(resolve, 50))
  let used = process.memoryUsage().heapUsed
  for (let i = 0; gc && i < MAX_COLLECTIONS; i++) {
    gc()
    const now = process.memoryUsage().heapUsed
    if (now === used) break
    used = now
  }
  return { mb: used / 2 ** 20, collected: gc !== null }
}
