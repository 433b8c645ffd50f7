// The long history is built, and its heap read, in a process of its own that
// runs the engine bundled into plain JavaScript, as `loom run` does
// (scripts/build-engine.ts), not through the TypeScript loader. Under the
// loader every module's text stays on the heap with an inline source map: the
// figure would grow with how many files the engine is split into, not with
// what the history holds. Both sides of --base are built the same way.
import { createRequire } from 'node:module'
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { buildSync as BuildSync } from 'esbuild'
import type { Built } from './durable.ts'
import { SAMPLE } from './loom.ts'
import { bundleOptions } from '../scripts/build-engine.ts'

const root = resolve(import.meta.dirname, '..')

/** buildHistory (durable.ts) in a bundled process of its own; the history is written in `dir`. */
export async function buildHistoryBundled(dir: string, steps: number): Promise<Built> {
  const { buildSync } = createRequire(import.meta.url)('esbuild') as { buildSync: typeof BuildSync }
  // Inside the checkout (dist/ is not tracked), where the bundle's imports of packages find node_modules.
  const outdir = join(root, 'dist', `bench-history-${process.pid}`)
  try {
    return await run(buildSync, outdir, dir, steps)
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

async function run(buildSync: typeof BuildSync, outdir: string, dir: string, steps: number): Promise<Built> {
  // Bundled as loom's own engine is; the log's writer thread is found beside the entry (sqliteLog.ts names it from import.meta.url).
  buildSync(bundleOptions({ historyProcess: 'bench/historyProcess.ts', 'logWriter.boot': 'engine/replay/logWriter.ts' }, outdir))
  const { stdout } = await promisify(execFile)(process.execPath, [join(outdir, 'historyProcess.js'), SAMPLE, dir, String(steps)], { cwd: root, maxBuffer: 16 * 2 ** 20 })
  return JSON.parse(stdout) as Built
}
