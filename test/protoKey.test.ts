// A map key named __proto__ (a person's edit in the state editor, or the
// app's own set) is a key like any other: committed, it shows in `loom
// state`, in `loom diff`, and in the window's state panel — it once set the
// prototype of the object the state was shown as, and vanished from every
// view while the log kept it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { CHROMIUM, servedPage } from './browser.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })
const CELL = "const m = state.map<unknown>('m', { plain: 0 })\nexport function step() {\n  m.set('__proto__', { polluted: true })\n  m.set('constructor', 1)\n  sys.halt()\n}"

function ran(): { dir: string; nb: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loom-proto-key-'))
  const nb = join(dir, 'keys.loom.md')
  writeFileSync(nb, notebook({ s: CELL }))
  const r = loom(['run', nb])
  assert.equal(r.status, 0, r.stderr)
  return { dir, nb, db: join(dir, 'keys.loom.db') }
}

test('a map key named __proto__ (or constructor) shows in loom state and loom diff', () => {
  const { db } = ran()
  const state = loom(['state', db, '--json'])
  assert.equal(state.status, 0, state.stderr)
  assert.equal(state.stdout, '{"m":{"plain":0,"__proto__":{"polluted":true},"constructor":1}}\n')
  // Keys an object inherits a property of are new keys too, as any other: nothing before.
  const diff = loom(['diff', db, '1', '2'])
  assert.equal(diff.status, 0, diff.stderr)
  assert.equal(diff.stdout, '~ m.__proto__: null → {"polluted":true}\n~ m.constructor: null → 1\n')
})

test("a map key named __proto__ shows in the window's state panel", { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async () => {
  const { dir, nb } = ran()
  const { page, server, close } = await servedPage(nb, dir)
  try {
    await page.goto(server.url)
    await page.locator('.insp-tab[data-tab="state"]').click()
    const entry = page.locator('.state-entry[data-state="m"]')
    await entry.getByText('constructor').waitFor(WAIT)
    assert.match(await entry.innerText(), /__proto__\s+\{polluted: true\}/)
  } finally {
    await close()
  }
})
