// A notebook whose grants the owner has not allowed, opened in the window
// (the real `loom serve`, Debian's Chromium): its read waits, the window says
// what the grants reach, and Allow lets it go ahead — the read reaches the
// real server on loopback and its answer lands in state.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { notebook } from './helpers.ts'
import { allowedGrantsFile } from '../engine/host/allowedGrants.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = process.env.LOOM_SHOTS ?? '/tmp/shots-allow-effects'
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test("the window says what a notebook's grants reach while its read waits, and Allow lets the read go ahead", { skip }, async () => {
  let hits = 0
  const srv = createServer((_req, res) => (hits++, res.end('7')))
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const origin = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
  const dir = mkdtempSync(join(tmpdir(), 'loom-allow-ui-'))
  const nb = join(dir, 'rates.loom.md')
  writeFileSync(nb, notebook({
    rates: `const rate = state.var<number>('rate', 0)

export function step() {
  if (rate.get()) sys.halt()
  else rate.set(Number(sys.http.get('${origin}/rate').body))
}`,
  }, `title: Rates\neffects: { http: ['${origin}'] }`))
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui, dir)
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  mkdirSync(SHOTS, { recursive: true })
  try {
    await page.goto(server.url)
    const banner = page.locator('[data-banner="allow-effects"]')
    await banner.waitFor(WAIT)
    assert.equal(await banner.locator('.banner-text').textContent(), "This notebook's reads and actions wait until you allow what its front matter grants:")
    assert.equal(await banner.locator('.banner-detail').textContent(), `reads from and sends to ${origin}`)
    // Said as the notebook opens, before anything runs. Run: the step's read waits, and nothing reaches the server.
    await page.locator('.tb-button.run').click()
    for (let i = 0; i < 300 && !/its reads and actions wait until you allow them: loom allow /.test(server.stderr()); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(server.stderr(), /its reads and actions wait until you allow them: loom allow /)
    assert.equal(hits, 0, 'nothing was read before it was allowed')
    await banner.waitFor(WAIT)
    await page.screenshot({ path: join(SHOTS, 'allow-effects.png') })
    await banner.locator('.banner-action', { hasText: 'Allow' }).click()
    await banner.waitFor({ state: 'detached', ...WAIT })
    // The waiting read goes ahead by itself, and its answer is the app's state.
    for (let i = 0; i < 300 && hits === 0; i++) await new Promise((r) => setTimeout(r, 100))
    assert.equal(hits, 1)
    await page.getByText('rate = 7').waitFor(WAIT)
    await page.screenshot({ path: join(SHOTS, 'allowed.png') })
    // What the window allowed is what `loom allow` keeps: the file says so, and a reload asks nothing.
    assert.ok(readFileSync(allowedGrantsFile(), 'utf8').includes(nb), 'the allowance is kept')
    await page.reload()
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    await page.waitForTimeout(1000)
    assert.equal(await page.locator('[data-banner="allow-effects"]').count(), 0)
    assert.deepEqual(errors, [])
  } finally {
    await page.close()
    await browser.close()
    await server.stop()
    srv.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
