// What the engine's bundled code costs every engine process in heap: V8 holds
// each module's text one byte per character only when all of it is within
// Latin-1 (a dash in a comment doubled it), and Node keeps a module's source
// map on the heap under --enable-source-maps (the sources in it were 1.6 MB).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildEngine } from '../scripts/build-engine.ts'
import { oneByteSource } from '../scripts/oneByteSource.ts'

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
