// The Profile and Diff tabs in a browser, against a real `loom serve`: the
// profile table sorts by the header clicked and a row's slowest event seeks
// the timeline there; the diff of a pinned moment and the selected one (on
// any branch) lists each changed state and key, old → new.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { copyFile, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook, type Serving } from './browser.ts'
import { openSession } from '../engine/replay/session.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = process.env.LOOM_SCREENSHOTS
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

const BUSY = {
  slow: "const n = state.var('n', 0)\nexport function step() {\n  let x = 0\n  for (let i = 0; i < 400000; i++) x += i % 7\n  n.set(n.get() + (x > 0 ? 1 : 0))\n}",
  api: "export function http(req) { return { status: 200, body: 'ok' } }",
}

describe('profile and diff in the window', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, () => {
  let browser: Browser
  let ui: string
  before(async () => {
    ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
    if (SHOTS) mkdirSync(SHOTS, { recursive: true })
  })
  after(async () => {
    await browser?.close()
  })

  async function open(server: Serving): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.url)
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    return { page, errors, async close() { await page.close(); await server.stop() } }
  }

  const methods = (page: Page) => page.locator('.pf-row').evaluateAll((rows) => rows.map((r) => r.querySelector('.pf-method')!.textContent))

  test('the profile table sorts by the header clicked, and a row\'s slowest event seeks the timeline there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-profile-ui-'))
    const nb = join(dir, 'busy.loom.md')
    writeFileSync(nb, notebook(BUSY))
    // 8 slow steps and 20 quick requests: step() leads by total time, http() by count.
    const s = await openSession(nb, { db: nb.replace(/\.md$/, '.db') })
    await s.engine.run({ steps: 8 })
    for (let i = 0; i < 20; i++) await s.engine.request({ method: 'GET', path: '/', query: {}, headers: {}, body: '' })
    s.log.close()
    const { page, errors, close } = await open(await serveNotebook(nb, ui, dir))
    try {
      await page.locator('.insp-tab[data-tab="profile"]').click()
      await page.locator('.pf-row').first().waitFor(WAIT)
      assert.deepEqual(await methods(page), ['step()', 'http()', 'code'])
      await page.locator('.panel-sub', { hasText: /29 of 29 events timed/ }).waitFor(WAIT)
      await page.locator('th[data-sort="count"]').click()
      assert.deepEqual(await methods(page), ['http()', 'step()', 'code'])
      assert.equal(await page.locator('th[data-sort="count"]').getAttribute('aria-sort'), 'descending')
      await page.locator('th[data-sort="mean"]').click()
      assert.deepEqual((await methods(page))[0], 'step()')
      assert.equal(await page.locator('.pf-row').first().locator('td').nth(1).textContent(), '8')

      await page.locator('.pf-row', { hasText: 'step()' }).click()
      const slowest = page.locator('.pf-event').first()
      await slowest.waitFor(WAIT)
      assert.equal(await page.locator('.pf-event').count(), 8)
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/profile.png` })
      const seq = Number(await slowest.getAttribute('data-seq'))
      assert.ok(seq >= 2 && seq <= 9, `a step is one of events 2..9, not ${seq}`)
      await slowest.click()
      await page.locator(`.timeline[data-selected-branch="main"][data-selected-seq="${seq}"]`).waitFor(WAIT)

      // The event's details say how long it ran.
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator(`.ed-title[data-seq="${seq}"]`).waitFor(WAIT)
      assert.match((await page.locator('.ed-duration').textContent()) ?? '', /^\d+\.\d+ ms$/)
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/event-duration.png` })
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('diff from a pinned moment to the one selected, on the same branch and across branches, per state and key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-diff-ui-'))
    const nb = join(dir, 'bank.loom.md')
    await copyFile('samples/bank.loom.md', nb)
    // Event 1 is the code; 2..5 take the four transfers (the third is refused).
    assert.equal(loom('run', nb, '--steps', '4').status, 0)
    assert.equal(loom('fork', nb.replace(/\.md$/, '.db'), '--at', '2', '--name', 'what-if').status, 0)
    const { page, errors, close } = await open(await serveNotebook(nb, ui, dir))
    try {
      await page.locator('.tl-label[data-branch="main"]').click()
      await page.locator('.tl-canvas').focus()
      await page.keyboard.press('Home')
      await page.keyboard.press('ArrowRight')
      await page.locator('.timeline[data-selected-branch="main"][data-selected-seq="1"]').waitFor(WAIT)
      await page.locator('.insp-tab[data-tab="diff"]').click()
      await page.locator('.df-pin').click()
      await page.locator('.df-from', { hasText: 'main@1' }).waitFor(WAIT)
      await page.locator('.tl-canvas').focus()
      await page.keyboard.press('ArrowRight')
      await page.keyboard.press('ArrowRight')
      await page.locator('.df-to', { hasText: 'main@3' }).waitFor(WAIT)
      const row = (state: string, key: string) => page.locator(`.df-row[data-state="${state}"][data-key="${key}"]`)
      await row('accounts', 'alice').waitFor(WAIT)
      assert.deepEqual(await row('accounts', 'alice').locator('td').allTextContents(), ['~', 'accounts.alice', '100', '→', '70'])
      assert.deepEqual(await row('accounts', 'carol').locator('td').allTextContents(), ['~', 'accounts.carol', '0', '→', '60'])
      await page.locator('.df-count', { hasText: '4 changes' }).waitFor(WAIT)
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/diff.png` })

      // Across branches: the fork's head against main@1.
      await page.locator('.tl-label[data-branch="what-if"]').click()
      await page.locator('.df-to', { hasText: /^what-if@\d+$/ }).waitFor(WAIT)
      await page.locator('.df-row[data-state="accounts"]').first().waitFor(WAIT)
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/diff-branches.png` })
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })
})
