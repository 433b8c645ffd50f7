// A cell live-coded in the window and never saved, then `loom serve` itself
// is killed (kill -9): the file never had that code, but the log did. Opened
// again, the window says the app last ran code the file does not have and
// offers it back; Restore puts it in the cells and the app runs it again, and
// Save writes it. A file edited on purpose after the session is no such
// case: no offer. A real `loom serve` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook, type Serving, typeBeforeLineEnd } from './browser.ts'
import { COUNT_TO_THREE } from './helpers.ts'

declare const document: { querySelector(s: string): { textContent: string | null } | null }

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`
const codeOf = async (page: Page) => (await page.locator('[data-head]').first().textContent())!.split(' · ').pop()!

async function openPage(browser: Browser, server: Serving): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  await page.goto(server.url)
  await page.locator('[data-head]').first().waitFor(WAIT)
  return page
}

test('loom serve killed after an unsaved live edit: reopened, the window offers that code back; Restore runs it, Save writes it', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-unsaved-'))
  const nb = join(dir, 'count.loom.md')
  const original = COUNT_TO_THREE
  writeFileSync(nb, original)
  const edited = original.replace('n.get() + 1)', 'n.get() + 10)')
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  let server = await serveNotebook(nb, ui)
  try {
    let page = await openPage(browser, server)
    const fileCode = await codeOf(page)
    await typeBeforeLineEnd(page, 'c', 'n.set(n.get() + 1)', '0')
    await page.waitForFunction((h) => !document.querySelector('[data-head]')?.textContent?.endsWith(h), fileCode, WAIT)
    const editedCode = await codeOf(page)
    await page.close()

    // kill -9 of loom serve itself: nothing was saved.
    const { pid } = JSON.parse(readFileSync(join(dir, 'count.loom.db.lock'), 'utf8')) as { pid: number }
    process.kill(pid, 'SIGKILL')
    await server.stop()
    assert.equal(readFileSync(nb, 'utf8'), original)

    server = await serveNotebook(nb, ui)
    page = await openPage(browser, server)
    const banner = page.locator('.banner[data-banner="unsaved"]')
    await banner.waitFor(WAIT)
    assert.match((await banner.locator('.banner-text').textContent())!, /^The app last ran code this file does not have \(event \d+\)/)
    assert.equal(await codeOf(page), fileCode, "the file's code runs until the person chooses")
    await banner.locator('.banner-action', { hasText: 'Restore' }).click()
    await page.waitForFunction((h) => document.querySelector('[data-head]')?.textContent?.endsWith(h) ?? false, editedCode, WAIT)
    await banner.waitFor({ state: 'detached', ...WAIT })
    assert.match((await page.locator('.code-cell[data-cell="c"] .view-lines').textContent())!.replace(/\u00a0/g, ' '), /n\.set\(n\.get\(\) \+ 10\)/)
    await page.locator('.nb-dirty:not([hidden])').waitFor(WAIT)
    await page.keyboard.press('Control+s')
    await page.locator('.toast', { hasText: 'Saved count.loom.md' }).waitFor(WAIT)
    assert.equal(readFileSync(nb, 'utf8'), edited)
    await page.close()
    await server.stop()

    // The file edited on purpose after the session (its code is newer than what the app ran): nothing to offer.
    writeFileSync(nb, edited.replace('n.get() + 10)', 'n.get() + 2)'))
    server = await serveNotebook(nb, ui, dir)
    page = await openPage(browser, server)
    await page.locator('.code-cell').first().waitFor(WAIT)
    assert.notEqual(await codeOf(page), editedCode)
    assert.equal(await page.locator('.banner[data-banner="unsaved"]').count(), 0)
  } finally {
    await server.stop()
    await browser.close()
  }
})
