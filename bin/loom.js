#!/usr/bin/env node
// The `loom` command. It runs the CLI bundled as plain JavaScript
// (dist/engine/cli.js, built by scripts/build-engine.ts) when the bundle is
// newer than every source: then no TypeScript loader has to start first,
// which `loom serve` would spend a tenth of a second on. Otherwise it
// registers tsx and runs the sources (and `loom serve` rebuilds the bundle).
import { engineBundleStale } from '../scripts/engineBundleStale.js'
import { repoRoot } from '../scripts/repoRoot.js'

const root = repoRoot(import.meta.url)
let main
if (!engineBundleStale(root, `${root}/dist/engine`)) {
  ;({ main } = await import('../dist/engine/cli.js'))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../engine/cli/main.ts'))
}
process.exitCode = await main(process.argv.slice(2))
