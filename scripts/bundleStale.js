// Whether a bundle Loom builds from its sources (the engine's, dist/engine/,
// and the UI's, dist/renderer/) is missing or older than a file it was built
// from: after a pull, `loom` must not run yesterday's engine nor serve
// yesterday's UI. Each build writes the list of its inputs beside it (esbuild's
// metafile), so exactly those are compared — a few hundred stats. Plain
// JavaScript: bin/loom.js asks before any TypeScript loader is there.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The list of a bundle's inputs, in its folder. */
export const BUILD_META = 'build-meta.json'

/**
 * 'missing' (a built file is not there), 'stale' (an input is newer than the
 * oldest built file, gone, or the list is unreadable) or null (fresh).
 * @param {string} outdir the bundle's folder
 * @param {string} root the folder the inputs are named from (Loom's)
 * @param {string[]} builtFiles files every build writes, relative to outdir
 * @returns {'missing' | 'stale' | null}
 */
export function bundleStale(outdir, root, builtFiles) {
  const built = Math.min(...builtFiles.map((name) => mtime(join(outdir, name)) ?? -Infinity))
  if (built === -Infinity) return 'missing'
  let inputs
  try {
    inputs = JSON.parse(readFileSync(join(outdir, BUILD_META), 'utf8')).inputs
  } catch {
    return 'stale'
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return 'stale'
  // An input gone (a file renamed or removed) changed what the bundle would be too.
  return inputs.some((p) => typeof p !== 'string' || (mtime(resolve(root, fileOf(p))) ?? Infinity) > built) ? 'stale' : null
}

/**
 * Writes the list of a build's inputs (the keys of esbuild's metafile.inputs), whole or not at all.
 * @param {string} outdir
 * @param {string[]} inputs
 */
export function writeBuildMeta(outdir, inputs) {
  const path = join(outdir, BUILD_META)
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify({ inputs: [...new Set(inputs)].sort() }, null, 1))
  renameSync(temp, path)
}

/**
 * An input's file: esbuild names one loaded by a plugin `namespace:path` (the cell API's types are `loom-text:…`).
 * @param {string} input
 */
function fileOf(input) {
  const m = /^([a-z][\w-]+):(.+)$/.exec(input)
  return m ? m[2] : input
}

/** @param {string} path */
function mtime(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return null
  }
}
