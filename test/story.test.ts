// The story of samples/reservations.loom.md, end to end, as its prose tells
// it: a real `loom serve`, real concurrent HTTP requests to the app's port on
// loopback, and Chromium showing what a person sees at each step — the
// oversell marked and counted, exploration's counterexample opened as a
// branch, the cell fixed live, and replay with the fixed code. The requests
// and commands are read from the sample's prose, so the prose stays true.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, hoverText, launchChromium, openAppWindow } from './browser.ts'

const SAMPLE = 'samples/reservations.loom.md'
const PROSE = readFileSync(SAMPLE, 'utf8')
const WAIT = { timeout: 45_000 }
const SHOTS = 'docs'

/** The shell commands of the prose's ```sh blocks, one per line. */
const shellLines = [...PROSE.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.trim().split('\n'))

/** A prose `curl` command as a request: its body (-d makes it a POST) and path on the app's port. */
function curlRequests(line: string): { method: string; path: string; body?: string }[] {
  return [...line.matchAll(/curl -s (?:-d '([^']*)' )?localhost:8082(\/\S*)/g)].map((m) => (m[1] === undefined ? { method: 'GET', path: m[2]! } : { method: 'POST', path: m[2]!, body: m[1] }))
}

/** A `loom` command of the prose (`npx loom …`, in a ```sh block or in backquotes) run on the test's copies of the notebook and its log. */
function loomCommand(start: string, notebook: string): { status: number | null; stdout: string; stderr: string } {
  const line = new RegExp(`npx loom ${start}[^\`\\n]*`).exec(PROSE)?.[0]
  assert.ok(line, `the prose has a command starting 'npx loom ${start}'`)
  const args = line.replace(/^npx loom /, '').split(' ').map((a) => a.replace('samples/reservations.loom.md', notebook).replace('samples/reservations.loom.db', notebook.replace(/\.md$/, '.db')))
  return spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })
}

const seen = (l: Locator, text: string | RegExp) => l.filter({ hasText: text }).first().waitFor(WAIT)
const shot = async (page: Page, name: string) => {
  await mkdir(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, `story-${name}.png`), animations: 'disabled' })
}

test('the reservations story in a browser: two concurrent requests oversell the last seat, the failed test is marked and counted, exploration finds it, the live fix holds on replay', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async (t) => {
  assert.ok(shellLines.includes('npx loom serve samples/reservations.loom.md'), 'the prose serves the sample')
  const [ui, browser]: [string, Browser] = await Promise.all([buildUiOnce(), launchChromium()])
  t.after(() => browser.close())
  // The app's port is any free one here (8082 may be taken on this machine); the prose's requests go to it.
  const dir = await mkdtemp(join(tmpdir(), 'loom-story-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const notebook = join(dir, 'reservations.loom.md')
  await copyFile(SAMPLE, notebook)
  const { page, pageErrors, app, close } = await openAppWindow(browser, ui, notebook)
  try {
    // 1. The top bar links to the app's own port; F8 runs it, and the confirmer waits for a hold.
    assert.match(app, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match((await page.locator('a.tb-app').textContent()) ?? '', /^app 127\.0\.0\.1:\d+$/)
    await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
    await page.locator('body').press('F8')
    await seen(page.locator('.run-pill[data-state="parked"]'), 'nothing is held')

    // 2. The prose's two curls, sent at once from real clients: both see the last seat and get a hold.
    const pair = shellLines.find((l) => l.includes('& wait'))!
    const requests = curlRequests(pair)
    assert.deepEqual(requests.map((r) => `${r.method} ${r.path}`), ['POST /reserve', 'POST /reserve'])
    const answers = await Promise.all(requests.map((r) => fetch(`${app}${r.path}`, { method: r.method, body: r.body })))
    const holds = await Promise.all(answers.map(async (a) => ({ status: a.status, body: (await a.json()) as { name: string; status: string } })))
    assert.deepEqual(holds.map((h) => [h.status, h.body.status]), [[201, 'held'], [201, 'held']])
    assert.deepEqual(holds.map((h) => h.body.name).sort(), ['ann', 'bob'])
    await page.locator('.insp-tab[data-tab="extra"]', { hasText: 'Recent' }).click()
    await page.locator('li.event[data-kind="http"] .event-what', { hasText: 'POST /reserve → 201' }).nth(1).waitFor(WAIT)

    // Two seconds later both holds are confirmed: the test fails after event 5 (1 start, 2–3 the requests, 4–5 the confirmations).
    const problems = page.locator('.tb-problems')
    await seen(problems, '1 failed test')
    assert.match(await hoverText(page, 'main', 5), /step · a test failed here/)
    assert.doesNotMatch(await hoverText(page, 'main', 4), /failed/)
    await page.locator('.insp-tab[data-tab="event"]').click()
    await page.locator('body').press('Home')
    await page.locator('body').press('e')
    await page.locator('.ed-title[data-seq="5"]').waitFor(WAIT)
    await page.locator('.insp-tab[data-tab="state"]').click()
    await seen(page.locator('.state-entry[data-state="seats"] .se-value'), /^-1$/)
    await shot(page, 'oversold')
    const seats = curlRequests(shellLines.find((l) => l.includes('/seats'))!)[0]!
    const now = (await (await fetch(`${app}${seats.path}`)).json()) as { seats: number; reservations: unknown[] }
    assert.equal(now.seats, -1)
    assert.equal(now.reservations.length, 2)
    // The test stays broken after the GET too: still one failed test, failing after more than one event.
    await seen(problems, /^1 failed test \(failing at \d+ events\)$/)

    // A request's details: what came in and what the app answered.
    await page.locator('body').press('Home')
    await page.locator('body').press('ArrowRight')
    await page.locator('body').press('ArrowRight')
    await page.locator('.insp-tab[data-tab="event"]').click()
    await page.locator('.ed-title[data-kind="http"][data-seq="2"]').waitFor(WAIT)
    await seen(page.locator('.ed-section', { hasText: 'Request' }).locator('.ed-request-line'), 'POST /reserve')
    await seen(page.locator('.ed-section', { hasText: 'Response' }).locator('.ed-request-line'), '201')

    // 3. Explore from a recorded moment.
    // From event 1 (the first hold), exploration delivers the requests the log recorded after it in every
    // order, with the background step and the clock: the shortest oversell is both holds, then the batch.
    await page.locator('body').press('ArrowLeft')
    await page.locator('[data-selected-branch="main"][data-selected-seq="1"]').waitFor(WAIT)
    await page.locator('.insp-tab[data-tab="agent"]').click()
    await page.locator('.ag-explore-run').click()
    await page.locator('.ag-explore-sum[data-violations="1"]').waitFor(WAIT)
    await seen(page.locator('.ag-violation .ag-failure'), 'test “never oversold”')
    await seen(page.locator('.ag-violation .ag-trace'), /^5 moves: POST \/reserve .* → POST \/reserve .* → clock → 2000 ms → step\(\) → step\(\)$/)
    // The prose's command line, on the log loom serve is writing (it only reads it): exit 1, the same trace.
    const explored = loomCommand('explore', notebook)
    assert.equal(explored.status, 1, explored.stdout + explored.stderr)
    assert.match(explored.stdout, /test 'never oversold' fails after 5 moves/)

    // 4. The counterexample opens as a branch: a second track on the timeline.
    await page.locator('.ag-open-cx').first().click()
    await seen(page.locator('.toast'), /Opened counterexample as branch counterexample-\d+-1/)
    await page.locator('.tl-label[data-branch^="counterexample-"]').waitFor(WAIT)
    await shot(page, 'explore')

    // 5. The fix, typed into the #api cell while the app runs: a code event, and the cell runs it.
    const hash = (await page.locator('.tb-meta').textContent()) ?? ''
    const api = page.locator('.code-cell[data-cell="api"]')
    await api.locator('.view-line', { hasText: 'const free = () => seats.get()' }).click()
    await page.keyboard.press('End')
    // In one go, as a paste: typed key by key, a pause of the edit delay would apply a half-typed fix first.
    await page.keyboard.insertText(' - holds.size()')
    await page.keyboard.press('Shift+Enter')
    await page.locator('.tb-meta').filter({ hasNotText: hash }).waitFor(WAIT) // a new code event, a new code hash
    await seen(api.locator('.cell-badge[data-state="live"]'), 'running')
    await page.locator('body').press('Control+s')
    await seen(page.locator('.toast'), 'Saved reservations.loom.md')
    await page.locator('.toast').first().waitFor({ state: 'detached', ...WAIT }) // (out of the screenshot below)

    // 6. Replay the live branch with the fixed code (R): the second request diverges, and the new branch does not oversell.
    await page.locator('.tl-label[data-branch="main"]').click()
    await page.locator('body').press('r')
    await seen(page.locator('.toast'), /Replayed \d+ inputs of main with the current code onto main-replay: \d+ diverge, first at event 3/)
    await page.locator('.tl-label[data-branch="main-replay"]').waitFor(WAIT)
    assert.match(await hoverText(page, 'main-replay', 3), /http · diverged: answered 409 instead of 201/)
    await page.locator('.insp-tab[data-tab="state"]').click()
    await page.locator('body').press('End')
    await seen(page.locator('.state-entry[data-state="seats"] .se-value'), /^0$/)
    await shot(page, 'replay')
    assert.deepEqual(pageErrors, [])
  } finally {
    await close()
  }

  // With the fix saved: the command line's replay says where the outcomes part, and exploration from event 1 finds no oversell.
  const replayed = loomCommand('replay', notebook)
  assert.equal(replayed.status, 0, replayed.stdout + replayed.stderr)
  assert.match(replayed.stdout, /re-ran \d+ recorded transactions of 'main' .*: \d+ came out differently; the first is event 3 \(http\)/)
  const fixed = loomCommand('explore', notebook)
  assert.equal(fixed.status, 0, fixed.stdout + fixed.stderr)
  assert.match(fixed.stdout, /every reachable state .*; no violation/)
})
