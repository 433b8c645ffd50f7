// The counter sample run by Loom: committed `step` transactions into the
// in-memory log, with the default time limit enforced.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Engine } from '../engine/runtime/engine.ts'

/** Used when samples/counter.loom.md is not there. */
const FALLBACK = [
  '```ts #counter',
  "const count = state.var('count', 0)",
  'export function step() {',
  '  count.set(count.get() + 1)',
  '}',
  '```',
  '',
].join('\n')

/** The counter notebook on disk. */
export const SAMPLE = fileURLToPath(new URL('../samples/counter.loom.md', import.meta.url))

/** The counter notebook's text, and where it came from. */
export async function counterSource(): Promise<{ text: string; from: string }> {
  try {
    return { text: await readFile(SAMPLE, 'utf8'), from: 'samples/counter.loom.md' }
  } catch {
    return { text: FALLBACK, from: 'built-in copy of the counter sample' }
  }
}

/** Runs `steps` committed steps on a fresh engine; returns the milliseconds spent in `engine.run` only. */
export async function loom(text: string, steps: number): Promise<number> {
  const engine = await Engine.fromSource(text, { path: 'counter.loom.md' })
  const head = engine.head
  const t0 = performance.now()
  const summary = await engine.run({ steps })
  const ms = performance.now() - t0
  if (summary.steps !== steps || engine.head - head !== steps) {
    throw new Error(`loom: asked for ${steps} steps, committed ${summary.steps} (${engine.head - head} events, status ${summary.status})`)
  }
  const count = Object.values(engine.state())[0]?.value
  if (count !== steps) throw new Error(`loom: expected the count to reach ${steps}, it is ${JSON.stringify(count)}`)
  return ms
}

/**
 * The design Loom avoids: one time-limited call into the sandbox per
 * transaction (`engine.step()` runs exactly one). Returns milliseconds.
 */
export async function loomPerCall(text: string, steps: number): Promise<number> {
  const engine = await Engine.fromSource(text, { path: 'counter.loom.md' })
  const t0 = performance.now()
  for (let i = 0; i < steps; i++) if (!engine.step()) throw new Error('loom: a step did not commit')
  return performance.now() - t0
}
