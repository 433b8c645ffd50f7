// What the visual debugger's browser tests share (test/debugger*.test.ts, split by concern so that two files at a
// time can run them side by side): one Chromium per file, a real `loom serve` on a copy of a sample per test, and
// the ways a person reads and drives the timeline, the state editor and the inspector.
import { after, before, describe } from 'node:test'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, serveCopy, serveNotebook, type Serving } from './browser.ts'

export const WAIT = { timeout: 45_000 }
/** The page's document, as far as the functions the tests run in the page use it (the tests type-check without the DOM). */
declare const document: { querySelector(s: string): { textContent: string | null } | null }
export const SHOTS = process.env.LOOM_SCREENSHOTS

/** A debugger window on a served copy of a sample: the page, its server, the errors the page threw. */
export interface DebuggerWindow {
  page: Page
  server: Serving
  errors: string[]
  close(): Promise<void>
}

/** Opens `sample` (after `prepare` has run on the copy) in a page, served on any free port. */
export type OpenDebugger = (sample: string, prepare?: (notebook: string) => void) => Promise<DebuggerWindow>

/**
 * A suite of debugger tests in one browser, launched before them and closed after; skipped without Chromium.
 * `body` declares the tests, opening windows with the `open` it is given.
 */
export function describeDebugger(name: string, body: (open: OpenDebugger) => void): void {
  const haveChromium = existsSync(CHROMIUM)
  describe(name, { skip: haveChromium ? false : `no Chromium at ${CHROMIUM} (.ci/run installs it with apt)` }, () => {
    let browser: Browser
    let ui: string
    before(async () => {
      ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
    })
    after(async () => {
      await browser?.close()
    })
    body((sample, prepare) => openDebugger(browser, ui, sample, prepare))
  })
}

async function openDebugger(browser: Browser, ui: string, sample: string, prepare?: (notebook: string) => void): Promise<DebuggerWindow> {
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

export const track = (page: Page, branch: string) => page.locator(`.tl-label[data-branch="${branch}"]`)
export const entry = (page: Page, state: string) => page.locator(`.state-editor .state-entry[data-state="${state}"]`)
export const mapValue = (page: Page, state: string, key: string) => entry(page, state).locator(`tr[data-key="${key}"] td.se-val`)

export async function until(what: string, fn: () => Promise<boolean>, timeout = 45_000): Promise<void> {
  const end = Date.now() + timeout
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** With LOOM_SCREENSHOTS=dir, a picture of the window for the docs (toasts hidden: they come and go). */
export async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return
  await page.addStyleTag({ content: '.toasts { display: none !important; }' })
  await page.screenshot({ path: `${SHOTS}/${name}`, animations: 'disabled' })
}

/** The controls (tabs, buttons, fields) a toast now on the page covers, by their text or class. */
export async function coveredByToasts(page: Page): Promise<string[]> {
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

export async function head(page: Page, branch: string): Promise<number> {
  return Number(await track(page, branch).getAttribute('data-head'))
}

/** Runs the bank until it parks with an empty queue: a code event and four steps. */
export async function runBank(page: Page): Promise<void> {
  await page.locator('body').press('F8')
  await page.locator('.run-pill[data-state="parked"]').waitFor(WAIT)
  await until('main has 5 events', async () => (await head(page, 'main')) === 5)
}

/** Steps the app with the Step button until main's head is `n`, one event at a time. */
export async function stepUntil(page: Page, n: number): Promise<void> {
  for (let k = (await head(page, 'main')) + 1; k <= n; k++) {
    await page.locator('button.tb-button.step').click()
    await until(`step ${k - 1} is on the timeline`, async () => (await head(page, 'main')) === k)
  }
}

/** The branches the timeline shows, by name, top to bottom. */
export const branchNames = (page: Page) => page.locator('.tl-label').evaluateAll((els) => els.map((e) => e.getAttribute('data-branch')))

export const toast = (page: Page, text: string | RegExp) => page.locator('.toast', { hasText: text }).first()

/**
 * Puts `text` on a new line after the line of `cell` that holds `after`, and applies the cell (Shift+Enter); waits
 * for the new code. The line goes in at once, as a paste does: typed key by key, a pause of the cell's edit delay
 * between two keys (a busy machine) would apply the half-typed line as a code event of its own.
 */
export async function addLine(page: Page, cell: string, after: string, text: string): Promise<void> {
  const hash = await page.locator('.tb-meta').first().textContent()
  await page.locator(`.code-cell[data-cell="${cell}"] .view-line`, { hasText: after }).click()
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.insertText(text)
  await page.keyboard.press('Shift+Enter')
  await page.waitForFunction((h) => document.querySelector('.tb-meta')?.textContent !== h, hash, WAIT)
}

/** From now on, every state of the timeline's progress bar while it is shown: [done, total, words]. */
export async function watchProgress(page: Page): Promise<() => Promise<[string, string, string][]>> {
  await page.evaluate(`(() => {
    window.loomProgress = []
    const bar = document.querySelector('.tl-job')
    new MutationObserver(() => {
      if (!bar.hidden) window.loomProgress.push([bar.dataset.done, bar.dataset.total, bar.textContent])
    }).observe(bar, { attributes: true, childList: true, subtree: true, characterData: true })
  })()`)
  return () => page.evaluate('window.loomProgress')
}

export async function selectMoment(page: Page, seq: number): Promise<void> {
  await track(page, 'main').click()
  await page.locator('.tl-canvas').focus()
  await page.keyboard.press('Home')
  for (let i = 0; i < seq; i++) await page.keyboard.press('ArrowRight')
  await page.locator(`.timeline[data-selected-branch="main"][data-selected-seq="${seq}"]`).waitFor(WAIT)
}
