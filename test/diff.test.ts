// `loom diff DB A B`: what changed in the state between any two moments of any
// branches, per state and per key of a map, against a history whose answers
// are known (the bank sample's transfers).
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'loom-diff-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })
const db = join(dir, 'bank.loom.db')

before(() => {
  copyFileSync('samples/bank.loom.md', join(dir, 'bank.loom.md'))
  // Event 1 is the code; 2..5 take the four transfers (the third is refused).
  assert.equal(loom('run', join(dir, 'bank.loom.md'), '--steps', '4').status, 0)
  assert.equal(loom('fork', db, '--at', '2', '--name', 'what-if').status, 0)
})

test('a map changes key by key and a queue as a whole, between two moments of the live branch', () => {
  const r = loom('diff', db, '1', '3')
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.deepEqual(lines.slice(0, 3), ['~ accounts.alice: 100 → 70', '~ accounts.bob: 50 → 20', '~ accounts.carol: 0 → 60'])
  assert.match(lines[3]!, /^~ transfers: \[.*\] → \[\{"amount":100,"from":"carol","to":"alice"\},\{"amount":45,"from":"carol","to":"alice"\}\]$/)
  assert.match(r.stderr, /from branch 'main' after event 1 to branch 'main' after event 3/)
})

test('across branches, with --json: each change with its state, kind, before and after', () => {
  const r = loom('diff', db, 'what-if@2', '5', '--json')
  assert.equal(r.status, 0, r.stderr)
  const changes = JSON.parse(r.stdout) as { state: string; change: string; before: unknown; after: unknown; keys?: { key: string }[] }[]
  assert.deepEqual(changes.map((c) => [c.state, c.change]), [['accounts', 'changed'], ['transfers', 'changed'], ['refused', 'changed']])
  assert.deepEqual([changes[0]!.after, changes[2]!.before, changes[2]!.after], [{ alice: 115, bob: 20, carol: 15 }, 0, 1])
  assert.deepEqual(loom('diff', db, '3', '3', '--json').stdout.trim(), '[]')
})

test('a moment that is not there, or not a moment, is bad input (exit 2) that says what to give', () => {
  for (const [args, said] of [
    [['nope@2', '5'], /there is no branch 'nope'/],
    [['2', '99'], /has events 1\.\.5; there is no event 99/],
    [['two', '5'], /'two' is not a moment: give an event number .* or BRANCH@SEQ/],
  ] as const) {
    const r = loom('diff', db, ...args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
    assert.match(r.stderr, said)
  }
})
