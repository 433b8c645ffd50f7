// A cell edited in the window and not yet saved, then the engine process
// dies (kill -9, as a cell that runs out of memory ends it): loom serve
// restarts it on the same log with the notebook as the window had it. The
// edit is still in the cell, the app still runs it (no code event takes it
// back to the file's code), the window still has it unsaved, and Save writes
// it. A real `loom serve` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook, typeBeforeLineEnd } from './browser.ts'
import { COUNT_TO_THREE } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test('the engine process killed after an unsaved edit: restarted, it runs the edit, the cell keeps it, Save writes it', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-restart-edit-'))
  const nb = join(dir, 'count.loom.md')
  const original = COUNT_TO_THREE
  writeFileSync(nb, original)
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui, dir)
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const code = page.locator('.code-cell[data-cell="c"] .view-lines')
  const head = page.locator('[data-head]').first()
  try {
    await page.goto(server.url)
    await head.waitFor(WAIT)
    const fileCode = (await head.textContent())!.split(' · ').pop()!
    // Typed, applied to the running app, not saved.
    await typeBeforeLineEnd(page, 'c', 'n.set(n.get() + 1)', '0')
    await page.waitForFunction((h) => !document.querySelector('[data-head]')?.textContent?.endsWith(h), fileCode, WAIT)
    const editedCode = (await head.textContent())!.split(' · ').pop()!
    await page.locator('.nb-dirty:not([hidden])').waitFor(WAIT)

    const pid = server.enginePid()!
    process.kill(pid, 'SIGKILL')
    await page.locator('.banner[data-banner="crash"]', { hasText: 'was restarted' }).waitFor(WAIT)
    // The restarted engine runs the edit: the top bar names its code, not the file's.
    await page.waitForFunction((h) => document.querySelector('[data-head]')?.textContent?.endsWith(h) ?? false, editedCode, WAIT)
    assert.match((await code.textContent())!.replace(/\u00a0/g, ' '), /n\.set\(n\.get\(\) \+ 10\)/, 'the cell still shows the edit')
    assert.equal(await page.locator('.nb-dirty:not([hidden])').count(), 1, 'still unsaved')
    assert.equal(readFileSync(nb, 'utf8'), original, 'the file is as it was')
    assert.notEqual(server.enginePid(), pid, 'a new engine process')
    // No code event after the restart went back to the file's code.
    const log = spawnSync(process.execPath, ['bin/loom.js', 'log', join(dir, 'count.loom.db'), '--json'], { encoding: 'utf8', timeout: 60_000 })
    const events = JSON.parse(log.stdout) as { kind: string; codeHash: string }[]
    assert.ok(events.at(-1)!.codeHash.startsWith(editedCode), `the last event runs the edited code: ${log.stdout}`)

    await page.keyboard.press('Control+s')
    await page.locator('.toast', { hasText: 'Saved count.loom.md' }).waitFor(WAIT)
    assert.equal(readFileSync(nb, 'utf8'), original.replace('n.get() + 1)', 'n.get() + 10)'))
  } finally {
    await page.close()
    await server.stop()
    await browser.close()
  }
})

declare const document: { querySelector(s: string): { textContent: string | null } | null }
