// The window's exploration shows a liveness violation as the CLI does: the
// property by name and its lasso, here a run that stops for ever in a state
// where the property's predicate does not hold — in a real `loom serve`
// driven in Debian's Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test("the window's exploration names a liveness property that fails and marks how its lasso ends", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-window-liveness-'))
  const nb = join(dir, 'settles.loom.md')
  // Live, n counts to 2 and the step waits: the app settles where n is never 0 again.
  writeFileSync(nb, notebook({
    s: `const n = state.var('n', 0)
export function step() {
  if (n.get() >= 2) sys.abort('done')
  n.set(n.get() + 1)
}
test.eventually('n is back at 0', () => n.get() === 0)`,
  }))
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui, dir)
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  try {
    await page.goto(server.url)
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    await page.locator('.insp-tab[data-tab="agent"]').click()
    await page.locator('.ag-explore-run').click()
    const violation = page.locator('.ag-violation', { hasText: 'n is back at 0' })
    await violation.waitFor(WAIT)
    assert.equal(await violation.locator('.ag-failure').textContent(), 'property “n is back at 0”: a fair run stops in a state where it does not hold: nothing can move there')
    assert.match((await violation.locator('.ag-trace').textContent())!, / — then nothing moves, for ever$/)
    assert.deepEqual(errors, [])
  } finally {
    await page.close()
    await server.stop()
    await browser.close()
  }
})
