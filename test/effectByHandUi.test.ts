// Answering an effect by hand in the agent panel, under the real `loom
// serve` in Debian's Chromium: a request to the shop waits for the stock
// service; the person answers "1" (sold out, nothing changes), then a
// timeout (the shop assumes plenty: the preview shows the oversell and the
// broken test), and commits it: the timeout is recorded as the effect event.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { allowEffects, notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = process.env.LOOM_SHOTS ?? '/tmp/shots-effect-by-hand'
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

const SHOP = notebook({
  shop: `const sold = state.var<number>('sold', 1)

export function http(req) {
  let stock: number
  try {
    const r = sys.http.get('http://127.0.0.1:9/stock')
    if (r.status !== 200) throw new Error('the stock service answered ' + r.status)
    stock = Number(r.body)
  } catch {
    stock = 10   // the service is slow: assume there is plenty
  }
  if (sold.get() >= stock) return { status: 409, body: 'sold out' }
  sold.set(sold.get() + 1)
  return { status: 201, body: 'sold' }
}

test('never sells more than the warehouse holds', () => sold.get() <= 1)`,
}, `title: Shop\neffects: { http: ['http://127.0.0.1:*'] }`)

test('the agent panel answers a pending read by hand: a response, then a timeout that previews the oversell; committing records the timeout as an effect event', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-effect-hand-'))
  const nb = join(dir, 'shop.loom.md')
  writeFileSync(nb, SHOP)
  await allowEffects(nb)
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui, dir)
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  mkdirSync(SHOTS, { recursive: true })
  try {
    await page.goto(server.url)
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    await page.locator('.insp-tab[data-tab="agent"]').click()
    await page.locator('.ag-method[data-method="http"]').click()
    await page.locator('.ag-http-method').selectOption('POST')
    await page.locator('.ag-http-path').fill('/buy')
    await page.locator('.ag-preview').click()

    // The request waits for the stock service; nothing has been asked of it (the panel previews, it performs nothing).
    const pending = page.locator('.ag-effect')
    await pending.waitFor(WAIT)
    assert.equal(await pending.locator('.ag-effect-call').textContent(), 'sys.http.get("http://127.0.0.1:9/stock")')
    assert.equal(await page.locator('.ag-verdict').getAttribute('data-committed'), 'false')
    await page.screenshot({ path: join(SHOTS, 'effect-by-hand-pending.png') })

    // The real answer: one in stock, one sold already — sold out, nothing changes.
    await page.locator('.ag-effect-body').fill('1')
    await page.locator('.ag-effect-give').click()
    const answered = page.locator('.ag-effect-answered .ag-effect-answer')
    await answered.waitFor(WAIT)
    assert.equal(await answered.textContent(), '200 "1"')
    assert.equal(await page.locator('.ag-verdict').getAttribute('data-committed'), 'true')
    await page.locator('.ag-pass', { hasText: 'every test holds after it' }).waitFor(WAIT)

    // A timeout instead: the shop assumes plenty, and the preview shows the oversell before anything happens.
    await page.locator('.ag-effect-answered').locator('.ag-effect-clear').click()
    await page.locator('.ag-effect-fault[data-fault="timeout"]').click()
    await page.locator('.ag-effect-answer', { hasText: 'no complete answer within 30000 ms' }).waitFor(WAIT)
    await page.locator('.ag-changes tr[data-state="sold"]').waitFor(WAIT)
    assert.equal(await page.locator('.ag-changes tr[data-state="sold"] .ed-after').textContent(), '2')
    await page.locator('.ag-failure[data-test="never sells more than the warehouse holds"]').waitFor(WAIT)
    await page.locator('.ag-failure[data-test="never sells more than the warehouse holds"]').scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(SHOTS, 'effect-by-hand-preview.png') })

    await page.locator('.ag-commit').click()
    const done = page.locator('.ag-done')
    await done.waitFor(WAIT)
    assert.match((await done.textContent())!, /^Committed as event 3 \(http http\(\)\) on main\. The answer given by hand was recorded first, as the effect's outcome \(sys\.http\.get\("http:\/\/127\.0\.0\.1:9\/stock"\) ← no complete answer within 30000 ms\)\.$/)
    await page.locator('.insp-tab[data-tab="extra"]', { hasText: 'Recent' }).click()
    await page.locator('li.event[data-kind="effect"]').waitFor(WAIT)
    await page.locator('li.event[data-kind="http"]').waitFor(WAIT)
    await page.screenshot({ path: join(SHOTS, 'effect-by-hand-committed.png') })

    // The window's exploration from event 1 delivers the recorded request and answers its read with the recorded timeout and each fault.
    await page.locator('.insp-tab[data-tab="agent"]').click()
    await page.locator('.tl-canvas').focus()
    await page.keyboard.press('Home')
    for (let i = 0; i < 3 && (await page.locator('.timeline').getAttribute('data-selected-seq')) !== '1'; i++) await page.keyboard.press('ArrowRight')
    assert.equal(await page.locator('.timeline').getAttribute('data-selected-seq'), '1')
    await page.locator('.ag-explore-run').click()
    const violation = page.locator('.ag-violation', { hasText: 'never sells more' })
    await violation.waitFor(WAIT)
    assert.equal(await violation.locator('.ag-trace').textContent(), '2 moves: sys.http.get("http://127.0.0.1:9/stock") → no complete answer within 30000 ms (recorded #2) → POST /buy (recorded #3)')
    assert.equal(await page.locator('.ag-unexplored').count(), 0)
    // With every fault unticked, the panel says which faults it did not try.
    for (const f of ['timeout', 'refused', '5xx', 'failed', 'lost']) await page.locator(`.ag-fault[data-fault="${f}"]`).uncheck()
    await page.locator('.ag-explore-run').click()
    await page.locator('.ag-unexplored', { hasText: 'effect faults' }).waitFor(WAIT)
    assert.equal(await page.locator('.ag-unexplored').textContent(), 'Did not explore: effect faults — timeout, refused, 5xx, failed, lost were not tried (--faults none; leave it out to try every fault)')
    await page.screenshot({ path: join(SHOTS, 'effect-by-hand-explored.png') })
    assert.deepEqual(errors, [])
  } finally {
    await page.close()
    await server.stop()
    await browser.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
