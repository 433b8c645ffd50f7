// A state holding a string of millions of characters is drawn in the state
// panel by its start and its length — Chromium drew the whole of it as a
// blank cell — and clicking it still edits the whole value. A real `loom
// serve` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { CHROMIUM, servedText } from './browser.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test('a 3,000,000-character string: the state panel shows its start and its length, and its editor holds all of it', { skip }, async () => {
  const { page, server, close } = await servedText('big.loom.md', notebook({ s: "const big = state.var('big', 'z'.repeat(3_000_000))" }))
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  try {
    await page.goto(server.url)
    await page.locator('.insp-tab[data-tab="state"]').click()
    const value = page.locator('.state-entry[data-state="big"] .se-value')
    await value.filter({ hasText: 'characters' }).waitFor(WAIT)
    const text = (await value.textContent())!
    assert.match(text, /^"z{1000}…" \(3,000,000 characters\)$/)
    await value.click()
    const input = page.locator('.state-entry[data-state="big"] input.se-input')
    assert.equal(await input.evaluate((i) => (i as unknown as { value: string }).value.length), 3_000_000)
    await page.keyboard.press('Escape')
    assert.deepEqual(errors, [])
  } finally {
    await close()
  }
})
