// Replay with the fixed code, in the window: a real `loom serve` records the
// oversell of test/fixtures/seats.loom.md from real HTTP requests, the cell
// is fixed live in the editor, and R marks each divergence at its event on
// the new branch, in the engine's words (the window does not describe them
// again); the confirmation that no longer commits is marked on the recorded
// event, saying where it would have come.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Locator } from 'playwright-core'
import { buildUiOnce, CHROMIUM, hoverText, launchChromium, openAppWindow } from './browser.ts'
import { BUG, FIX, FIXTURE, oversell } from './seatsStory.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = process.env.LOOM_SHOTS

const seen = (l: Locator, text: string | RegExp) => l.filter({ hasText: text }).first().waitFor(WAIT)

test('R after a live fix marks each divergence at its event on the new branch, in words; the confirmation that no longer commits on the recorded event', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async (t) => {
  const [ui, browser]: [string, Browser] = await Promise.all([buildUiOnce(), launchChromium()])
  t.after(() => browser.close())
  const dir = await mkdtemp(join(tmpdir(), 'loom-replay-ui-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const notebook = join(dir, 'seats.loom.md')
  await copyFile(FIXTURE, notebook)
  const { page, pageErrors, app, close } = await openAppWindow(browser, ui, notebook)
  try {
    await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
    await page.locator('body').press('F8')
    await seen(page.locator('.run-pill[data-state="parked"]'), 'the sale is open')
    await oversell(app, async () => ((await (await fetch(`${app}/sys/state`)).json()) as { state: { seats: number; holds: Record<string, string> } }).state)
    await seen(page.locator('.tb-problems'), /failed test/)

    // The fix, typed into #api while the app runs: a code event.
    const hash = (await page.locator('.tb-meta').textContent()) ?? ''
    const api = page.locator('.code-cell[data-cell="api"]')
    await api.locator('.view-line', { hasText: BUG }).click()
    await page.keyboard.press('End')
    // In one go, as a paste: typed key by key, a pause of the edit delay would apply a half-typed fix first.
    await page.keyboard.insertText(FIX.slice(BUG.length))
    await page.keyboard.press('Shift+Enter')
    await page.locator('.tb-meta').filter({ hasNotText: hash }).waitFor(WAIT)

    await page.locator('.tl-label[data-branch="main"]').click()
    await page.locator('body').press('r')
    const toast = page.locator('.toast').filter({ hasText: /Replayed/ })
    await toast.first().waitFor(WAIT)
    assert.equal(await toast.first().textContent(), 'Replayed 6 inputs of main with the current code onto main-replay: 3 diverge, first at event 3 (answered 409 instead of 201 (now {"error":"sold out"}); holds["bob"]: none → "bob" recorded, unchanged now).')
    // The replay worked; its outcomes differ: a warning to read, not an error.
    assert.equal(await toast.first().getAttribute('class'), 'toast warning')
    await page.locator('.tl-label[data-branch="main-replay"]').waitFor(WAIT)
    await page.locator('.timeline[data-selected-branch="main-replay"][data-selected-seq="3"]').waitFor(WAIT)
    if (SHOTS) {
      await mkdir(SHOTS, { recursive: true })
      await page.screenshot({ path: join(SHOTS, 'replay-toast.png') })
    }
    await page.locator('.toast').first().waitFor({ state: 'detached', ...WAIT })

    // Each mark where the user looks for it: the new branch ends at event 6, the look at the seats, and its mark is there.
    assert.equal(await page.locator('.tl-label[data-branch="main-replay"]').getAttribute('data-divergences'), '2')
    assert.equal(await hoverText(page, 'main-replay', 3), 'main-replay · event 3 · http · diverged: answered 409 instead of 201 (now {"error":"sold out"}); holds["bob"]: none → "bob" recorded, unchanged now')
    assert.equal(await hoverText(page, 'main-replay', 6), 'main-replay · event 6 · http · diverged: answered 200 with seats: 0 instead of -1')
    assert.doesNotMatch(await hoverText(page, 'main-replay', 5), /diverged/, 'the first confirmation is the same with the fix')
    const gone = await hoverText(page, 'main', 6)
    assert.match(gone, /^main · event 6 · step · diverged: it no longer commits \(nothing is held\); on 'main-replay' it would have come after event 5/)
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'replay-hover-main-6.png') })
    await hoverText(page, 'main-replay', 6)
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'replay-hover-6.png') })

    // The event details say the same words.
    await page.locator('.insp-tab[data-tab="event"]').click()
    await page.locator('.tl-label[data-branch="main-replay"]').click()
    await page.locator('body').press('End')
    await page.locator('.ed-title[data-seq="6"]').waitFor(WAIT)
    await seen(page.locator('.ed-divergence'), 'answered 200 with seats: 0 instead of -1')
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'replay-details.png') })
    await page.locator('.tl-label[data-branch="main"]').click()
    await page.locator('body').press('End')
    for (let k = 0; k < 2; k++) await page.locator('body').press('ArrowLeft') // main's head is the fix, event 8
    await page.locator('.ed-title[data-seq="6"]').waitFor(WAIT)
    await seen(page.locator('.ed-divergence'), "it no longer commits (nothing is held); on 'main-replay' it would have come after event 5")
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'replay-details-main-6.png') })
    assert.deepEqual(pageErrors, [])
  } finally {
    await close()
  }
})
