// Bundles the engine process, and the threads it starts, into plain
// JavaScript in dist/engine/, so it runs with no TypeScript loader: tsx
// compiles through esbuild's service, a child process, which a confined
// engine process may not start (DESIGN §9). Packages stay in node_modules.
// `npm run build`; forkEngine builds it when it is missing or older than a
// source under engine/.
import type { buildSync as BuildSync } from 'esbuild'
import { createRequire } from 'node:module'
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export const ENGINE_BUNDLE_DIR = join(root, 'dist', 'engine')

/**
 * Output name → source. The threads keep the names of their .boot.js
 * entries: `new URL('./logWriter.boot.js', import.meta.url)` in the bundled
 * engine then finds the bundled thread beside it.
 */
const ENTRIES = {
  engineProcess: 'engine/host/engineProcess.ts',
  'logWriter.boot': 'engine/replay/logWriter.ts',
  'exploreWorker.boot': 'engine/replay/exploreWorker.ts',
}

/** The engine process's entry in the bundle. */
export const ENGINE_BUNDLE = join(ENGINE_BUNDLE_DIR, 'engineProcess.js')

export function buildEngine(outdir = ENGINE_BUNDLE_DIR): void {
  // Loaded only to build: every `loom serve` checks the bundle, few rebuild it.
  const { buildSync } = createRequire(import.meta.url)('esbuild') as { buildSync: typeof BuildSync }
  const result = buildSync({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'error',
    outdir,
    write: false,
  })
  mkdirSync(outdir, { recursive: true })
  // Each file replaced whole: an engine process starting meanwhile (another test, another window) reads the old one or the new.
  for (const file of result.outputFiles) {
    const temp = `${file.path}.${process.pid}.tmp`
    writeFileSync(temp, file.contents)
    renameSync(temp, file.path)
  }
}

/** Builds the bundle if it is missing or older than a source, and says so. Returns the engine process's entry. */
export function ensureEngineBundle(say: (line: string) => void, outdir = ENGINE_BUNDLE_DIR): string {
  const built = Math.min(...Object.keys(ENTRIES).map((name) => mtime(join(outdir, `${name}.js`)) ?? -Infinity))
  if (built === -Infinity || newestSource() > built) {
    say(`building the engine process (${relative(root, outdir)}/)${built === -Infinity ? ' for the first time' : ': its sources changed'}…`)
    buildEngine(outdir)
  }
  return join(outdir, 'engineProcess.js')
}

function newestSource(): number {
  let newest = mtime(fileURLToPath(import.meta.url)) ?? 0
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, mtime(path) ?? 0)
    }
  }
  walk(join(root, 'engine'))
  return newest
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs
  } catch {
    return null
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildEngine()
  console.log(`built ${ENGINE_BUNDLE_DIR}`)
}
