// `loom serve` rebuilds the UI bundle (dist/renderer/) when a file it was
// built from changed, as it rebuilds the engine's: after a pull, the window
// must not be the old UI talking to the new engine. Here the renderer is
// built for real into a temporary folder, and its own list of inputs decides.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildRenderer, METAFILE } from '../scripts/build-renderer.ts'
import { rendererStale } from '../engine/host/rendererStale.ts'

const root = resolve('.')

test('the UI bundle is fresh once built, stale when an input is newer or its list unreadable, missing when there is none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-renderer-stale-'))
  assert.equal(rendererStale(dir, root), 'missing')
  await buildRenderer(dir)
  assert.equal(rendererStale(dir, root), null, 'every input, the cell API types a plugin loads among them, is older than the build')
  // An input touched after the build (as a pull does): its mtime is moved past the bundle's, the file itself unchanged.
  const built = statSync(join(dir, 'index.html')).mtime
  const input = join(root, 'renderer/Banner.ts')
  const before = statSync(input)
  try {
    utimesSync(input, before.atime, new Date(built.getTime() + 5_000))
    assert.equal(rendererStale(dir, root), 'stale')
  } finally {
    utimesSync(input, before.atime, before.mtime)
  }
  assert.equal(rendererStale(dir, root), null)
  const meta = readFileSync(join(dir, METAFILE), 'utf8')
  writeFileSync(join(dir, METAFILE), '{not json')
  assert.equal(rendererStale(dir, root), 'stale')
  writeFileSync(join(dir, METAFILE), meta.replace('"inputs": [', '"inputs": [\n  "renderer/gone.ts",'))
  assert.equal(rendererStale(dir, root), 'stale', 'an input that is gone')
})
