/** The engine bundle's entries (dist/engine/NAME.js). */
export const ENGINE_BUNDLE_ENTRIES: string[]
/** Whether the engine bundle at `outdir` is missing, older than a source, or fresh (null). */
export function engineBundleStale(root: string, outdir: string): 'missing' | 'stale' | null
