// `loom` runs its engine from a bundle (dist/engine/) and `loom serve` serves
// the UI from one (dist/renderer/); each is rebuilt when a file it was built
// from changed: after a pull, the window must not be the old UI talking to the
// new engine, nor the CLI yesterday's engine. Both bundles are built for real
// into temporary folders here, and the one check (scripts/bundleStale.js)
// decides from the list of inputs each build writes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildRenderer } from '../scripts/build-renderer.ts'
import { writeBundle } from '../scripts/build-engine.ts'
import { BUILD_META, bundleStale } from '../scripts/bundleStale.js'
import { engineBundleStale } from '../scripts/engineBundleStale.js'

const root = resolve('.')

/** Runs `check` while `input`'s mtime is moved past `built`, the file itself unchanged (as a pull does). */
function touchedAfter<T>(input: string, built: Date, check: () => T): T {
  const before = statSync(input)
  try {
    utimesSync(input, before.atime, new Date(built.getTime() + 5_000))
    return check()
  } finally {
    utimesSync(input, before.atime, before.mtime)
  }
}

test('the UI bundle is fresh once built, stale when an input is newer or its list unreadable, missing when there is none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-renderer-stale-'))
  const stale = () => bundleStale(dir, root, ['index.html'])
  try {
    assert.equal(stale(), 'missing')
    await buildRenderer(dir)
    assert.equal(stale(), null, 'every input, the cell API types a plugin loads among them, is older than the build')
    const built = statSync(join(dir, 'index.html')).mtime
    assert.equal(touchedAfter(join(root, 'renderer/Banner.ts'), built, stale), 'stale')
    assert.equal(touchedAfter(join(root, 'renderer/notebook/loom-api.d.ts'), built, stale), 'stale', 'an input a plugin loads')
    assert.equal(stale(), null)
    const meta = readFileSync(join(dir, BUILD_META), 'utf8')
    writeFileSync(join(dir, BUILD_META), '{not json')
    assert.equal(stale(), 'stale')
    writeFileSync(join(dir, BUILD_META), meta.replace('"inputs": [', '"inputs": [\n  "renderer/gone.ts",'))
    assert.equal(stale(), 'stale', 'an input that is gone')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the engine bundle is stale when a file it was built from is newer, and not when an unrelated one is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-engine-stale-'))
  const stale = () => bundleStale(dir, root, ['exploreWorker.boot.js'])
  try {
    assert.equal(engineBundleStale(root, dir), 'missing')
    assert.equal(stale(), 'missing')
    writeBundle({ 'exploreWorker.boot': 'engine/replay/exploreWorker.ts' }, dir)
    assert.equal(stale(), null)
    const built = statSync(join(dir, 'exploreWorker.boot.js')).mtime
    const { inputs } = JSON.parse(readFileSync(join(dir, BUILD_META), 'utf8')) as { inputs: string[] }
    assert.ok(inputs.includes('engine/replay/search.ts'), 'the thread is built from the search')
    assert.equal(touchedAfter(join(root, 'engine/replay/search.ts'), built, stale), 'stale')
    assert.equal(touchedAfter(join(root, 'renderer/Banner.ts'), built, stale), null, 'the UI is not part of the engine')
    rmSync(join(dir, BUILD_META))
    assert.equal(stale(), 'stale', 'a build without its list of inputs')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
