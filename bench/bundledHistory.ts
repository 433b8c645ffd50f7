// The long history is built, and its heap read, in a process of its own that
// runs the engine bundled into plain JavaScript, as `loom run` does
// (scripts/build-engine.ts), not through the TypeScript loader. Under the
// loader every module's text stays on the heap with an inline source map: the
// figure would grow with how many files the engine is split into, not with
// what the history holds. Each side of --base is bundled as its own loom
// bundles its engine.
import { createRequire } from 'node:module'
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { BuildOptions, buildSync as BuildSync } from 'esbuild'
import { heapSnapshotFile, SNAPSHOTS, type Built } from './durable.ts'
import { heapKinds, type HeapKinds } from './heapKinds.ts'
import { SAMPLE } from './loom.ts'
// A namespace: an older checkout (the --base of a comparison) lacks writeBundle.
import * as engineBuild from '../scripts/build-engine.ts'

const root = resolve(import.meta.dirname, '..')

/** A history built bundled, with what its heap snapshots held: the program's values and V8's (heapKinds.ts). */
export type BuiltBundled = Built & { kinds: Record<(typeof SNAPSHOTS)[number], HeapKinds> }

/** buildHistory (durable.ts) in a bundled process of its own; the history is written in `dir`. */
export async function buildHistoryBundled(dir: string, steps: number): Promise<BuiltBundled> {
  // Inside the checkout (dist/ is not tracked), where the bundle's imports of packages find node_modules.
  const outdir = join(root, 'dist', `bench-history-${process.pid}`)
  try {
    // The log's writer thread is found beside the entry (sqliteLog.ts names it from import.meta.url).
    bundle({ historyProcess: 'bench/historyProcess.ts', 'logWriter.boot': 'engine/replay/logWriter.ts' }, outdir)
    const { stdout } = await promisify(execFile)(process.execPath, [join(outdir, 'historyProcess.js'), SAMPLE, dir, String(steps)], { cwd: root, maxBuffer: 16 * 2 ** 20 })
    const built = JSON.parse(stdout) as Built
    const kinds = Object.fromEntries(SNAPSHOTS.map((reading) => {
      const file = heapSnapshotFile(dir, reading)
      const split = heapKinds(file)
      rmSync(file)
      return [reading, split]
    })) as BuiltBundled['kinds']
    return { ...built, kinds }
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

function bundle(entryPoints: Record<string, string>, outdir: string): void {
  const own = engineBuild as Partial<typeof engineBuild>
  if (own.writeBundle) {
    own.writeBundle(entryPoints, outdir)
    return
  }
  const { buildSync } = createRequire(import.meta.url)('esbuild') as { buildSync: typeof BuildSync }
  buildSync(earlierBundleOptions(entryPoints, outdir))
}

/** scripts/build-engine.ts's options before writeBundle (bd854e3 to 1c903f0): how loom bundled its engine then. */
function earlierBundleOptions(entryPoints: Record<string, string>, outdir: string): BuildOptions {
  const external = ['better-sqlite3', 'esbuild', 'esbuild-wasm', 'tsx', 'yjs', 'y-protocols', 'lib0', '@y/websocket-server', 'ws']
  return {
    absWorkingDir: root,
    entryPoints,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: external.flatMap((p) => [p, `${p}/*`]),
    splitting: true,
    chunkNames: 'chunk-[hash]',
    banner: { js: "import { createRequire as __loomRequire } from 'node:module'; const require = __loomRequire(import.meta.url);" },
    sourcemap: 'linked',
    logLevel: 'error',
    outdir,
  }
}
