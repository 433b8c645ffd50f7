/** The list of a bundle's inputs, in its folder. */
export const BUILD_META: string
/** Whether the bundle at `outdir` is missing, older than an input, or fresh (null). */
export function bundleStale(outdir: string, root: string, builtFiles: string[]): 'missing' | 'stale' | null
/** Writes the list of a build's inputs beside it. */
export function writeBuildMeta(outdir: string, inputs: string[]): void
