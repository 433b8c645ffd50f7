// Bundles the engine process, the threads it starts and the `loom` CLI into
// plain JavaScript in dist/engine/, so they run with no TypeScript loader:
// tsx compiles through esbuild's service, a child process, which a confined
// engine process may not start (DESIGN §9), and loading it costs `loom serve`
// a tenth of a second before it can print its URL. `npm run build`; the
// engine's launcher builds it when it is missing or older than a source, and
// bin/loom.js runs the sources instead meanwhile.
import type { BuildOptions, buildSync as BuildSync, OutputFile } from 'esbuild'
import { createRequire } from 'node:module'
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { repoRoot } from './repoRoot.js'
import { engineBundleStale } from './engineBundleStale.js'
import { writeBuildMeta } from './bundleStale.js'
import { oneByteSource } from './oneByteSource.ts'

const root = repoRoot(import.meta.url)

export const ENGINE_BUNDLE_DIR = join(root, 'dist', 'engine')

/**
 * Output name → source (the names scripts/engineBundleStale.js checks). The
 * threads keep the names of their .boot.js entries: `new URL('./logWriter.boot.js',
 * import.meta.url)` in the bundle then finds the bundled thread beside it.
 */
const ENTRIES = {
  engineProcess: 'engine/host/engineProcess.ts',
  runProcess: 'engine/host/runProcess.ts',
  cli: 'engine/cli/main.ts',
  evaluatorProcess: 'engine/host/evaluatorProcess.ts',
  'logWriter.boot': 'engine/replay/logWriter.ts',
  'exploreWorker.boot': 'engine/replay/exploreWorker.ts',
}

/**
 * Packages left to Node: native code (better-sqlite3), esbuild's binary and
 * WebAssembly, which are found beside their package, the TypeScript loader,
 * and those that must be one copy in the process (Yjs) or load native helpers
 * when present (ws). The rest (yaml, acorn, source maps) go into the bundle:
 * loading a package's many small files costs the engine's start more than
 * its code does (yaml alone ~35 ms).
 */
const EXTERNAL = ['better-sqlite3', 'esbuild', 'esbuild-wasm', 'tsx', 'yjs', 'y-protocols', 'lib0', '@y/websocket-server', 'ws']

/** How long a chunk no build uses any more is kept. */
const OLD_CHUNK_MS = 24 * 60 * 60 * 1000

/** The engine process's entry in the bundle. */
export const ENGINE_BUNDLE = join(ENGINE_BUNDLE_DIR, 'engineProcess.js')

/** How engine code is bundled, as `loom` runs it: ESM for Node 20, packages with native parts left outside. */
function bundleOptions(entryPoints: Record<string, string>, outdir: string): BuildOptions {
  return {
    absWorkingDir: root,
    entryPoints,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL.flatMap((p) => [p, `${p}/*`]),
    // The CLI loads each command's code when it runs (engine/cli/main.ts): those stay chunks of their own.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    // A bundled CommonJS package (yaml) calls require for Node's own modules.
    banner: { js: "import { createRequire as __loomRequire } from 'node:module'; const require = __loomRequire(import.meta.url);" },
    sourcemap: 'linked',
    // A crash's stack is mapped back when printed (engine/host/originalStack.ts): that needs only the
    // mappings, the sources are beside them in the checkout (with them, the maps were 1.6 MB on the heap
    // of a process run with --enable-source-maps).
    sourcesContent: false,
    logLevel: 'error',
    outdir,
  }
}

/**
 * Bundles `entryPoints` into `outdir` as `loom` runs engine code, each file replaced whole, the chunks before
 * the entries that import them (a process starting meanwhile, another test or window, reads the old build or
 * the new), and with the text of each kept to one byte per character on V8's heap (oneByteSource.ts).
 * Returns the files written.
 */
export function writeBundle(entryPoints: Record<string, string>, outdir: string): OutputFile[] {
  // Loaded only to build: every `loom serve` checks the bundle, few rebuild it.
  const { buildSync } = createRequire(import.meta.url)('esbuild') as { buildSync: typeof BuildSync }
  const result = buildSync({ ...bundleOptions(entryPoints, outdir), write: false, metafile: true })
  mkdirSync(outdir, { recursive: true })
  const isEntry = (file: OutputFile) => Object.keys(entryPoints).some((name) => basename(file.path) === `${name}.js`)
  const files = [...result.outputFiles].sort((a, b) => Number(isEntry(a)) - Number(isEntry(b)))
  for (const file of files) {
    const temp = `${file.path}.${process.pid}.tmp`
    writeFileSync(temp, file.path.endsWith('.js') ? oneByteSource(file.text) : file.contents)
    renameSync(temp, file.path)
  }
  // What the build read, for the check of whether it is still fresh (scripts/bundleStale.js).
  writeBuildMeta(outdir, Object.keys(result.metafile!.inputs))
  return files
}

export function buildEngine(outdir = ENGINE_BUNDLE_DIR): void {
  const files = writeBundle(ENTRIES, outdir)
  // Chunks of earlier builds, a day on: a `loom serve` started from one loads some of its chunks
  // only when it needs them (sharing, an error's report), and may still run.
  const current = new Set(files.map((f) => basename(f.path)))
  for (const name of readdirSync(outdir)) {
    const path = join(outdir, name)
    if (name.startsWith('chunk-') && !current.has(name) && Date.now() - statSync(path).mtimeMs > OLD_CHUNK_MS) rmSync(path, { force: true })
  }
}

/** Builds the bundle if it is missing or older than a source, and says so. Returns the engine process's entry. */
export function ensureEngineBundle(say: (line: string) => void, outdir = ENGINE_BUNDLE_DIR): string {
  const stale = engineBundleStale(root, outdir)
  if (stale) {
    say(`building the engine process (${relative(root, outdir)}/)${stale === 'missing' ? ' for the first time' : ': its sources changed'}…`)
    buildEngine(outdir)
  }
  return join(outdir, 'engineProcess.js')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildEngine()
  console.log(`built ${ENGINE_BUNDLE_DIR}`)
}
