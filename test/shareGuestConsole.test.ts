// A guest opens the invite link exactly as `loom serve --share` prints it —
// this machine's network address over plain http, not loopback — and the
// page loads with nothing in the browser's console that says something is
// wrong: no error, no refused resource.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildUiOnce, CHROMIUM, inviteLink, launchChromium, serveCopy } from './browser.ts'
import { existsSync } from 'node:fs'

test('a guest who opens the printed invite link sees the notebook and no error in the console', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async () => {
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveCopy('samples/counter.loom.md', ui, ['--share'])
  try {
    const link = await inviteLink(server, 'view')
    const page = await browser.newPage()
    const console: string[] = []
    page.on('console', (m) => m.type() === 'error' && console.push(m.text()))
    page.on('pageerror', (e) => console.push(`page error: ${e.message}`))
    await page.goto(`${link}&name=Bo`)
    await page.locator('.code-cell[data-cell="counter"] .monaco-editor .view-lines').waitFor({ timeout: 60_000 })
    await page.locator('.tl-label[data-branch="main"]').waitFor({ timeout: 60_000 })
    assert.deepEqual(console, [], 'nothing in the guest\'s console says something is wrong')
  } finally {
    await browser.close()
    await server.stop()
  }
})
