// Pausing the app in the window stops its port too, under the real `loom
// serve`: requests wait (the top bar counts them), /sys keeps answering,
// and Run serves them in order onto the timeline.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, openAppWindow } from './browser.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = '/tmp/shots-fails'

test('requests sent while the window says Paused wait, counted in the top bar, and commit in order when it runs again; /sys answers meanwhile', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async (t) => {
  const [ui, browser]: [string, Browser] = await Promise.all([buildUiOnce(), launchChromium()])
  t.after(() => browser.close())
  const dir = await mkdtemp(join(tmpdir(), 'loom-paused-ui-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await mkdir(SHOTS, { recursive: true })
  const notebook = join(dir, 'reservations.loom.md')
  await copyFile('samples/reservations.loom.md', notebook)
  const { page, pageErrors, app, close } = await openAppWindow(browser, ui, notebook)
  try {
    const pill = page.locator('.run-pill')
    await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
    await page.locator('body').press('F8')
    await page.locator('.run-pill[data-state="parked"]').waitFor(WAIT)
    await page.locator('body').press('F8')
    await page.locator('.run-pill[data-state="paused"]').waitFor(WAIT)

    const reserve = (name: string) => fetch(`${app}/reserve`, { method: 'POST', body: JSON.stringify({ name }) })
    const ann = reserve('ann')
    await page.locator('.run-pill[data-held="1"]').waitFor(WAIT)
    const bob = reserve('bob')
    await page.locator('.run-pill[data-held="2"]').waitFor(WAIT)
    // A third client hangs up while it waits: its request is dropped through the relay, never committed.
    const hangUp = new AbortController()
    const carl = fetch(`${app}/reserve`, { method: 'POST', body: JSON.stringify({ name: 'carl' }), signal: hangUp.signal }).catch(() => null)
    await page.locator('.run-pill[data-held="3"]').waitFor(WAIT)
    hangUp.abort()
    assert.equal(await carl, null)
    await page.locator('.run-pill[data-held="2"]').waitFor(WAIT)
    assert.match((await pill.textContent()) ?? '', /2 requests waiting/)
    const sys = await fetch(`${app}/sys/log`)
    assert.equal(sys.status, 200, '/sys keeps answering while the app is paused')
    await page.locator('.insp-tab[data-tab="extra"]', { hasText: 'Recent' }).click()
    assert.equal(await page.locator('li.event[data-kind="http"]').count(), 0, 'nothing committed while paused')
    await page.screenshot({ path: join(SHOTS, 'paused-waiting.png'), animations: 'disabled' })

    await page.locator('body').press('F8')
    const answers = await Promise.all([ann, bob])
    assert.deepEqual(answers.map((a) => a.status), [201, 201])
    const held = await Promise.all(answers.map(async (a) => ((await a.json()) as { name: string }).name))
    assert.deepEqual(held, ['ann', 'bob'])
    await page.locator('li.event[data-kind="http"] .event-what', { hasText: 'POST /reserve → 201' }).nth(1).waitFor(WAIT)
    await page.locator('.run-pill[data-held="0"]').waitFor(WAIT)
    const bodies = await page.locator('li.event[data-kind="http"] .event-what').allTextContents()
    assert.equal(bodies.length, 2, 'the client that hung up left no event')
    await page.screenshot({ path: join(SHOTS, 'paused-served.png'), animations: 'disabled' })
    assert.deepEqual(pageErrors, [])
  } finally {
    await close()
  }
})
