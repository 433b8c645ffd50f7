// The recent notebooks' list (engine/host/recentNotebooks.ts): newest first,
// each once, at most RECENT_MAX; a damaged, hostile or missing file is ignored, never a crash.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readRecent, recentFile, rememberNotebook, RECENT_MAX } from '../engine/host/recentNotebooks.ts'

function notebooks(n: number): { dir: string; paths: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'loom-recent-'))
  const paths = Array.from({ length: n }, (_, i) => join(dir, `nb${i}.loom.md`))
  for (const p of paths) writeFileSync(p, '# nb\n')
  return { dir, paths }
}

test('the list is in the config folder: XDG_CONFIG_HOME, else ~/.config', () => {
  assert.equal(recentFile({ XDG_CONFIG_HOME: '/x/conf' }), '/x/conf/loom/recent.json')
  assert.match(recentFile({}), /\/\.config\/loom\/recent\.json$/)
  // A relative XDG_CONFIG_HOME is not a place (the spec says to ignore it).
  assert.match(recentFile({ XDG_CONFIG_HOME: 'rel' }), /\/\.config\/loom\/recent\.json$/)
})

test('a notebook opened again moves to the top, each is listed once, and the list keeps the last ten', () => {
  const { dir, paths } = notebooks(RECENT_MAX + 3)
  const file = join(dir, 'conf', 'recent.json')
  for (const p of paths) rememberNotebook(p, file)
  rememberNotebook(paths[5]!, file)
  const listed = readRecent(file).map((r) => r.path)
  assert.equal(listed.length, RECENT_MAX)
  assert.equal(listed[0], paths[5])
  assert.equal(new Set(listed).size, listed.length)
  assert.ok(!listed.includes(paths[0]!), 'the oldest fell off')
})

test('a damaged or hostile recent.json is ignored and replaced at the next open: garbage, wrong shapes, nulls, deep nesting, huge, relative and missing paths', () => {
  const { dir, paths } = notebooks(1)
  const file = join(dir, 'recent.json')
  const hostile = [
    'not json {{{',
    '',
    'null',
    '[1,2,3]',
    '{"recent": "nope"}',
    '{"recent": [null, 1, "x", {"path": 5}, {"path": "relative.loom.md"}, {"path": "/no/such/file.loom.md"}, {"path": "/a\\u0000b"}]}',
    `{"recent": ${'['.repeat(5000)}${']'.repeat(5000)}}`,
    JSON.stringify({ recent: [{ path: `/${'a'.repeat(300_000)}` }] }),
  ]
  for (const text of hostile) {
    writeFileSync(file, text)
    assert.deepEqual(readRecent(file), [], text.slice(0, 60))
    rememberNotebook(paths[0]!, file)
    assert.deepEqual(readRecent(file).map((r) => r.path), [paths[0]], `replaced after ${text.slice(0, 60)}`)
  }
  // A folder where the file should be, or a config folder that cannot be written: nothing thrown, nothing listed.
  mkdirSync(join(dir, 'folder.json'))
  assert.deepEqual(readRecent(join(dir, 'folder.json')), [])
  assert.doesNotThrow(() => rememberNotebook(paths[0]!, join(dir, 'folder.json')))
  const locked = join(dir, 'locked')
  mkdirSync(locked)
  chmodSync(locked, 0o500)
  assert.doesNotThrow(() => rememberNotebook(paths[0]!, join(locked, 'loom', 'recent.json')))
  assert.ok(JSON.parse(readFileSync(file, 'utf8')).recent.length === 1)
})
