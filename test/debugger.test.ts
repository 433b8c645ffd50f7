// The visual debugger end to end: a real `loom serve` on a copy of a sample,
// driven in Debian's Chromium — the timeline, time travel, forks, the agent
// panel, the state editor and exploration, as a person uses them.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, serveCopy, serveNotebook, type Serving } from './browser.ts'

const WAIT = { timeout: 45_000 }
/** The page's document, as far as the functions this file runs in the page use it (the tests type-check without the DOM). */
declare const document: { querySelector(s: string): { textContent: string | null } | null }
const haveChromium = existsSync(CHROMIUM)
const SHOTS = process.env.LOOM_SCREENSHOTS

describe('the visual debugger in a browser', { skip: haveChromium ? false : `no Chromium at ${CHROMIUM} (.ci/run installs it with apt)` }, () => {
  let browser: Browser
  let ui: string

  before(async () => {
    ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  })
  after(async () => {
    await browser?.close()
  })

  /** Serves a copy of `sample` (after `prepare` has run on the copy) and opens it in a page. */
  async function open(sample: string, prepare?: (notebook: string) => void): Promise<{ page: Page; server: Serving; errors: string[]; close(): Promise<void> }> {
    let server: Serving
    if (prepare) {
      const dir = await mkdtemp(join(tmpdir(), 'loom-debugger-'))
      const notebook = join(dir, basename(sample))
      await copyFile(sample, notebook)
      prepare(notebook)
      server = await serveNotebook(notebook, ui, dir)
    } else server = await serveCopy(sample, ui)
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    try {
      await page.goto(server.url)
      await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
      await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
    } catch (err) {
      await page.close()
      await server.stop()
      throw err
    }
    return { page, server, errors, async close() { await page.close(); await server.stop() } }
  }

  const track = (page: Page, branch: string) => page.locator(`.tl-label[data-branch="${branch}"]`)
  const entry = (page: Page, state: string) => page.locator(`.state-editor .state-entry[data-state="${state}"]`)
  const mapValue = (page: Page, state: string, key: string) => entry(page, state).locator(`tr[data-key="${key}"] td.se-val`)

  async function until(what: string, fn: () => Promise<boolean>, timeout = 45_000): Promise<void> {
    const end = Date.now() + timeout
    while (!(await fn())) {
      if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** With LOOM_SCREENSHOTS=dir, a picture of the window for the docs (toasts hidden: they come and go). */
  async function shot(page: Page, name: string): Promise<void> {
    if (!SHOTS) return
    await page.addStyleTag({ content: '.toasts { display: none !important; }' })
    await page.screenshot({ path: `${SHOTS}/${name}`, animations: 'disabled' })
  }

  /** The controls (tabs, buttons, fields) a toast now on the page covers, by their text or class. */
  async function coveredByToasts(page: Page): Promise<string[]> {
    return page.evaluate(`(() => {
      const toasts = [...document.querySelectorAll('.toast')].map((t) => t.getBoundingClientRect())
      const out = []
      for (const el of document.querySelectorAll('button, input, select, textarea, [role=tab], .tl-canvas')) {
        const box = el.getBoundingClientRect()
        // What shows of it: a scrolled area (the timeline's tracks) clips it.
        const clip = el.closest('.tl-body, .notebook-scroll')?.getBoundingClientRect() ?? box
        const r = { left: Math.max(box.left, clip.left), right: Math.min(box.right, clip.right), top: Math.max(box.top, clip.top), bottom: Math.min(box.bottom, clip.bottom) }
        if (r.right <= r.left || r.bottom <= r.top || el.closest('.toasts')) continue
        if (toasts.some((t) => t.left < r.right && r.left < t.right && t.top < r.bottom && r.top < t.bottom)) out.push((el.textContent || '').trim() || el.className)
      }
      return out
    })()`)
  }

  async function head(page: Page, branch: string): Promise<number> {
    return Number(await track(page, branch).getAttribute('data-head'))
  }

  /** Runs the bank until it parks with an empty queue: a code event and four steps. */
  async function runBank(page: Page): Promise<void> {
    await page.locator('body').press('F8')
    await page.locator('.run-pill[data-state="parked"]').waitFor(WAIT)
    await until('main has 5 events', async () => (await head(page, 'main')) === 5)
  }

  /** Steps the app with the Step button until main's head is `n`, one event at a time. */
  async function stepUntil(page: Page, n: number): Promise<void> {
    for (let k = (await head(page, 'main')) + 1; k <= n; k++) {
      await page.locator('button.tb-button.step').click()
      await until(`step ${k - 1} is on the timeline`, async () => (await head(page, 'main')) === k)
    }
  }

  /** The branches the timeline shows, by name, top to bottom. */
  const branchNames = (page: Page) => page.locator('.tl-label').evaluateAll((els) => els.map((e) => e.getAttribute('data-branch')))

  const toast = (page: Page, text: string | RegExp) => page.locator('.toast', { hasText: text }).first()

  /** Types `text` on a new line after the line of `cell` that holds `after`, and applies the cell (Shift+Enter); waits for the new code. */
  async function addLine(page: Page, cell: string, after: string, text: string): Promise<void> {
    const hash = await page.locator('.tb-meta').first().textContent()
    await page.locator(`.code-cell[data-cell="${cell}"] .view-line`, { hasText: after }).click()
    await page.keyboard.press('End')
    await page.keyboard.press('Enter')
    await page.keyboard.type(text)
    await page.keyboard.press('Shift+Enter')
    await page.waitForFunction((h) => document.querySelector('.tb-meta')?.textContent !== h, hash, WAIT)
  }

  /** From now on, every state of the timeline's progress bar while it is shown: [done, total, words]. */
  async function watchProgress(page: Page): Promise<() => Promise<[string, string, string][]>> {
    await page.evaluate(`(() => {
      window.loomProgress = []
      const bar = document.querySelector('.tl-job')
      new MutationObserver(() => {
        if (!bar.hidden) window.loomProgress.push([bar.dataset.done, bar.dataset.total, bar.textContent])
      }).observe(bar, { attributes: true, childList: true, subtree: true, characterData: true })
    })()`)
    return () => page.evaluate('window.loomProgress')
  }

  async function selectMoment(page: Page, seq: number): Promise<void> {
    await track(page, 'main').click()
    await page.locator('.tl-canvas').focus()
    await page.keyboard.press('Home')
    for (let i = 0; i < seq; i++) await page.keyboard.press('ArrowRight')
    await page.locator(`.timeline[data-selected-branch="main"][data-selected-seq="${seq}"]`).waitFor(WAIT)
  }

  test('scrubbing the timeline shows the state as it was at each moment, and End goes back to live', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await runBank(page)
      await page.locator('.timeline[data-live="true"][data-selected-seq="5"]').waitFor(WAIT)
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '115' }).waitFor(WAIT)

      await selectMoment(page, 1)
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '100' }).waitFor(WAIT)
      await mapValue(page, 'accounts', 'bob').filter({ hasText: '50' }).waitFor(WAIT)
      await page.locator('.state-editor[data-editable="false"] .se-banner', { hasText: 'read-only' }).waitFor(WAIT)
      await page.keyboard.press('ArrowRight')
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '70' }).waitFor(WAIT)
      await mapValue(page, 'accounts', 'bob').filter({ hasText: '80' }).waitFor(WAIT)
      // The cells' live values travel too.
      await page.locator('.code-cell[data-cell="state"]').filter({ hasText: 'alice: 70' }).first().waitFor(WAIT)
      await page.keyboard.press('ArrowRight')
      await entry(page, 'refused').filter({ hasText: '0' }).waitFor(WAIT)
      await mapValue(page, 'accounts', 'carol').filter({ hasText: '60' }).waitFor(WAIT)
      await page.keyboard.press('ArrowRight')
      await entry(page, 'refused').locator('.se-number, .se-value').filter({ hasText: '1' }).first().waitFor(WAIT)

      // Event details: the selected event's writes as before → after.
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator('.ed-title[data-seq="4"][data-kind="step"]').waitFor(WAIT)
      await page.locator('.ed-write[data-state="refused"] .ed-after', { hasText: '1' }).waitFor(WAIT)
      await page.locator('.tl-canvas').focus()
      await page.keyboard.press('ArrowLeft')
      await page.locator('.ed-write[data-state="accounts"] tr[data-key="carol"]', { hasText: '0' }).filter({ hasText: '60' }).waitFor(WAIT)

      await page.keyboard.press('End')
      await page.locator('.timeline[data-live="true"][data-selected-seq="5"]').waitFor(WAIT)
      await page.locator('.insp-tab[data-tab="state"]').click()
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '115' }).waitFor(WAIT)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('step adds one event to the live track; fork at a past moment, promote it, step it, and both tracks show', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await stepUntil(page, 5)

      await selectMoment(page, 2)
      await page.locator('.tl-fork').click()
      await page.locator('.tl-fork-name').fill('what-if')
      await page.locator('.tl-fork-name').press('Enter')
      await track(page, 'what-if').and(page.locator('[data-forked-at="2"][data-parent="main"][data-live="false"]')).waitFor(WAIT)
      await page.locator('.timeline[data-selected-branch="what-if"][data-selected-seq="2"]').waitFor(WAIT)
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '70' }).waitFor(WAIT)

      await page.locator('.tl-promote').click()
      await track(page, 'what-if').and(page.locator('[data-live="true"]')).waitFor(WAIT)
      await track(page, 'main').and(page.locator('[data-live="false"][data-head="5"]')).waitFor(WAIT)
      await page.locator('button.tb-button.step').click()
      await until('the branch has its own event', async () => (await head(page, 'what-if')) === 3)
      assert.equal(await head(page, 'main'), 5, 'the old branch is as it was')
      await page.locator('.timeline[data-selected-branch="what-if"][data-selected-seq="3"]').waitFor(WAIT)
      await mapValue(page, 'accounts', 'carol').filter({ hasText: '60' }).waitFor(WAIT)
      // Each track still shows its own history.
      await track(page, 'main').click()
      await page.locator('.tl-canvas').focus()
      await page.keyboard.press('End')
      await page.locator('.timeline[data-selected-branch="main"][data-selected-seq="5"]').waitFor(WAIT)
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '115' }).waitFor(WAIT)
      await shot(page, 'timeline.png')
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('preview a step with sys.fork: each answer writes something else; the committed one is on the timeline', async () => {
    const { page, close, errors } = await open('samples/philosophers.loom.md')
    try {
      const before = await head(page, 'main')
      await page.locator('.insp-tab[data-tab="agent"]').click()
      await page.locator('.ag-method[data-method="step"]').click()
      await page.locator('.ag-preview').click()
      await page.locator('.ag-choice[data-index="0"] button[data-value="4"]').waitFor(WAIT)
      const writes = new Set<string>()
      for (let v = 0; v < 5; v++) {
        await page.locator(`.ag-choice[data-index="0"] button[data-value="${v}"]`).click()
        await page.locator(`.ag-choice[data-index="0"] button[data-value="${v}"].on`).waitFor(WAIT)
        await page.locator('.ag-tree .ag-outcome.current').waitFor(WAIT)
        writes.add(await page.locator('.ag-writes').innerText())
      }
      assert.equal(writes.size, 5, `each philosopher's step writes something else: ${[...writes].join(' | ')}`)
      assert.equal(await page.locator('.ag-tree .ag-outcome').count(), 5, 'the outcome tree shows every alternative')
      await page.locator('.ag-choice[data-index="0"] button[data-value="3"]').click()
      await page.locator('.ag-choice[data-index="0"] button[data-value="3"].on').waitFor(WAIT)
      await shot(page, 'agent-panel.png')
      await page.locator('.ag-commit').click()
      await page.locator('.ag-done', { hasText: `event ${before + 1}` }).waitFor(WAIT)
      await until('the committed step is on the timeline', async () => (await head(page, 'main')) === before + 1)
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator(`.ed-title[data-seq="${before + 1}"][data-kind="step"]`).waitFor(WAIT)
      await page.locator('.ed-choice', { hasText: '3' }).waitFor(WAIT)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('rename a branch and delete another from the timeline: the new name shows everywhere, delete asks first and says its events are archived, and the live branch cannot be deleted', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await stepUntil(page, 5)
      const forkAt = async (seq: number, name: string) => {
        await selectMoment(page, seq)
        await page.locator('.tl-fork').click()
        await page.locator('.tl-fork-name').fill(name)
        await page.locator('.tl-fork-name').press('Enter')
        // The new track can show (pushed to every window) before the fork's answer selects it: wait for that.
        await page.locator(`.timeline[data-selected-branch="${name}"]`).waitFor(WAIT)
      }
      await forkAt(2, 'what-if')
      await forkAt(3, 'other')
      // what-if gets an event of its own, then main is live again.
      await track(page, 'what-if').click()
      // Promote acts on the selected moment's branch: wait until it is what-if's (a click is not instant under load).
      await page.locator('.tl-moment', { hasText: /^what-if · / }).waitFor(WAIT)
      await page.locator('.tl-promote').click()
      await track(page, 'what-if').and(page.locator('[data-live="true"]')).waitFor(WAIT)
      await page.locator('button.tb-button.step').click()
      await until('what-if has its own event', async () => (await head(page, 'what-if')) === 3)
      await track(page, 'main').click()
      await page.locator('.tl-promote').click()
      await track(page, 'main').and(page.locator('[data-live="true"]')).waitFor(WAIT)

      // The live branch cannot be deleted, and the button says why.
      await page.locator('.timeline[data-selected-branch="main"]').waitFor(WAIT)
      assert.equal(await page.locator('.tl-delete').isDisabled(), true)
      assert.match((await page.locator('.tl-delete').getAttribute('title')) ?? '', /'main' is the live branch: promote another to delete it/)

      await track(page, 'what-if').click()
      await page.locator('.tl-rename').click()
      await page.locator('.tl-rename-name').fill('idea')
      await page.locator('.tl-rename-name').press('Enter')
      await track(page, 'what-if').and(page.locator('[data-label="idea"]')).waitFor(WAIT)
      assert.equal(await track(page, 'what-if').locator('.tl-name').textContent(), 'idea')
      await page.locator('.tl-moment', { hasText: /^idea · event 3$/ }).waitFor(WAIT)
      await toast(page, /Renamed what-if to idea\. Its events keep the name 'what-if' that their hashes include/).waitFor(WAIT)
      await shot(page, 'branch-renamed.png')

      // Delete asks first, naming what happens to the branch's events; Cancel keeps it.
      await page.locator('.tl-delete').click()
      const confirm = page.locator('.tl-confirm')
      await confirm.waitFor({ state: 'visible', ...WAIT })
      assert.match(await confirm.innerText(), /Delete branch 'idea'\? It is archived, not erased: the log keeps its 1 event and Verify still checks it\./)
      assert.match(await confirm.innerText(), /--restore idea brings it back/)
      await shot(page, 'branch-delete-confirm.png')
      await page.locator('.tl-delete-no').click()
      await confirm.waitFor({ state: 'hidden', ...WAIT })
      assert.equal(await track(page, 'what-if').count(), 1, 'Cancel deletes nothing')

      await page.locator('.tl-delete').click()
      await page.locator('.tl-delete-yes').click()
      await track(page, 'what-if').waitFor({ state: 'detached', ...WAIT })
      await toast(page, /Deleted idea: archived with its 1 event/).waitFor({ state: 'attached', ...WAIT })
      assert.deepEqual(await branchNames(page), ['main', 'other'])
      // Gone for good from this page's view, and from a fresh one.
      await page.reload()
      await track(page, 'main').waitFor(WAIT)
      assert.deepEqual(await branchNames(page), ['main', 'other'])
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('previewing a step before start() has run says to run start() first; after a Step the preview shows the step', async () => {
    const { page, close, errors } = await open('samples/timer.loom.md')
    try {
      await page.locator('.insp-tab[data-tab="agent"]').click()
      await page.locator('.ag-method[data-method="step"]').click()
      await page.locator('.ag-preview').click()
      await page.locator('.agent-panel', { hasText: "cannot preview step() yet: the app's start() has not run" }).waitFor(WAIT)
      assert.match(await page.locator('.agent-panel').innerText(), /Press Step \(F10\) to run start\(\), or Run \(F8\), then preview again/)
      assert.doesNotMatch(await page.locator('.agent-panel').innerText(), /got null/, 'no error from inside a step that could not run yet')
      await page.locator('button.tb-button.step').click()
      await until('start() is on the timeline', async () => (await head(page, 'main')) === 2)
      await page.locator('.ag-preview').click()
      await page.locator('.ag-tree .ag-outcome').first().waitFor(WAIT)
      assert.doesNotMatch(await page.locator('.agent-panel').innerText(), /has not run/)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test("answer gui(agent)'s questions and commit: a gui event, and the transfer is queued", async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await page.locator('.insp-tab[data-tab="agent"]').click()
      await page.locator('.ag-method[data-method="gui"]').click()
      await page.locator('.ag-preview').click()
      await page.locator('select[data-question="from"]').selectOption('carol')
      await until('the preview asks again with carol paying', async () => (await page.locator('select[data-question="from"]').inputValue()) === '2')
      // The preview run again with carol has come back (its form drawn anew): typed before, the amount would be lost.
      await page.locator('.ag-shown', { hasText: 'carol →' }).waitFor(WAIT)
      await page.locator('input[data-question="amount"]').fill('25')
      await page.locator('input[data-question="amount"]').press('Enter')
      await page.locator('.ag-shown', { hasText: 'carol → alice: 25' }).waitFor(WAIT)
      await page.locator('.ag-verdict[data-committed="true"]').waitFor(WAIT)
      await page.locator('.ag-commit').click()
      await page.locator('.ag-done', { hasText: 'gui' }).waitFor(WAIT)
      await until('a gui event is on the timeline', async () => ((await track(page, 'main').getAttribute('data-kinds')) ?? '').includes('gui:1'))
      await page.locator('.insp-tab[data-tab="state"]').click()
      await entry(page, 'transfers').locator('li', { hasText: 'amount: 25' }).waitFor(WAIT)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

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

  test('exploration finds the race, and its counterexample opens as a branch to scrub', async () => {
    const { page, close, errors } = await open('samples/tickets-race.loom.md')
    try {
      await page.locator('.insp-tab[data-tab="agent"]').click()
      await page.locator('.ag-explore-run').click()
      await page.locator('.ag-violation', { hasText: 'no ticket is sold twice' }).waitFor(WAIT)
      await page.locator('.ag-cx-name').first().fill('race')
      await page.locator('.ag-open-cx').first().click()
      await track(page, 'race').and(page.locator('[data-parent="main"]')).waitFor(WAIT)
      await page.locator('.timeline[data-selected-branch="race"]').waitFor(WAIT)
      await page.locator('.insp-tab[data-tab="state"]').click()
      await entry(page, 'sold').filter({ hasText: '2' }).waitFor(WAIT)
      await page.locator('.tl-canvas').focus()
      await page.keyboard.press('ArrowLeft')
      await entry(page, 'sold').filter({ hasText: '1' }).waitFor(WAIT)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('verify replays the whole history with a progress bar, and says every event replays as recorded', async () => {
    // A history long enough for the bar to move, made beforehand by `loom run` (a running app's stream would make its length a matter of timing).
    const { page, close, errors } = await open('samples/counter.loom.md', (notebook) => {
      execFileSync(process.execPath, ['bin/loom.js', 'run', notebook, '--steps', '60000'], { stdio: 'ignore' })
    })
    try {
      const n = 60_001
      await track(page, 'main').and(page.locator(`[data-head="${n}"]`)).waitFor(WAIT)
      await page.locator('.timeline[data-zoom="all"]').waitFor(WAIT)
      const progress = await watchProgress(page)
      await page.locator('.tl-verify').click()
      await toast(page, `Verified main events 1–${n}: all ${n.toLocaleString('en-US')} replay exactly as recorded`).waitFor(WAIT)
      await page.locator('.tl-job[hidden]').waitFor({ state: 'attached', ...WAIT })
      const seen = await progress()
      assert.ok(seen.length > 0, 'the progress bar showed')
      assert.ok(seen.every(([, total, words]) => total === String(n) && words.startsWith(`verifying main 1–${n}`)), `it says what it verifies: ${JSON.stringify(seen.slice(0, 3))}`)
      assert.ok(seen.some(([done]) => Number(done) === 0) && seen.some(([done]) => Number(done) > 0), `it moves: ${seen.map(([d]) => d).join(', ')}`)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('replay with the current code: after an edit that changes outcomes, a new branch shows where they diverge', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await runBank(page)
      // Every transfer now costs a fee of 1: the first step's outcome changes.
      await addLine(page, 'step', 'accounts.set(t.to,', 'accounts.set(t.from, (accounts.get(t.from) ?? 0) - 1)')
      await track(page, 'main').click()
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator('.tl-rerun').click()
      await toast(page, /onto main-replay: \d+ diverges?, first at event 2 \(/).waitFor(WAIT)
      await track(page, 'main-replay').waitFor(WAIT)
      assert.ok(Number(await track(page, 'main-replay').getAttribute('data-divergences')) > 0, 'the divergences are marked on its track')
      await page.locator('.timeline[data-selected-branch="main-replay"][data-selected-seq="2"]').waitFor(WAIT)
      // The event details name what is different at the first divergent event.
      await page.locator('.ed-title[data-seq="2"]').waitFor(WAIT)
      await page.locator('.ed-divergence').filter({ hasText: /\S/ }).waitFor(WAIT)
      await page.locator('.insp-tab[data-tab="state"]').click()
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '69' }).waitFor(WAIT)
      assert.equal(await head(page, 'main'), 6, 'the recorded branch is untouched (its events and the edit)')
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('with seven branches the timeline grows, then scrolls: the selected branch is scrolled into view, the header and axis stay on top, and the badge hides the tick label under it', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await runBank(page)
      const bodyHeight = () => page.locator('.tl-body').evaluate((el) => el.clientHeight)
      const oneBranch = await bodyHeight()
      for (let k = 1; k <= 5; k++) {
        await selectMoment(page, k)
        await page.locator('.tl-fork').click()
        await page.locator('.tl-fork-name').fill(`fork-${k}`)
        await page.locator('.tl-fork-name').press('Enter')
        await page.locator(`.timeline[data-selected-branch="fork-${k}"]`).waitFor(WAIT)
      }
      assert.ok((await bodyHeight()) > oneBranch + 60, 'the branch area grew with the branches')
      assert.equal(await track(page, 'fork-1').getAttribute('title'), 'fork-1: 1 event, forked from main at event 1')
      // A smaller window: seven branches no longer fit, and the new one lands below the fold.
      await page.setViewportSize({ width: 1400, height: 720 })
      await selectMoment(page, 3)
      // The tracks scrolled to the bottom, away from main: the replay's branch lands just under main, out of view.
      await page.locator('.tl-body').evaluate((el) => { el.scrollTop = el.scrollHeight })
      await page.waitForTimeout(100)
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/timeline-scrolled.png` })
      await page.locator('.tl-rerun').click()
      await track(page, 'main-replay').waitFor(WAIT)
      await page.locator('.timeline[data-selected-branch="main-replay"]').waitFor(WAIT)
      // Its toast is shown, and covers no tab, button or field.
      await toast(page, /onto main-replay/).waitFor(WAIT)
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/toast.png` })
      assert.deepEqual(await coveredByToasts(page), [])
      // The new branch's label is inside the scrolled area, below the header, not clipped.
      const inView = async (): Promise<{ headClipped: boolean; labelShown: boolean }> => page.evaluate(`(() => {
        const q = (s) => document.querySelector(s).getBoundingClientRect()
        const body = q('.tl-body'), head = q('.tl-labels-head'), label = q('.tl-label[data-branch="main-replay"]')
        return { headClipped: head.top < body.top - 0.5, labelShown: label.top >= head.bottom - 0.5 && label.bottom <= body.bottom + 0.5 }
      })()`)
      await until('the selected branch is scrolled into view', async () => (await inView()).labelShown)
      assert.equal((await inView()).headClipped, false, 'the BRANCHES header is never clipped')
      assert.ok((await page.locator('.tl-body').evaluate((el) => el.scrollHeight > el.clientHeight)), 'seven branches at this size scroll')
      await shot(page, 'timeline-branches.png')
      // The selected moment's badge sits on the axis; the seq number under it is not drawn.
      const seq = Number(await page.locator('.timeline').getAttribute('data-selected-seq'))
      const ticks = ((await page.locator('.timeline').getAttribute('data-ticks')) ?? '').split(',').filter(Boolean).map(Number)
      assert.ok(ticks.length > 1, 'the axis shows its numbers')
      assert.ok(!ticks.includes(seq), `no tick label under the badge of event ${seq}: ${ticks}`)
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('in a 900×600 window the notebook keeps room to read, and every timeline button is on screen', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await runBank(page)
      await page.setViewportSize({ width: 900, height: 600 })
      await page.waitForTimeout(300)
      const layout = (await page.evaluate(`(() => {
        const nb = document.querySelector('.notebook-scroll')
        const bar = document.querySelector('.tl-toolbar').getBoundingClientRect()
        const clipped = [...document.querySelectorAll('.tl-toolbar button')].filter((b) => !b.hidden && b.offsetParent).map((b) => [b, b.getBoundingClientRect()])
          .filter(([, r]) => r.right > Math.min(bar.right, innerWidth) + 0.5 || r.bottom > bar.bottom + 0.5 || r.left < bar.left - 0.5).map(([b]) => b.className)
        return { width: nb.clientWidth, height: nb.clientHeight, sideways: nb.scrollWidth - nb.clientWidth, clipped }
      })()`)) as { width: number; height: number; sideways: number; clipped: string[] }
      assert.ok(layout.width >= 450, `the notebook is ${layout.width}px wide`)
      assert.ok(layout.height >= 160, `the notebook is ${layout.height}px tall`)
      assert.ok(layout.sideways <= 1, `the notebook does not run sideways (${layout.sideways}px)`)
      assert.deepEqual(layout.clipped, [], 'no timeline button is cut off')
      await shot(page, 'small-window.png')
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

  test('export a branch to a file and import it back: it opens as a branch of its own, verified', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    const dir = await mkdtemp(join(tmpdir(), 'loom-export-'))
    try {
      await runBank(page)
      await track(page, 'main').click()
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('.tl-export').click()])
      assert.equal(download.suggestedFilename(), 'main.loom.jsonl')
      const file = join(dir, download.suggestedFilename())
      await download.saveAs(file)
      const lines = (await readFile(file, 'utf8')).trim().split('\n')
      assert.equal(JSON.parse(lines[0]!).branch, 'main')
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('.tl-import').click()])
      await chooser.setFiles(file)
      // main is taken here: it comes in beside it.
      await toast(page, 'Imported branch main-imported').waitFor(WAIT)
      await track(page, 'main-imported').and(page.locator('[data-head="5"][data-parent=""][data-live="false"]')).waitFor(WAIT)
      await page.locator('.timeline[data-selected-branch="main-imported"][data-selected-seq="5"]').waitFor(WAIT)
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '115' }).waitFor(WAIT)
      await page.locator('.tl-canvas').focus()
      await page.keyboard.press('Home')
      await page.keyboard.press('ArrowRight')
      await page.keyboard.press('ArrowRight')
      await mapValue(page, 'accounts', 'alice').filter({ hasText: '70' }).waitFor(WAIT)
      assert.deepEqual(errors, [])
    } finally {
      await close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('keyboard: F forks at the selected moment, P promotes, V verifies — as the buttons\' tooltips say', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      for (const [button, key] of [['tl-fork', 'F'], ['tl-promote', 'P'], ['tl-verify', 'V'], ['tl-rerun', 'R']]) {
        assert.match((await page.locator(`.${button}`).getAttribute('title')) ?? '', new RegExp(`\\(${key}\\)$`))
      }
      await runBank(page)
      await selectMoment(page, 2)
      await page.keyboard.press('f')
      await page.locator('.tl-fork-name').waitFor(WAIT)
      assert.equal(await page.locator('.tl-fork-name').inputValue(), 'main-2')
      await page.keyboard.press('Enter')
      await track(page, 'main-2').and(page.locator('[data-forked-at="2"][data-live="false"]')).waitFor(WAIT)
      await page.locator('.timeline[data-selected-branch="main-2"]').waitFor(WAIT)
      await page.locator('.tl-canvas').focus()
      await page.keyboard.press('p')
      await track(page, 'main-2').and(page.locator('[data-live="true"]')).waitFor(WAIT)
      await toast(page, 'main-2 is now the live branch').waitFor(WAIT)
      // The app runs on from the promoted branch's head (the bank is running): verify whatever it has by then.
      await page.keyboard.press('v')
      await toast(page, /Verified main-2 events 1–\d+: all \d+ replay exactly as recorded/).waitFor(WAIT)
      // Typed into a cell, the same letters are only text.
      await page.locator('.code-cell[data-cell="step"] .view-line', { hasText: 'const t = transfers.take()' }).click()
      await page.keyboard.press('End')
      await page.keyboard.type(' // fpv')
      await page.locator('.code-cell[data-cell="step"] .view-line', { hasText: '// fpv' }).waitFor(WAIT)
      assert.equal(await page.locator('.tl-fork-form:not([hidden])').count(), 0, 'no fork form opened')
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })

  test('an error in event details links to its cell and line: the line is selected in the cell\'s editor', async () => {
    const { page, close, errors } = await open('samples/bank.loom.md')
    try {
      await addLine(page, 'step', 'const t = transfers.take()', "if (t.amount > 50) throw new Error('too big to move')")
      await page.locator('body').press('F8')
      await page.locator('.code-cell[data-cell="step"][data-error-line="3"]').waitFor(WAIT)
      const seq = await head(page, 'main')
      // Away from the cell, then back to it through the link.
      await page.locator('.notebook-scroll').evaluate((e) => e.scrollTo(0, 0))
      await page.locator('.code-cell[data-cell="teller"] .view-lines').click()
      await selectMoment(page, seq)
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator('.ed-error', { hasText: 'too big to move' }).waitFor(WAIT)
      await page.locator('.ed-error .ed-where', { hasText: 'step:3' }).click()
      const active = page.locator('.code-cell[data-cell="step"] .line-numbers.active-line-number')
      await active.filter({ hasText: /^3$/ }).waitFor(WAIT)
      await page.locator('.code-cell[data-cell="step"] .monaco-editor.focused').waitFor(WAIT)
      await until('the line is on screen', async () => (await active.boundingBox().then((b) => !!b && b.y > 0 && b.y < 950)))
      assert.deepEqual(errors, [])
    } finally {
      await close()
    }
  })
})
