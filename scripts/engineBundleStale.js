// Whether the engine bundle (dist/engine/, scripts/build-engine.ts) is
// missing or older than what it is built from (scripts/bundleStale.js).
import { bundleStale } from './bundleStale.js'

/** The bundle's entries; a build writes every one. */
export const ENGINE_BUNDLE_ENTRIES = ['engineProcess', 'runProcess', 'cli', 'evaluatorProcess', 'logWriter.boot', 'exploreWorker.boot']

/**
 * 'missing', 'stale' or null (fresh).
 * @param {string} root Loom's folder
 * @param {string} outdir the bundle's folder
 * @returns {'missing' | 'stale' | null}
 */
export function engineBundleStale(root, outdir) {
  return bundleStale(outdir, root, ENGINE_BUNDLE_ENTRIES.map((name) => `${name}.js`))
}
