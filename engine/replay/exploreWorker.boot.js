// Entry of an exploration thread run from the sources (a bundled `loom`
// starts the bundled thread directly). Threads do not inherit the TypeScript
// loader: when the engine's bundle is as new as every source, the thread
// loads the bundled one, as bin/loom.js does (a tenth of the CPU time of
// compiling the sources again in each thread); else it registers tsx.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { engineBundleStale } from '../../scripts/engineBundleStale.js'
import { repoRoot } from '../../scripts/repoRoot.js'

const root = repoRoot(import.meta.url)
if (!engineBundleStale(root, `${root}/dist/engine`)) await import(pathToFileURL(join(root, 'dist/engine/exploreWorker.boot.js')).href)
else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('./exploreWorker.ts')
}
