// The window's exploration says what the CLI says: from the head of a real
// history it did not explore HTTP requests (none were recorded after it),
// and from the moment before the first request it delivers the recorded
// requests, moves the clock, and finds the oversell — in a real `loom serve`
// driven in Debian's Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { recordedReservations } from './reservationsLog.ts'

const WAIT = { timeout: 45_000 }
/** With LOOM_SHOTS=dir, pictures of the panel to look at. */
const SHOTS = process.env.LOOM_SHOTS

const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test("the window's exploration says what it did not explore, and from a recorded moment finds the oversell behind the clock with the real requests", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-window-'))
  const [ui, browser, { nb }] = await Promise.all([buildUiOnce(), launchChromium(), recordedReservations(dir)])
  const server = await serveNotebook(nb, ui, dir)
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  try {
    await page.goto(server.url)
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    await page.locator('.insp-tab[data-tab="agent"]').click()
    // From the head: nothing recorded is left to deliver, and the panel says so, as `loom explore` does.
    await page.locator('.ag-explore-run').click()
    const note = page.locator('.ag-unexplored')
    await note.waitFor(WAIT)
    assert.equal(await note.textContent(), 'Did not explore: HTTP requests — the notebook has http() but no clients() model and no recorded requests (the log recorded none after event 4)')
    assert.equal(await page.locator('.ag-explore-sum').getAttribute('data-unexplored'), '1')
    if (SHOTS) mkdirSync(SHOTS, { recursive: true }), await page.screenshot({ path: join(SHOTS, 'explore-unexplored.png') })

    // Event 1, before Ann's request: her request and Bob's are delivered in every order.
    await page.locator('.tl-canvas').focus()
    await page.keyboard.press('Home')
    for (let i = 0; i < 3 && (await page.locator('.timeline').getAttribute('data-selected-seq')) !== '1'; i++) await page.keyboard.press('ArrowRight')
    assert.equal(await page.locator('.timeline').getAttribute('data-selected-seq'), '1')
    await page.locator('.ag-explore-run').click()
    const violation = page.locator('.ag-violation', { hasText: 'never oversold' })
    await violation.waitFor(WAIT)
    const trace = await violation.locator('.ag-trace').textContent()
    assert.match(trace!, /^5 moves: POST \/reserve \{"who":"(ann|bob)"\} \(recorded #[24]\) → POST \/reserve \{"who":"(ann|bob)"\} \(recorded #[24]\) → clock → 1000 ms → step\(\) → step\(\)$/)
    assert.equal(await page.locator('.ag-unexplored').count(), 0)
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'explore-recorded.png') })
    // Its counterexample opens as a branch of real events.
    await page.locator('.ag-cx-name').first().fill('oversold')
    await page.locator('.ag-open-cx').first().click()
    await page.locator('.tl-label[data-branch="oversold"]').waitFor(WAIT)
    assert.deepEqual(errors, [])
  } finally {
    await page.close()
    await server.stop()
    await browser.close()
  }
})
