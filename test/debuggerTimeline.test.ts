// The visual debugger's timeline end to end: a real `loom serve` on a copy of a sample, driven in Debian's
// Chromium — time travel, step, fork, promote, rename and delete, many branches, a small window, its keys,
// export and import, as a person uses them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeDebugger, WAIT, SHOTS, track, entry, mapValue, until, shot, coveredByToasts, head, runBank, stepUntil, branchNames, toast, selectMoment } from './debuggerPage.ts'

describeDebugger('the visual debugger in a browser: the timeline: scrubbing, forks, branches, keyboard, export and import', (open) => {
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
})
