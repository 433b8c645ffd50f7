// The visual debugger's state editor end to end: a real `loom serve` on a copy of a sample, driven in Debian's
// Chromium — edits of maps and queues, undo, a step while an item is half typed, long previews.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { appendFileSync } from 'node:fs'
import { describeDebugger, WAIT, track, entry, mapValue, until, shot, head, selectMoment } from './debuggerPage.ts'

describeDebugger('the visual debugger in a browser: the state editor', (open) => {
  test('editing a map entry in the state editor is an edit event; the past is read-only', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await page.locator('.state-editor[data-editable="true"]').waitFor(WAIT)
      await mapValue(page, 'accounts', 'alice').locator('.se-editable').click()
      await page.locator('input[data-edit="accounts.alice"]').fill('150')
      await page.locator('input[data-edit="accounts.alice"]').press('Enter')
      await until('an edit event is on the timeline', async () => ((await track(page, 'main').getAttribute('data-kinds')) ?? '').includes('edit:1'))
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '150' }).waitFor(WAIT)
      const seq = await head(page, 'main')
      await page.locator(`.timeline[data-selected-seq="${seq}"][data-live="true"]`).waitFor(WAIT)
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator(`.ed-title[data-seq="${seq}"][data-kind="edit"]`).waitFor(WAIT)
      await page.locator('.ed-write[data-state="accounts"] tr[data-key="alice"]', { hasText: '100' }).filter({ hasText: '150' }).waitFor(WAIT)
      await page.locator('.insp-tab[data-tab="state"]').click()

      await selectMoment(page, seq - 1)
      await page.locator('.state-editor[data-editable="false"]').waitFor(WAIT)
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '100' }).waitFor(WAIT)
      assert.equal(await page.locator('.state-editor .se-editable').count(), 0, 'nothing in the past can be edited')
      await page.locator('.se-fork', { hasText: 'Fork here' }).click()
      await page.locator('.tl-fork-name').waitFor(WAIT)
      await shot(page, 'state-editor.png')
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('queue items are removed and pushed as JSON, empty or not; a non-finite number is refused; Ctrl+Z and Undo put back what an edit changed', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await page.locator('.state-editor[data-editable="true"]').waitFor(WAIT)
      const items = entry(page, 'transfers').locator('li[data-index]')
      const count = await items.count()
      assert.ok(count > 0, 'the bank starts with transfers queued')
      const last = await items.last().locator('.se-item').textContent()
      // Remove every item, the front one each time: each is an edit event.
      for (let left = count; left > 0; left--) {
        await items.first().hover()
        await items.first().locator('.se-del').click()
        await until(`${left - 1} transfers left`, async () => (await items.count()) === left - 1)
      }
      await entry(page, 'transfers').locator('.se-empty', { hasText: 'empty queue' }).waitFor(WAIT)
      // Into the empty queue: JSON is an object, as it would be in a queue that had items.
      const push = page.locator('input[aria-label="push to transfers"]')
      await push.fill('{"from":"alice","to":"carol","amount":5}')
      await push.press('Enter')
      await items.filter({ hasText: 'carol' }).filter({ hasText: 'amount: 5' }).waitFor(WAIT)
      await items.first().hover()
      await shot(page, 'state-editor-queue.png')
      // Not JSON: refused where it was typed, not pushed as a text the app does not expect.
      const before = await head(page, 'main')
      await push.fill('not json {')
      await push.press('Enter')
      await until('the input says it is not JSON', async () => /not JSON.*a text needs quotes/.test(await push.evaluate((el) => (el as unknown as { validationMessage: string }).validationMessage)))
      // An object with a slip in it was meant as JSON: the advice is about what is inside, not to quote all of it.
      await push.fill('{"from": alice}')
      await push.press('Enter')
      await until('the input says what JSON wants inside', async () => /not JSON.*names and texts inside need double quotes/.test(await push.evaluate((el) => (el as unknown as { validationMessage: string }).validationMessage)))
      // 1e999 reads as Infinity, which the log would keep as null: refused where it was typed.
      await push.fill('{"ok": 1e999}')
      await push.press('Enter')
      await until('the input says why', async () => /finite/.test(await push.evaluate((el) => (el as unknown as { validationMessage: string }).validationMessage)))
      assert.equal(await head(page, 'main'), before, 'nothing was committed')
      assert.equal(await items.count(), 1)
      // Ctrl+Z (not typing anywhere): the push is undone, as another edit event.
      await entry(page, 'transfers').locator('.se-head').click()
      await page.keyboard.press('Control+z')
      await entry(page, 'transfers').locator('.se-empty', { hasText: 'empty queue' }).waitFor(WAIT)
      await until('the undo is an edit event', async () => (await head(page, 'main')) === before + 1)
      // Undo again, with the button: the last removal comes back.
      await page.locator('.se-undo').click()
      await until('the last removed transfer is back', async () => (await items.count()) === 1)
      assert.equal(await items.first().locator('.se-item').textContent(), last, 'the item put back is the last one removed')
      // The top bar follows the head while the app is stopped, as the timeline does.
      await page.locator('.topbar .tb-meta', { hasText: `main · event ${await head(page, 'main')} ·` }).waitFor(WAIT)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('while a new item is half typed, a step still shows: the queue it took from is current, and the typing stays in its box', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await page.locator('.state-editor[data-editable="true"]').waitFor(WAIT)
      const items = entry(page, 'transfers').locator('li[data-index]')
      const count = await items.count()
      assert.ok(count > 1, 'the bank starts with transfers queued')
      const push = page.locator('input[aria-label="push to transfers"]')
      await push.fill('{"from":"bo')
      // F10 while typing: the step takes the front transfer, and the state shown says so at once.
      await page.keyboard.press('F10')
      await until('the queue shows one transfer fewer', async () => (await items.count()) === count - 1)
      assert.equal(await push.inputValue(), '{"from":"bo', 'the half-typed item is still there')
      assert.ok(await push.evaluate((el) => el === (el.ownerDocument as unknown as { activeElement: unknown }).activeElement), 'and still being typed in')
      await page.keyboard.type('b","to":"alice","amount":1}')
      await page.keyboard.press('Enter')
      // (Not a wait for the text 'amount: 1': the bank's own transfer of 100 has it from the start.)
      await until('the pushed transfer is in the queue', async () => (await items.count()) === count)
      assert.equal(await items.last().textContent(), `{amount: 1, from: "bob", to: "alice"}`)
      // Refused text, then a step: the queue is still shown as it is now.
      await push.fill('not json {')
      await push.press('Enter')
      const now = await items.count()
      await page.keyboard.press('F10')
      await until('the queue shows the step', async () => (await items.count()) === now - 1)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test("a var whose preview is long ends in … before its '{ } edit' button, not under it", async () => {
    const long = Array.from({ length: 12 }, (_, i) => `'note ${i}: a fairly long line of text'`).join(', ')
    const { page, close, errors } = await open('samples/bank.loom.md', (nb) => appendFileSync(nb, `\n\`\`\`ts #prefs\nconst prefs = state.var('prefs', { theme: 'dark', notes: [${long}] })\n\`\`\`\n`))
    try {
      const edit = entry(page, 'prefs').locator('.se-json')
      await edit.waitFor(WAIT)
      // Measured in one go: the state editor may draw the entry again meanwhile.
      const measure = async () => (await page.evaluate(`(() => {
        const row = document.querySelector('.state-entry[data-state="prefs"] .jt-row')?.getBoundingClientRect()
        const button = document.querySelector('.state-entry[data-state="prefs"] .se-json')?.getBoundingClientRect()
        return row && button ? { rowRight: row.right, rowWidth: row.width, buttonLeft: button.left } : null
      })()`)) as { rowRight: number; rowWidth: number; buttonLeft: number } | null
      await until('the entry is drawn', async () => (await measure()) !== null)
      const m = (await measure())!
      assert.ok(m.rowRight <= m.buttonLeft + 0.5, `the preview (to ${m.rowRight}) stops before the button (at ${m.buttonLeft})`)
      const row = { width: m.rowWidth }
      await shot(page, 'var-preview.png')
      // Editing as JSON still shows the text area across the whole width.
      await edit.click()
      const area = await entry(page, 'prefs').locator('textarea.se-area').boundingBox()
      assert.ok(area && row && area.width > row.width, 'the JSON editor is as wide as the entry')
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })
})
