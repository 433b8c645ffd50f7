// `loom check`: what the editor underlines (Loom's compile problems and
// TypeScript's type errors), from the command line, at their notebook line and
// cell, with exit 1 when there is one.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'loom-check-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

function notebook(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const BAD = [
  '# Bad', '', '```ts #state', "const count = state.var('count', 0)", '```', '', 'Prose between.', '',
  '```ts #step', 'export function step() {', '  const n: string = count.get()', '  count.set(count.get() + 1)', '  sys.tty.write(undefinedName)', '}', '```', '',
].join('\n')

test('a type error is reported at its notebook line and column with its cell, and loom check exits 1', () => {
  const path = notebook('bad.loom.md', BAD)
  const r = loom('check', path)
  assert.equal(r.status, 1, r.stderr)
  assert.equal(r.stdout, [
    `${path}:11:9 #step error TS2322: Type 'number' is not assignable to type 'string'.`,
    `${path}:13:17 #step error TS2552: Cannot find name 'undefinedName'. Did you mean 'undefined'?`,
    '',
  ].join('\n'))
  assert.match(r.stderr, /2 problems/)
  const json = loom('check', path, '--json')
  assert.equal(json.status, 1)
  assert.deepEqual((JSON.parse(json.stdout) as { cell: string; line: number; code: number }[]).map((e) => [e.cell, e.line, e.code]), [['step', 11, 2322], ['step', 13, 2552]])
})

test('every sample checks clean (exit 0): names shared between cells, the cell API and ES2022 are all known', async () => {
  // In this process, the CLI's own entry: TypeScript is loaded once for all of them, not once a sample (the command line is the test above's).
  const { main } = await import('../engine/cli/main.ts')
  for (const f of readdirSync('samples').filter((f) => f.endsWith('.loom.md'))) {
    let out = ''
    let err = ''
    const status = await main(['check', join('samples', f)], { out: (t) => void (out += t), err: (t) => void (err += t), stdin: null })
    assert.equal(status, 0, `${f}:\n${out}${err}`)
    assert.match(err, /no problems/)
  }
})

test('a function declared in one cell is known in another, and code after a return is not an error in a cell', () => {
  const path = notebook('shared.loom.md', [
    '```ts #lib', 'function twice(n: number): number {', '  return 2 * n', '  sys.tty.write("never")', '}', '```', '',
    '```ts #use', "const seen = state.var('seen', 0)", 'export function step() {', '  seen.set(twice(seen.get()))', '}', '```', '',
  ].join('\n'))
  const r = loom('check', path)
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('what the engine would refuse to run is reported too, at its line: an export that is not a method, an await', () => {
  const path = notebook('refused.loom.md', [
    '# Refused', '', '```ts #lib', 'export function twice(n: number) { return 2 * n }', '```', '',
    '```ts #step', 'export function step() {', '  await Promise.resolve()', '}', '```', '',
  ].join('\n'))
  const r = loom('check', path, '--json')
  assert.equal(r.status, 1, r.stderr)
  const problems = JSON.parse(r.stdout) as { cell: string; line: number; code: number | null; message: string }[]
  assert.deepEqual(problems.filter((p) => p.code === null).map((p) => [p.cell, p.line]), [['lib', 4], ['step', 9]])
  assert.match(problems[0]!.message, /'twice' is not a method an app can export/)
})

test('a notebook that does not parse: exit 2 with where and what, as every command says it', () => {
  const path = notebook('broken.loom.md', '---\nseed: [1, 2\n---\n# x\n')
  const r = loom('check', path)
  assert.equal(r.status, 2, r.stdout + r.stderr)
  assert.match(r.stderr, /broken\.loom\.md:\d+/)
  assert.equal(loom('check').status, 2)
})

test('a method exported as a value (export const step = 5) is reported at its line by loom check, and loom run refuses it there too', () => {
  const path = notebook('value.loom.md', ['# Value', '', '```ts #step', 'export const step = 5', '```', ''].join('\n'))
  const r = loom('check', path)
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stdout, /value\.loom\.md:4 #step error: the export 'step' is not a function/)
  const run = loom('test', path)
  assert.equal(run.status, 2)
  assert.match(run.stderr, /value\.loom\.md:4 \(cell #step, line 1\): the export 'step' is not a function/)
})
