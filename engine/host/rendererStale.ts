// Whether the UI bundle `loom serve` serves (dist/renderer/) is missing or
// older than a file it was built from: after a pull, the window must not be
// yesterday's UI talking to today's engine (the engine bundle is checked the
// same way, scripts/engineBundleStale.js). The bundle lists its inputs
// (build-meta.json, written by scripts/build-renderer.ts), so exactly those are
// compared — a few hundred stats.
import { readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** 'missing' (no bundle), 'stale' (an input changed since, or the list is unreadable) or null (fresh). */
export function rendererStale(dir: string, root: string): 'missing' | 'stale' | null {
  const built = mtime(join(dir, 'index.html'))
  if (built === null) return 'missing'
  let inputs: unknown
  try {
    inputs = (JSON.parse(readFileSync(join(dir, 'build-meta.json'), 'utf8')) as { inputs?: unknown }).inputs
  } catch {
    return 'stale'
  }
  if (!Array.isArray(inputs)) return 'stale'
  // An input gone (a file renamed or removed) changed what the bundle would be too.
  return inputs.some((p) => typeof p !== 'string' || (mtime(resolve(root, fileOf(p))) ?? Infinity) > built) ? 'stale' : null
}

/** An input's file: esbuild names one loaded by a plugin `namespace:path` (the cell API's types are `loom-text:…`). */
function fileOf(input: string): string {
  const m = /^([a-z][\w-]+):(.+)$/.exec(input)
  return m ? m[2]! : input
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs
  } catch {
    return null
  }
}
