// The visual debugger's inspector end to end: a real `loom serve` on a copy of a sample, driven in Debian's
// Chromium — the agent panel's previews and commits, exploration, verify, replay with the current code, and
// an error's link to its line, as a person uses them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { execFileSync } from 'node:child_process'
import { describeDebugger, WAIT, track, entry, mapValue, until, shot, head, runBank, toast, addLine, watchProgress, selectMoment } from './debuggerPage.ts'

describeDebugger('the visual debugger in a browser: the inspector: agent, exploration, verify, replay', (open) => {
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
