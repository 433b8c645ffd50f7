// A counterexample saved as a branch says what failed on it, as a live run
// does: `loom log --failures` lists the failed test after its last event (not
// "failures not recorded … a Loom before this version"), whether it was saved
// by `loom explore --save-branch` or by "Open as branch" in the window, whose
// top bar then counts it and E goes to it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { EngineHost } from '../engine/host/EngineHost.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { notebook } from './helpers.ts'

function loom(...args: string[]) {
  return spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })
}

function raceCopy(): { nb: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loom-cx-failure-'))
  const nb = join(dir, 'race.loom.md')
  copyFileSync('samples/tickets-race.loom.md', nb)
  return { nb, db: join(dir, 'race.loom.db') }
}

function failuresOf(db: string, branch: string) {
  const r = loom('log', db, '--branch', branch, '--failures', '--json')
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as { failures: { seq: number; kind: string; name: string; cell: string | null; message: string }[]; notRecordedUntil: number }
}

test('loom explore --save-branch: the saved branch records the failed test after its last event', () => {
  const { nb, db } = raceCopy()
  const r = loom('explore', nb, '--save-branch', 'race')
  assert.equal(r.status, 1, r.stderr)
  const head = Number(/events 1\.\.(\d+)/.exec(r.stdout)?.[1])
  const list = failuresOf(db, 'race')
  assert.deepEqual(list.failures.map((f) => [f.seq, f.kind, f.name, f.cell]), [[head, 'test', 'no ticket is sold twice', 'step']])
  assert.equal(list.notRecordedUntil, 0)
  const text = loom('log', db, '--branch', 'race')
  assert.match(text.stdout, /✗ test 'no ticket is sold twice' failed/)
  assert.doesNotMatch(text.stderr, /a Loom before this version/)
})

test('a counterexample that ends elsewhere still records a test that failed on its way, and an error it ends in', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-cx-on-the-way-'))
  const nb = join(dir, 'way.loom.md')
  const db = join(dir, 'way.loom.db')
  // The test fails after the first step (found first); the app waits for good after the second (a deadlock).
  writeFileSync(nb, notebook({ s: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() >= 2) sys.abort('done')\n  n.set(n.get() + 1)\n}\ntest('n is never 1', () => n.get() !== 1)" }))
  const report = loom('explore', nb)
  const deadlock = /\n\[(\d)\] ✗ deadlock after 2 transactions/.exec(report.stdout)?.[1]
  assert.ok(deadlock, report.stdout)
  assert.equal(loom('explore', nb, '--save-branch', 'stuck', '--violation', deadlock).status, 1)
  const list = failuresOf(db, 'stuck')
  assert.deepEqual(list.failures.map((f) => [f.seq, f.kind, f.name]), [[2, 'test', 'n is never 1']], 'the state after the first step (event 2, after the code event) fails the test, as a debug run would say')
  assert.equal(list.notRecordedUntil, 0)
  assert.doesNotMatch(loom('log', db, '--branch', 'stuck').stderr, /a Loom before this version/)

  // A step that throws: no event, the error kept after the last one.
  writeFileSync(nb, notebook({ s: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() === 1) throw new Error('one is too many')\n  n.set(n.get() + 1)\n}" }))
  const saved = loom('explore', nb, '--save-branch', 'thrown')
  assert.equal(saved.status, 1, saved.stderr)
  assert.deepEqual(failuresOf(db, 'thrown').failures.map((f) => [f.kind, f.name, /one is too many/.test(f.message)]), [['error', 'step', true]])
})

test("the window's Open as branch: the counterexample records its failed test too", async () => {
  const { nb, db } = raceCopy()
  const host = await EngineHost.open({ notebook: nb })
  const [ui, engine] = memoryPair()
  host.connect(engine)
  const client = new EngineClient(ui)
  try {
    const r = await client.call('explore', {})
    assert.equal(r.violations[0]?.kind, 'test')
    const race = await client.call('saveCounterexample', { job: r.job, violation: 0, name: 'race' })
    const list = failuresOf(db, 'race')
    assert.deepEqual(list.failures.map((f) => [f.seq, f.name]), [[race.head, 'no ticket is sold twice']])
  } finally {
    client.close()
    await host.close()
  }
})

test('Open as branch in the window: the counterexample\'s failed test is counted in the top bar and E goes to it', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async () => {
  const WAIT = { timeout: 45_000 }
  const { nb } = raceCopy()
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui)
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  try {
    await page.goto(server.url)
    await page.locator('[data-head]').first().waitFor(WAIT)
    assert.equal(await page.locator('.tb-problems').isHidden(), true, 'nothing has failed yet')
    await page.locator('.insp-tab[data-tab="agent"]').click()
    await page.locator('.ag-explore-run').click()
    await page.locator('button', { hasText: 'Open as branch' }).first().click(WAIT)
    await page.locator('.toast', { hasText: /Opened counterexample as branch (\S+)/ }).waitFor(WAIT)
    const name = /branch (\S+)/.exec((await page.locator('.toast', { hasText: 'Opened counterexample' }).textContent())!)![1]!
    await page.locator('.tb-problems:not([hidden])', { hasText: '1 failed test' }).waitFor(WAIT)
    await page.locator('.tb-problems').click()
    await page.locator('.tl-moment', { hasText: `${name} · event 5` }).waitFor(WAIT)
  } finally {
    await page.close()
    await server.stop()
    await browser.close()
  }
})
