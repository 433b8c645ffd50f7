// What the engine's bundled code costs every engine process in heap: V8 holds
// each module's text one byte per character only when all of it is within
// Latin-1 (a dash in a comment doubled it); under --enable-source-maps Node
// kept each bundle file's map (the sources in it were 1.6 MB), and decoded it
// whole, 10 MB, for the first stack that passed through it (a cell's error).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildEngine, writeBundle } from '../scripts/build-engine.ts'
import { oneByteSource } from '../scripts/oneByteSource.ts'
import { engineLaunch } from '../engine/host/engineLaunch.ts'

const REPO = resolve(import.meta.dirname, '..')

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

test('the engine bundle is held one byte per character, and its source maps carry no copy of the sources', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'loom-bundle-heap-'))
  dirs.push(outdir)
  buildEngine(outdir)
  const files = readdirSync(outdir)
  assert.ok(files.includes('engineProcess.js') && files.includes('runProcess.js'), files.join(', '))
  for (const name of files.filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(outdir, name), 'utf8')
    const wide = /[^\0-\xff]/.exec(text)
    if (wide) {
      const line = text.slice(0, wide.index).split('\n').length
      assert.fail(`${name}:${line} has '${wide[0]}', beyond Latin-1: V8 would hold all ${text.length} characters of ${name} in two bytes each (scripts/oneByteSource.ts replaces such characters in comments only: elsewhere, write an escape in the source)`)
    }
  }
  for (const name of files.filter((f) => f.endsWith('.js.map'))) {
    const map = JSON.parse(readFileSync(join(outdir, name), 'utf8')) as { sourcesContent?: unknown; mappings?: string }
    assert.equal(map.sourcesContent, undefined, `${name} carries the sources' text`)
  }
})

test('only comments change, each character for one, so the source maps still point at the same columns', () => {
  const code = [
    'class A {',
    '  /** runs — once… */',
    '  run() { return [String.raw`a—b`, /c→d/u.source, "e\\u2014f"] } // ≈ 100 µs, 😀',
    '}',
    'export const out = new A().run()',
  ].join('\n')
  const one = oneByteSource(code)
  assert.equal(one.length, code.length)
  assert.deepEqual(one.split('\n').map((l) => l.length), code.split('\n').map((l) => l.length))
  assert.match(one, /\/\*\* runs - once\. \*\//)
  assert.match(one, /\/\/ ~ 100 µs, \?\?$/m, 'Latin-1 (µ) kept; a character beyond it replaced, one per UTF-16 unit')
  assert.ok(one.includes('String.raw`a—b`') && one.includes('/c→d/u'), 'code other than comments is left as it is')
  assert.equal(oneByteSource('const plain = 1 // ascii only\n'), 'const plain = 1 // ascii only\n')
})

/** Bundles `fixture` (test/fixtures/) as the engine is bundled, inside the checkout where its packages are found. */
function bundled(fixture: string): string {
  const outdir = join(REPO, 'dist', `test-${fixture}-${process.pid}`)
  dirs.push(outdir)
  writeBundle({ [fixture]: `test/fixtures/${fixture}.ts` }, outdir)
  return join(outdir, `${fixture}.js`)
}

test("a cell's first error leaves the engine process's heap as it was: no source map is decoded for it", () => {
  const entry = bundled('cellErrorHeap')
  // The engine process's own flags (its confinement too: the bundle is read from the checkout it may read).
  const { execArgv } = engineLaunch({ notebook: join(REPO, 'samples', 'counter.loom.md') })
  const out = execFileSync(process.execPath, [...execArgv.filter((a) => !a.startsWith('--import=')), '--expose-gc', entry], { cwd: REPO, encoding: 'utf8' })
  const heap = JSON.parse(out) as { running: number; afterError: number; threw: boolean }
  assert.ok(heap.threw, 'the cell threw')
  // With --enable-source-maps the error's stack decoded the bundle's map: +9.8 MB, kept.
  assert.ok(heap.afterError - heap.running < 3, `the heap grew from ${heap.running.toFixed(1)} to ${heap.afterError.toFixed(1)} MB`)
})

test("a crash's stack names the TypeScript source of each bundled place", () => {
  const entry = bundled('crashStack')
  const out = execFileSync(process.execPath, [entry], { cwd: REPO, encoding: 'utf8' })
  assert.match(out, /^Error: the engine broke\n\s+at deepInTheEngine \(.*test\/fixtures\/crashStack\.ts:5:9\)/)
  assert.doesNotMatch(out, /crashStack\.js:\d/)
})
