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

/** MB of heap in use after collecting garbage twice around a short pause; `collected` is false if no gc() was available. */
export async function settledHeapMB(): Promise<{ mb: number; collected: boolean }> {
  const gc = collector()
  gc?.()
  await new Promise<void>((resolve) => setTimeout(resolve, 50))
  gc?.()
  return { mb: process.memoryUsage().heapUsed / 2 ** 20, collected: gc !== null }
}
