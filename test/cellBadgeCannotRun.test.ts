// While the app cannot run at all (the top bar's red "Cannot run": a notebook
// that does not compile, or a log that cannot be extended), no cell claims to
// be "running": each says it cannot run and why, as the top bar does, and the
// cell with the error does not promise "the last good code" that is not there.
// Fixed in the window, every badge says "running" again. A real `loom serve`
// in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { damagedCounterLog } from './damagedLog.ts'
import { CHROMIUM, servedPage } from './browser.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`
const badge = (page: Page, cell: string) => page.locator(`.code-cell[data-cell="${cell}"] .cell-badge`)

test('a notebook that does not compile: no cell says running, the broken one says it keeps the app from running; fixed, all run', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-cannot-badge-'))
  const nb = join(dir, 'count.loom.md')
  writeFileSync(nb, notebook({ state: "const n = state.var('n', 0)", step: 'export function step() {\n  n.set(n.get() + 1\n}' }))
  const { page, server, close } = await servedPage(nb, dir)
  try {
    await page.goto(server.url)
    await page.locator('.run-pill[data-cannot="true"]', { hasText: /^Cannot run\s*— the notebook does not compile/ }).waitFor(WAIT)
    // The cell that compiles does not run either: it says so, with the top bar's reason.
    await badge(page, 'state').and(page.locator('[data-state="cannot"]')).waitFor(WAIT)
    assert.equal(await badge(page, 'state').textContent(), 'cannot run')
    assert.match((await badge(page, 'state').getAttribute('title'))!, /^The app cannot run: the notebook does not compile: Expected "\)" but found "}"/)
    // The broken cell: there is no last good code that keeps running.
    assert.equal(await badge(page, 'step').textContent(), 'does not compile')
    const note = page.locator('.code-cell[data-cell="step"] .problem-note')
    assert.equal(await note.textContent(), 'the app cannot run until this is fixed')
    // Run and Step say it too, instead of failing when pressed.
    for (const b of ['.tb-button.run', '.tb-button.step']) {
      assert.equal(await page.locator(b).isDisabled(), true, `${b} is disabled`)
      assert.match((await page.locator(b).getAttribute('title'))!, /^The app cannot run: the notebook does not compile/)
    }
    await page.screenshot({ path: join(dir, 'cannot-run.png') })
    if (process.env.LOOM_KEEP_SHOTS) writeFileSync(join(process.env.LOOM_KEEP_SHOTS, 'cannot-run.png'), readFileSync(join(dir, 'cannot-run.png')))

    // Fixed in the editor: the app can run, and every cell says it runs this code.
    await page.locator('.code-cell[data-cell="step"] .view-line', { hasText: 'n.set(n.get() + 1' }).click()
    await page.keyboard.press('End')
    await page.keyboard.insertText(')')
    await page.locator('.code-cell[data-cell="step"]').press('Shift+Enter')
    await page.locator('.run-pill[data-cannot="false"]').waitFor(WAIT)
    assert.equal(await page.locator('.tb-button.run').isDisabled(), false, 'Run is offered again')
    for (const cell of ['state', 'step']) await badge(page, cell).and(page.locator('[data-state="live"]')).waitFor(WAIT)
    assert.equal(await badge(page, 'state').textContent(), 'running')
    assert.equal(await page.locator('.code-cell[data-cell="step"] .problem').count(), 0)
  } finally {
    await close()
  }
})

test('a log that cannot be extended: every cell says it cannot run, and why, as the top bar does', { skip }, async () => {
  const { dir, nb } = damagedCounterLog('loom-cannot-badge-log-')
  const { page, server, close } = await servedPage(nb, dir)
  try {
    await page.goto(server.url)
    await page.locator('.run-pill[data-cannot="true"]', { hasText: /its log cannot be extended/ }).waitFor(WAIT)
    await badge(page, 'c').and(page.locator('[data-state="cannot"]')).waitFor(WAIT)
    assert.equal(await badge(page, 'c').textContent(), 'cannot run')
    assert.match((await badge(page, 'c').getAttribute('title'))!, /^The app cannot run: its log cannot be extended: branch 'main': events 1\.\.4 were acknowledged/)
  } finally {
    await close()
  }
})
