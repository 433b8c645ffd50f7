// The notebook's file edited in another editor while Loom has it open: Save
// in the window does not silently throw that change away. It is refused, a
// banner says why and offers "Save anyway"; the file keeps the other
// editor's text until the person chooses. Saves that follow Loom's own save
// need no confirmation. A real `loom serve` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { CHROMIUM, servedText } from './browser.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test('Save after another editor changed the file: refused with a banner, the change kept, until Save anyway', { skip }, async () => {
  const { page, server, close } = await servedText('count.loom.md', notebook({ c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }))
  const nb = server.notebook
  const typeAtEndOf = async (text: string, line: string) => {
    await page.locator('.code-cell[data-cell="c"] .view-line', { hasText: line }).click()
    await page.keyboard.press('End')
    await page.keyboard.insertText(text)
    await page.locator('.nb-dirty:not([hidden])').waitFor(WAIT)
  }
  try {
    await page.goto(server.url)
    await typeAtEndOf(' // mine', "state.var('n', 0)")
    // Another editor adds a line of prose to the file meanwhile.
    const theirs = readFileSync(nb, 'utf8').replace('Prose before c.', 'Prose before c.\n\nA line from another editor.')
    writeFileSync(nb, theirs)
    await page.keyboard.press('Control+s')
    const banner = page.locator('.banner[data-banner="disk"]')
    await banner.waitFor(WAIT)
    assert.equal(await banner.locator('.banner-text').textContent(), 'Not saved: the file changed on disk.')
    assert.match((await banner.locator('.banner-detail').textContent())!, /^count\.loom\.md changed on disk since Loom read or saved it \(another editor\?\); saving would overwrite that change/)
    assert.equal(readFileSync(nb, 'utf8'), theirs, "the other editor's change is still in the file")
    assert.equal(await page.locator('.nb-dirty:not([hidden])').count(), 1, 'the window still has unsaved changes')

    // The person chooses: this notebook replaces the file.
    await banner.locator('.banner-action', { hasText: 'Save anyway' }).click()
    await page.locator('.toast', { hasText: 'Saved count.loom.md' }).waitFor(WAIT)
    await banner.waitFor({ state: 'detached', ...WAIT })
    const saved = readFileSync(nb, 'utf8')
    assert.match(saved, /state\.var\('n', 0\) \/\/ mine/)
    assert.doesNotMatch(saved, /another editor/)

    // Loom's own save is what is on disk now: the next save needs no confirmation.
    await typeAtEndOf(' // again', '// mine')
    await page.keyboard.press('Control+s')
    await page.locator('.toast', { hasText: 'Saved count.loom.md' }).nth(1).waitFor(WAIT)
    assert.match(readFileSync(nb, 'utf8'), /\/\/ mine \/\/ again/)
    assert.equal(await banner.count(), 0)
  } finally {
    await close()
  }
})
