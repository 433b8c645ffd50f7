// An empty map's row for a new entry is laid out as every other map's: its
// key and value fields as wide as theirs (the first row of an empty map, the
// "empty map" line, spans every column, and once set the columns' widths).
// A real `loom serve` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { CHROMIUM, servedText } from './browser.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

test("an empty map's new-entry fields are as wide as a map's with entries", { skip }, async () => {
  const { page, server, close } = await servedText('maps.loom.md', notebook({ s: "const empty = state.map<number>('empty')\nconst full = state.map<number>('full', { alice: 1 })" }))
  try {
    await page.goto(server.url)
    await page.locator('.insp-tab[data-tab="state"]').click()
    await page.locator('.state-entry[data-state="empty"] .se-empty', { hasText: 'empty map' }).waitFor(WAIT)
    const widths = async (state: string) => {
      const box = async (field: string) => (await page.locator(`.state-entry[data-state="${state}"] ${field}`).boundingBox())!
      const [key, value] = [await box('.se-new-key'), await box('.se-new-val')]
      return [Math.round(key.width), Math.round(value.width), Math.round(value.x)]
    }
    const [empty, full] = [await widths('empty'), await widths('full')]
    assert.deepEqual(empty, full, 'key width, value width and value field position')
  } finally {
    await close()
  }
})
