// Whether the engine bundle (dist/engine/, scripts/build-engine.ts) is
// missing or older than what it is built from. Plain JavaScript: bin/loom.js
// asks before any TypeScript loader is there.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The bundle's entries; a build writes every one. */
export const ENGINE_BUNDLE_ENTRIES = ['engineProcess', 'runProcess', 'cli', 'evaluatorProcess', 'logWriter.boot', 'exploreWorker.boot']

/**
 * 'missing', 'stale' or null (fresh). What it is built from: every .ts under
 * engine/, the scripts (the CLI bundles the build scripts), and the packages
 * bundled into it (npm rewrites node_modules/.package-lock.json on every install).
 * @param {string} root Loom's folder
 * @param {string} outdir the bundle's folder
 * @returns {'missing' | 'stale' | null}
 */
export function engineBundleStale(root, outdir) {
  const built = Math.min(...ENGINE_BUNDLE_ENTRIES.map((name) => mtime(join(outdir, `${name}.js`)) ?? -Infinity))
  if (built === -Infinity) return 'missing'
  let newest = mtime(join(root, 'node_modules', '.package-lock.json')) ?? 0
  /** @param {string} dir @param {boolean} deep */
  const walk = (dir, deep) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (deep) walk(path, deep)
      } else if (/\.[jt]s$/.test(entry.name)) newest = Math.max(newest, mtime(path) ?? 0)
    }
  }
  walk(join(root, 'engine'), true)
  walk(join(root, 'scripts'), false)
  return newest > built ? 'stale' : null
}

/** @param {string} path */
function mtime(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return null
  }
}
