// A branch name typed or pasted into the timeline's fork field that is far
// too long is refused with what is wrong and the bound, quoting only its
// start; no branch is made. One at the bound is forked, and the toast that
// says so wraps it inside itself and the window.
// The same bound holds for `loom fork`. A real `loom serve` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { buildUiOnce, CHROMIUM, launchChromium, serveCopy } from './browser.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`
const TOO_LONG = /^cannot fork 'x{60}…' \(20000 characters\): a branch name has at most 1000 characters \(this one has 20000\)$/

test('a pasted 20,000-character fork name: refused in words with the bound, the toast inside the window, no branch made', { skip }, async () => {
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveCopy('samples/counter.loom.md', ui)
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  try {
    await page.goto(server.url)
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    await page.locator('.tl-canvas').click()
    await page.keyboard.press('f')
    await page.locator('.tl-fork-name').fill('x'.repeat(20_000))
    await page.keyboard.press('Enter')
    const toast = page.locator('.toast.error')
    await toast.waitFor(WAIT)
    assert.match((await toast.textContent())!, TOO_LONG)
    const box = (await toast.boundingBox())!
    assert.ok(box.x >= 0 && box.x + box.width <= 1400 && box.y >= 0 && box.y + box.height <= 900, `the toast stays inside the window: ${JSON.stringify(box)}`)
    assert.deepEqual(await page.locator('.tl-label').evaluateAll((els) => els.map((e) => e.getAttribute('data-branch'))), ['main'])
    // A name at the bound is a name: the toast that says it was forked wraps it inside itself, and stays inside the window.
    await page.locator('.tl-canvas').click()
    await page.keyboard.press('f')
    await page.locator('.tl-fork-name').fill('y'.repeat(1000))
    await page.keyboard.press('Enter')
    const done = page.locator('.toast.done', { hasText: 'Forked yyy' })
    await done.waitFor(WAIT)
    const fits = await done.evaluate((t) => {
      const outer = t.getBoundingClientRect()
      const text = t.querySelector('.toast-text')!
      const inner = text.getBoundingClientRect()
      return { left: outer.left, right: outer.right, bottom: outer.bottom, textRight: inner.right, textBottom: inner.bottom, overflow: text.scrollWidth - text.clientWidth }
    })
    assert.ok(fits.left >= 0 && fits.right <= 1400 && fits.bottom <= 900, `the toast stays inside the window: ${JSON.stringify(fits)}`)
    assert.ok(fits.textRight <= fits.right && fits.textBottom <= fits.bottom && fits.overflow <= 0, `its text stays inside it: ${JSON.stringify(fits)}`)
    assert.deepEqual(errors, [])
  } finally {
    await page.close()
    await server.stop()
    await browser.close()
  }
})

test('loom fork --name with a name past the bound: refused with the bound, exit 2, the log unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-branch-name-'))
  const nb = join(dir, 'c.loom.md')
  writeFileSync(nb, notebook({ c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }))
  const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(loom(['run', nb, '--steps', '2']).status, 0)
  const db = join(dir, 'c.loom.db')
  const r = loom(['fork', db, '--at', '1', '--name', 'y'.repeat(1001)])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /^loom: a branch name has at most 1000 characters \(this one has 1001\)$/m)
  assert.ok(r.stderr.length < 400, 'the name is not echoed whole')
  assert.equal(loom(['fork', db, '--at', '1', '--name', 'y'.repeat(1000)]).status, 0, 'the bound itself is a name')
})
