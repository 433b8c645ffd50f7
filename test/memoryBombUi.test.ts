// A memory bomb typed in the window, through a real `loom serve` in
// Chromium: the Questions tab and the REPL each show the error where the
// answer would be, and the next honest question answers (the engine was not
// restarted). The evaluator's heap is 64 MB here, so a bomb dies in a second.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook, type Serving } from './browser.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = '/tmp/shots-bomb'

describe('memory bombs in the window', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, () => {
  let browser: Browser
  let server: Serving

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-bomb-ui-'))
    await copyFile('samples/bank.loom.md', join(dir, 'bank.loom.md'))
    await copyFile('test/fixtures/bank.loom.db', join(dir, 'bank.loom.db'))
    await mkdir(SHOTS, { recursive: true })
    let ui: string
    ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
    process.env.LOOM_EVAL_MEMORY_MB = '64'
    try {
      server = await serveNotebook(join(dir, 'bank.loom.md'), ui, dir)
    } finally {
      delete process.env.LOOM_EVAL_MEMORY_MB
    }
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('a bomb in the Questions tab and in the REPL is said where the answer would be, and the next question answers', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    try {
      await page.goto(server.url)
      await page.locator('.code-cell .monaco-editor .view-lines').first().waitFor(WAIT)
      await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
      await page.locator('.insp-tab[data-tab="questions"]').click()
      const input = page.locator('.q-input')
      await input.fill('event.seq === 4 && Array.from({ length: 1e9 })')
      await input.press('Enter')
      await page.locator('.q-summary.q-error', { hasText: /the expression used more than 64 MB at event 4 and was stopped/ }).waitFor(WAIT)
      await page.screenshot({ path: join(SHOTS, 'questions-bomb.png') })
      await input.fill("accounts.get('bob') < 50")
      await input.press('Enter')
      await page.locator('.q-summary', { hasText: /^6 matches in events 1–8 of 'main'\./ }).waitFor(WAIT)

      await page.locator('.dock-tab', { hasText: 'REPL' }).click()
      await page.locator('.dock-pane[data-tab="repl"] .xterm').click()
      const row = (text: RegExp) => page.locator('.dock-pane[data-tab="repl"] .xterm-rows > div', { hasText: text }).first()
      await page.keyboard.type('(() => { const kept = []; for (;;) kept.push(1.5) })()')
      await page.keyboard.press('Enter')
      await row(/used more than 64 MB and was stopped/).waitFor(WAIT)
      await page.keyboard.type("accounts.get('bob')")
      await page.keyboard.press('Enter')
      await row(/^\s*20\s*$/).waitFor(WAIT)
      await page.screenshot({ path: join(SHOTS, 'repl-bomb.png') })
      assert.doesNotMatch(server.stderr(), /engine process stopped/)
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })
})
