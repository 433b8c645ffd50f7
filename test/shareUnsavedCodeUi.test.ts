// The owner of a shared session live-codes a cell and never saves, then
// `loom serve --share` is killed (kill -9). Started again, the owner's page
// offers that code back and a guest's does not (the file is the owner's);
// Restore puts it in the shared notebook, so the guest sees it too, the app
// runs it, and Save writes it. A real `loom serve --share` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, freePort, inviteLink, launchChromium, serveNotebook, typeBeforeLineEnd } from './browser.ts'
import { COUNT_TO_THREE } from './helpers.ts'

declare const document: { querySelector(s: string): { textContent: string | null } | null }

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`
const codeOf = async (page: Page) => (await page.locator('[data-head]').first().textContent())!.split(' · ').pop()!
const cellText = async (page: Page) => (await page.locator('.code-cell[data-cell="c"] .view-lines').textContent())!.replace(/\u00a0/g, ' ')

test('loom serve --share killed after the owner live-coded: the owner is offered that code back, a guest is not; Restore reaches the guest, Save writes it', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-share-unsaved-'))
  const nb = join(dir, 'count.loom.md')
  const original = COUNT_TO_THREE
  writeFileSync(nb, original)
  const [port, sharePort] = await Promise.all([freePort(), freePort()])
  const args = ['--share', '--port', String(port), '--share-port', String(sharePort)]
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const open = async (url: string) => {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
    await page.goto(url)
    await page.locator('[data-head]').first().waitFor(WAIT)
    await page.locator('.code-cell[data-cell="c"] .view-lines').waitFor(WAIT)
    return page
  }
  let server = await serveNotebook(nb, ui, undefined, args)
  try {
    let owner = await open(server.url)
    const fileCode = await codeOf(owner)
    await typeBeforeLineEnd(owner, 'c', 'n.set(n.get() + 1)', '0')
    await owner.waitForFunction((h) => !document.querySelector('[data-head]')?.textContent?.endsWith(h), fileCode, WAIT)
    const editedCode = await codeOf(owner)
    await owner.context().close()

    const { pid } = JSON.parse(readFileSync(join(dir, 'count.loom.db.lock'), 'utf8')) as { pid: number }
    process.kill(pid, 'SIGKILL')
    await server.stop()
    assert.equal(readFileSync(nb, 'utf8'), original, 'nothing was saved')

    server = await serveNotebook(nb, ui, undefined, args)
    owner = await open(server.url)
    const guest = await open(await inviteLink(server, 'edit'))
    const banner = owner.locator('.banner[data-banner="unsaved"]')
    await banner.waitFor(WAIT)
    assert.match((await banner.locator('.banner-text').textContent())!, /^The app last ran code this file does not have \(event \d+\)/)
    assert.equal(await guest.locator('.banner[data-banner="unsaved"]').count(), 0, "the file is the owner's: a guest is not offered it")
    assert.equal(await codeOf(guest), fileCode, "the file's code runs until the owner chooses")

    await banner.locator('.banner-action', { hasText: 'Restore' }).click()
    await banner.waitFor({ state: 'detached', ...WAIT })
    for (const page of [owner, guest]) {
      await page.waitForFunction((h) => document.querySelector('[data-head]')?.textContent?.endsWith(h) ?? false, editedCode, WAIT)
      await page.waitForFunction(() => /n\.set\(n\.get\(\) \+ 10\)/.test(document.querySelector('.code-cell[data-cell="c"] .view-lines')?.textContent?.replace(/\u00a0/g, ' ') ?? ''), null, WAIT)
    }
    assert.match(await cellText(guest), /n\.set\(n\.get\(\) \+ 10\)/, 'the guest sees the restored cell')
    await owner.keyboard.press('Control+s')
    await owner.locator('.toast', { hasText: 'Saved count.loom.md' }).waitFor(WAIT)
    assert.equal(readFileSync(nb, 'utf8'), original.replace('n.get() + 1)', 'n.get() + 10)'))
  } finally {
    await server.stop()
    await browser.close()
  }
})
