// A log someone sent names its states, keys and values as it likes: what
// loom log, state, diff, query and profile print of it never drives the
// terminal (an escape sequence can set its title or clipboard, or clear it).
// Control characters are shown as escapes; --json reads back the same.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-escapes-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

const nb = join(dir, 'escapes.loom.md')
const db = join(dir, 'escapes.loom.db')
writeFileSync(nb, `---
title: Escapes
---
\`\`\`ts #esc
const n = state.counter('n\\u001b]0;TITLE\\u0007')
const m = state.map<string>('m', {})
export function step() {
  if (n.get() >= 1) sys.abort('done')
  n.add(1)
  m.set('k\\u001b[2J\\u009b', 'v\\u001b]52;c;ZWNobyBoaQ==\\u0007')
  sys.log('said', '\\u001b[31mred')
}
\`\`\`
`)
assert.equal(loom('run', nb, '--until-idle').status, 0)

test('loom log, state, diff, query and profile print no control character of what the log holds, and show it as its escape', () => {
  for (const args of [['log', db], ['state', db], ['diff', db, '1', '2'], ['query', db, 'event.seq > 0'], ['profile', db], ['query', db, "m.get('k\\u001b[2J\\u009b')"]]) {
    const r = loom(...args)
    assert.ok(r.status === 0, `${args.join(' ')}: ${r.stderr}`)
    assert.doesNotMatch(r.stdout + r.stderr, CONTROL, args.join(' '))
  }
  assert.match(loom('state', db).stdout, /n\\u001b\]0;TITLE\\u0007 \(counter\) = 1/)
})

test('--json output reads back the same names and values', () => {
  const r = loom('state', db, '--json')
  assert.doesNotMatch(r.stdout, CONTROL)
  const values = JSON.parse(r.stdout) as Record<string, unknown>
  assert.deepEqual(Object.keys(values).sort(), ['m', 'n\u001b]0;TITLE\u0007'])
  assert.deepEqual(values.m, { 'k\u001b[2J\u009b': 'v\u001b]52;c;ZWNobyBoaQ==\u0007' })
})

test("loom run passes an app's colours to the terminal but not the escapes that set the clipboard or title or clear the screen", () => {
  const app = join(dir, 'tty.loom.md')
  writeFileSync(app, ['# Tty', '', '```ts #tty', 'export function start() {', "  sys.tty.write('\\u001b[31mred\\u001b[0m plain\\n')", "  sys.tty.write('clip\\u001b]52;c;ZWNobyBoaQ==\\u0007 title\\u001b]0;T\\u0007 clear\\u001b[2J\\u001bc bell\\u0007 end\\n')", '  sys.halt()', '}', '```', ''].join('\n'))
  const r = loom('run', app, '--db', join(dir, 'tty.loom.db'))
  assert.equal(r.status, 0, r.stderr)
  assert.ok(r.stdout.includes('\u001b[31mred\u001b[0m plain\n'), 'colours pass as they are')
  const rest = r.stdout.replace(/\u001b\[[0-9;]*m/g, '')
  assert.doesNotMatch(rest, CONTROL, 'nothing else reaches the terminal raw')
  assert.ok(rest.includes('clip\\u001b]52;c;ZWNobyBoaQ==\\u0007 title\\u001b]0;T\\u0007 clear\\u001b[2J\\u001bc bell\\u0007 end'), 'each is shown as its escape')
})

test('a colour cut across two chunks of output is kept whole; an escape that is not one is shown, also at the very end', async () => {
  const { terminalStream } = await import('../../engine/cli/printable.ts')
  const s = terminalStream()
  assert.equal(s('a\u001b[3') + s('1mb') + s(), 'a\u001b[31mb')
  const t = terminalStream()
  assert.equal(t('x\u001b') + t(']52;c;Zg==\u0007') + t(), 'x\\u001b]52;c;Zg==\\u0007')
  const u = terminalStream()
  assert.equal(u('tail\u001b[') + u(), 'tail\\u001b[')
  // explore's progress line rewrites itself on stderr: cursor up and erase line pass there, nowhere else.
  assert.equal(terminalStream(true)('\u001b[1A\u001b[2Kline'), '\u001b[1A\u001b[2Kline')
  assert.equal(terminalStream()('\u001b[1A\u001b[2Kline'), '\\u001b[1A\\u001b[2Kline')
})
