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
