// A failure outlives the session that saw it: the reservations sample
// oversells under a real `loom serve`, the serve stops, a new one starts on
// the same log, and the window it opens marks and counts the failed test
// before anything runs again — what `loom log` lists too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { buildUiOnce, CHROMIUM, hoverText, launchChromium, openAppWindow } from './browser.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = '/tmp/shots-fails'

test('a failed test found under loom serve is marked and counted again after serve restarts on the same log, and loom log lists it', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async (t) => {
  const [ui, browser]: [string, Browser] = await Promise.all([buildUiOnce(), launchChromium()])
  t.after(() => browser.close())
  const dir = await mkdtemp(join(tmpdir(), 'loom-fails-ui-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await mkdir(SHOTS, { recursive: true })
  const notebook = join(dir, 'reservations.loom.md')
  await copyFile('samples/reservations.loom.md', notebook)

  // The live session: two holds of the last seat at once, confirmed two seconds later — the test fails after event 5.
  const first = await openAppWindow(browser, ui, notebook)
  try {
    await first.page.locator('.run-pill[data-state]').first().waitFor(WAIT)
    await first.page.locator('body').press('F8')
    await first.page.locator('.run-pill[data-state="parked"]').first().waitFor(WAIT)
    const answers = await Promise.all(['ann', 'bob'].map((name) => fetch(`${first.app}/reserve`, { method: 'POST', body: JSON.stringify({ name }) })))
    assert.deepEqual(answers.map((a) => a.status), [201, 201])
    await first.page.locator('.tb-problems', { hasText: '1 failed test' }).waitFor(WAIT)
    assert.match(await hoverText(first.page, 'main', 5), /a test failed here/)
    await first.page.locator('.problem.test', { hasText: "test 'never oversold' failed after event 5" }).waitFor(WAIT)
    assert.deepEqual(first.pageErrors, [])
  } finally {
    await first.close()
  }

  // A new serve on the same log: nothing runs (no F8), and the window already knows.
  const again = await openAppWindow(browser, ui, notebook)
  try {
    const problems = again.page.locator('.tb-problems')
    await problems.filter({ hasText: /^1 failed test/ }).waitFor(WAIT)
    assert.match(await hoverText(again.page, 'main', 5), /step · a test failed here/)
    assert.doesNotMatch(await hoverText(again.page, 'main', 4), /failed/)
    assert.match((await problems.getAttribute('title')) ?? '', /not part of its hash chain/)
    // The test's cell says it is broken, as it did live: the failure follows the head the window opened at.
    await again.page.locator('.problem.test', { hasText: "test 'never oversold' failed after event 5" }).waitFor(WAIT)
    assert.equal(await again.page.locator('.cell-badge[data-state="failed"]').count(), 1)
    // E goes to it, and the event's details say what failed.
    await again.page.locator('.insp-tab[data-tab="event"]').click()
    await again.page.locator('body').press('Home')
    await again.page.locator('body').press('e')
    await again.page.locator('.ed-title[data-seq="5"]').waitFor(WAIT)
    await again.page.locator('.ed-test-failure', { hasText: 'test “never oversold”' }).waitFor(WAIT)
    await again.page.mouse.move(0, 0)
    await again.page.screenshot({ path: join(SHOTS, 'reopened.png'), animations: 'disabled' })
    assert.deepEqual(again.pageErrors, [])
  } finally {
    await again.close()
  }

  const r = spawnSync(process.execPath, ['bin/loom.js', 'log', notebook.replace(/\.md$/, '.db'), '--failures', '--json'], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, r.stderr)
  const list = JSON.parse(r.stdout) as { verified: boolean; notRecordedUntil: number; failures: { seq: number; kind: string; name: string }[] }
  assert.equal(list.verified, false)
  assert.equal(list.notRecordedUntil, 0)
  assert.deepEqual(list.failures[0], { ...list.failures[0], seq: 5, kind: 'test', name: 'never oversold' })
})
