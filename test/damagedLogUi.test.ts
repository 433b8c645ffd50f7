// A log the app cannot run on — here its first page unreadable while its
// heads record names acknowledged events — is said in the window for as long
// as it lasts: a banner with what is wrong and what to do, not a toast that
// fades and leaves what looks like an empty, ready app at event 0. Run is
// refused and nothing is written. A real `loom serve` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { damagedCounterLog } from './damagedLog.ts'
import { CHROMIUM, servedPage } from './browser.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test('a log with acknowledged events that cannot be read: a banner that stays says so, Run is refused, the file is untouched', { skip }, async () => {
  const { dir, nb, db } = damagedCounterLog('loom-damaged-ui-')
  const { page, server, close } = await servedPage(nb, dir)
  try {
    await page.goto(server.url)
    const banner = page.locator('.banner[data-banner="history"]')
    await banner.waitFor(WAIT)
    assert.equal(await banner.locator('.banner-text').textContent(), 'The app does not run: its log cannot be extended.')
    // The top bar does not say Ready: it says the app cannot run, and why.
    await page.locator('.run-pill[data-state="ready"][data-cannot="true"]', { hasText: /^Cannot run\s*— its log cannot be extended: branch 'main': events 1\.\.4 were acknowledged/ }).waitFor(WAIT)
    assert.match((await banner.locator('.banner-detail').textContent())!, /branch 'main': events 1\.\.4 were acknowledged \(record in .*count\.loom\.db\.heads\) but cannot be read from the log — the WAL file was lost or truncated, or the file is damaged \(.*not a Loom log/)
    // Run is refused, and says why.
    await page.keyboard.press('F8')
    await page.locator('.toast.error', { hasText: 'events 1..4 were acknowledged' }).waitFor(WAIT)
    // The banner is not a toast: still there after every toast has gone.
    await page.locator('.toast').last().waitFor({ state: 'detached', timeout: 20_000 })
    assert.equal(await banner.isVisible(), true)
    assert.equal(readFileSync(db).subarray(0, 100).every((b) => b === 0x5a), true, 'the damaged file is left as it was')
  } finally {
    await close()
  }
})
