// The window fits the person: panes they resize stay as they left them, a
// light theme when their system asks for one, `?` for every key, and another
// notebook opened from the window (the owner only). A real `loom serve` on
// copies of the samples, driven in Debian's Chromium.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { buildUiOnce, CHROMIUM, launchChromium, serveCopy, serveNotebook, type Serving } from './browser.ts'

// Page-side code in evaluate() runs in the browser; the test program itself has no DOM types.
declare const document: { querySelector(s: string): { getBoundingClientRect(): { width: number; height: number; top: number } } | null; body: object }
declare function getComputedStyle(e: object): { backgroundColor: string; color: string }

const WAIT = { timeout: 45_000 }
const haveChromium = existsSync(CHROMIUM)

describe('the window in a browser', { skip: haveChromium ? false : `no Chromium at ${CHROMIUM} (.ci/run installs it with apt)` }, () => {
  let browser: Browser
  let ui: string

  before(async () => {
    // The recent notebooks go to a config folder of the test's own, not the person's.
    process.env.XDG_CONFIG_HOME = await mkdtemp(join(tmpdir(), 'loom-config-'))
    ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  })
  after(async () => {
    await browser?.close()
  })

  async function open(server: Serving, colorScheme: 'dark' | 'light' = 'dark'): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme })
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.url)
    await page.locator('.code-cell .monaco-editor .view-lines').first().waitFor(WAIT)
    return { page, errors, close: () => context.close() }
  }

  /** Opens `server`'s page, runs `body` with it, then closes the page and stops the server whatever happened. */
  async function within(server: Serving, colorScheme: 'dark' | 'light', body: (w: { page: Page; errors: string[] }) => Promise<void>): Promise<void> {
    try {
      const w = await open(server, colorScheme)
      try {
        await body(w)
      } finally {
        await w.close()
      }
    } finally {
      await server.stop()
    }
  }

  const size = (page: Page, selector: string, dim: 'width' | 'height') => page.evaluate(([s, d]) => Math.round(document.querySelector(s)!.getBoundingClientRect()[d as 'width' | 'height']), [selector, dim] as const)

  /** Drags the splitter of `pane` by dx, dy with the pointer. */
  async function drag(page: Page, pane: string, dx: number, dy: number): Promise<void> {
    const box = (await page.locator(`.splitter[data-pane="${pane}"]`).boundingBox())!
    const x = box.x + box.width / 2
    const y = box.y + box.height / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + dx / 2, y + dy / 2)
    await page.mouse.move(x + dx, y + dy)
    await page.mouse.up()
  }

  test('a dragged splitter keeps its size after a reload; arrow keys move it, double-click gives the layout its own size back', async () => {
    const server = await serveCopy('samples/bank.loom.md', ui)
    await within(server, 'dark', async ({ page, errors }) => {
      const side = await size(page, '.side-panel', 'width')
      await drag(page, 'side', -120, 0)
      assert.equal(await size(page, '.side-panel', 'width'), side + 120)
      const dock = await size(page, '.dock', 'height')
      await drag(page, 'dock', 0, -50)
      assert.equal(await size(page, '.dock', 'height'), dock + 50)
      const tracks = await size(page, '.tl-body', 'height')
      await drag(page, 'timeline', 0, -40)
      assert.equal(await size(page, '.tl-body', 'height'), tracks + 40)

      await page.reload()
      await page.locator('.code-cell .monaco-editor .view-lines').first().waitFor(WAIT)
      assert.equal(await size(page, '.side-panel', 'width'), side + 120, 'the side panel after a reload')
      assert.equal(await size(page, '.dock', 'height'), dock + 50, 'the terminal after a reload')
      assert.equal(await size(page, '.tl-body', 'height'), tracks + 40, 'the timeline after a reload')

      // The keyboard: a focusable splitter, 16 px a key press (its pane grows towards the notebook).
      await page.locator('.splitter[data-pane="side"]').focus()
      await page.keyboard.press('ArrowLeft')
      assert.equal(await size(page, '.side-panel', 'width'), side + 136)
      assert.equal(await page.locator('.splitter[data-pane="side"]').getAttribute('aria-valuenow'), String(side + 136))
      // The timeline's ← (previous event) is not what the splitter's arrow did.
      await page.locator('.splitter[data-pane="side"]').dblclick()
      assert.equal(await size(page, '.side-panel', 'width'), side)
      await page.reload()
      await page.locator('.code-cell .monaco-editor .view-lines').first().waitFor(WAIT)
      assert.equal(await size(page, '.side-panel', 'width'), side, 'the reset is kept too')
      assert.equal(await size(page, '.dock', 'height'), dock + 50)
      assert.deepEqual(errors, [])
    })
  })

  test('a light system setting gives the light theme — the page, Monaco and the terminal — and the window follows a change live', async () => {
    const server = await serveCopy('samples/bank.loom.md', ui)
    await within(server, 'light', async ({ page, errors }) => {
      const colours = () => page.evaluate(() => ({
        page: getComputedStyle(document.body).backgroundColor,
        text: getComputedStyle(document.body).color,
        monaco: getComputedStyle(document.querySelector('.code-cell .monaco-editor-background')!).backgroundColor,
        dock: getComputedStyle(document.querySelector('.dock')!).backgroundColor,
      }))
      assert.deepEqual(await colours(), { page: 'rgb(246, 247, 249)', text: 'rgb(31, 36, 48)', monaco: 'rgb(255, 255, 255)', dock: 'rgb(250, 251, 252)' })
      await page.locator('.dock-pane[data-tab="terminal"] .xterm').waitFor(WAIT)
      await mkdir('/tmp/shots-window', { recursive: true })
      await page.screenshot({ path: '/tmp/shots-window/light.png' })
      await page.emulateMedia({ colorScheme: 'dark' })
      await page.waitForFunction(() => getComputedStyle(document.querySelector('.code-cell .monaco-editor-background')!).backgroundColor === 'rgb(24, 27, 33)', undefined, WAIT)
      assert.deepEqual(await colours(), { page: 'rgb(18, 20, 25)', text: 'rgb(215, 218, 224)', monaco: 'rgb(24, 27, 33)', dock: 'rgb(20, 22, 27)' })
      await page.screenshot({ path: '/tmp/shots-window/dark.png' })
      assert.deepEqual(errors, [])
    })
  })

  test('the timeline\'s toolbar stays one line at every width (the legend gives way to the buttons), its buttons all shown', async () => {
    const server = await serveCopy('samples/tickets-race.loom.md', ui)
    await within(server, 'dark', async ({ page }) => {
      await page.locator('.tl-toolbar .tl-all').waitFor(WAIT)
      for (const width of [1200, 1300, 1400, 1600]) {
        await page.setViewportSize({ width, height: 850 })
        const [bar, all, fork] = await Promise.all(['.tl-toolbar', '.tl-toolbar .tl-all', '.tl-toolbar .tl-fork'].map((s) => page.evaluate((sel) => {
          const r = document.querySelector(sel)!.getBoundingClientRect()
          return { top: r.top, height: r.height }
        }, s)))
        assert.ok(Math.abs(all!.top - fork!.top) < 4, `at ${width} px the last button is on the first line (${all!.top} against ${fork!.top})`)
        assert.ok(bar!.height < 2 * all!.height + 4, `at ${width} px the toolbar is one line high (${bar!.height} px)`)
      }
      await page.setViewportSize({ width: 1300, height: 850 })
      await mkdir('/tmp/shots-window', { recursive: true })
      await page.screenshot({ path: '/tmp/shots-window/toolbar-1300.png' })
    })
  })

  test('a toast says what it is: Nothing to step is a note (an info icon), a save is done (a check)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-toast-'))
    const nb = join(dir, 'waits.loom.md')
    await writeFile(nb, "A step that waits for work.\n\n```ts #step\nconst jobs = state.queue('jobs')\nexport function step() {\n  jobs.take()\n}\n```\n")
    const server = await serveNotebook(nb, ui, dir)
    await within(server, 'dark', async ({ page }) => {
      await page.locator('body').press('F10')
      const note = page.locator('.toast', { hasText: /^Nothing to step/ }).first()
      await note.waitFor(WAIT)
      assert.equal(await note.locator('.codicon-info').count(), 1, 'a note has the info icon')
      assert.equal(await note.locator('.codicon-check').count(), 0, 'a note is not shown as done')
      await page.locator('.code-cell .monaco-editor .view-lines').first().click()
      await page.keyboard.press('Control+s')
      const saved = page.locator('.toast', { hasText: 'Saved waits.loom.md' }).first()
      await saved.waitFor(WAIT)
      assert.equal(await saved.locator('.codicon-check').count(), 1, 'a save is shown as done')
    })
  })

  test('? lists every key the window knows (F8, F10, E…) and Esc closes it; a ? typed in a cell is only typed', async () => {
    const server = await serveCopy('samples/bank.loom.md', ui)
    await within(server, 'dark', async ({ page }) => {
      const overlay = page.locator('.shortcuts-overlay')
      await page.locator('body').press('?')
      await overlay.waitFor({ state: 'visible', ...WAIT })
      for (const [id, key] of [['runPause', 'F8'], ['step', 'F10'], ['nextProblem', 'E'], ['fork', 'F'], ['shortcuts', '?']]) {
        assert.equal(await overlay.locator(`[data-shortcut="${id}"] kbd`).first().textContent(), key)
      }
      await page.screenshot({ path: '/tmp/shots-window/shortcuts.png' })
      await page.keyboard.press('Escape')
      await overlay.waitFor({ state: 'hidden', ...WAIT })
      // In a cell, ? is a character.
      await page.locator('.code-cell .monaco-editor .view-lines').first().click()
      await page.keyboard.press('Control+End')
      await page.keyboard.type('?')
      // Monaco draws the typed character on its next frame: wait for it, then check the overlay stayed shut.
      await page.locator('.code-cell .monaco-editor .view-lines').first().filter({ hasText: '?' }).waitFor(WAIT)
      assert.equal(await overlay.isVisible(), false)
    })
  })

  test('another notebook opened from the window shows its cells and its app runs; the recent list holds the first, which opens again', async () => {
    const server = await serveCopy('samples/bank.loom.md', ui)
    const other = join(await mkdtemp(join(tmpdir(), 'loom-other-')), 'counter.loom.md')
    await copyFile('samples/counter.loom.md', other)
    await within(server, 'dark', async ({ page, errors }) => {
      await page.locator('.nb-switch').click()
      await page.locator('.switcher-path').fill(other)
      await page.locator('.switcher-path').press('Enter')
      await page.locator('.code-cell[data-cell="counter"]').waitFor(WAIT)
      assert.equal(await page.locator('.nb-path').textContent(), 'counter.loom.md')
      assert.equal(await page.locator('.code-cell[data-cell="step"]').count(), 0, 'the bank\'s cells are gone')
      // Its app runs: F8, and the counter counts.
      await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
      await page.locator('body').press('F8')
      await page.waitForFunction(() => Number((document.querySelector('.tb-meta') as unknown as { dataset: { head?: string } })?.dataset.head ?? 0) > 3, undefined, WAIT)
      assert.match(server.stderr(), /opened .*counter\.loom\.md/)
      // The log of the bank was closed, the counter's made beside it.
      assert.ok(existsSync(other.replace(/\.md$/, '.db')), 'the counter has its own log')

      await page.locator('.nb-switch').click()
      const first = page.locator('.switcher-recent button', { hasText: 'bank.loom.md' })
      await first.waitFor(WAIT)
      assert.equal(await first.getAttribute('title'), server.notebook)
      await page.screenshot({ path: '/tmp/shots-window/switcher.png' })
      await first.click()
      await page.locator('.code-cell[data-cell="step"]').waitFor(WAIT)
      assert.equal(await page.locator('.nb-path').textContent(), 'bank.loom.md')
      const recent = JSON.parse(await readFile(join(process.env.XDG_CONFIG_HOME!, 'loom', 'recent.json'), 'utf8')) as { recent: { path: string }[] }
      assert.deepEqual(recent.recent.slice(0, 2).map((r) => r.path), [server.notebook, other])
      assert.deepEqual(errors, [])
    })
  })

  test('a path that is not a notebook gets a clear error in the window and the notebook stays open: traversal, another file, a folder, a missing file, a huge path', async () => {
    const server = await serveCopy('samples/bank.loom.md', ui)
    const dir = await mkdtemp(join(tmpdir(), 'loom-bad-'))
    await writeFile(join(dir, 'picture.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]))
    await mkdir(join(dir, 'folder.md'))
    await within(server, 'dark', async ({ page, errors }) => {
      const cases: [string, RegExp][] = [
        ['../../../../../../../etc/passwd', /passwd is not a notebook: Loom opens markdown notebooks/],
        [join(dir, 'picture.png'), /picture\.png is not a notebook/],
        [join(dir, 'folder.md'), /folder\.md is not a file/],
        [join(dir, 'missing.loom.md'), /there is no .*missing\.loom\.md/],
        [`/${'a/'.repeat(60_000)}x.loom.md`, /that path is 120,010 characters long/],
        ['   ', /give the path of a notebook/],
      ]
      await page.locator('.nb-switch').click()
      for (const [path, message] of cases) {
        await page.locator('.switcher-path').fill(path)
        await page.locator('.switcher-open').click()
        await page.locator('.switcher-error').waitFor({ state: 'visible', ...WAIT })
        assert.match((await page.locator('.switcher-error').textContent()) ?? '', message)
        await page.locator('.switcher-open:not([disabled])').waitFor(WAIT)
      }
      await page.screenshot({ path: '/tmp/shots-window/switch-refused.png' })
      // Still the bank, still answering.
      assert.equal(await page.locator('.nb-path').textContent(), 'bank.loom.md')
      await page.locator('body').press('Escape')
      await page.locator('.switcher').waitFor({ state: 'hidden', ...WAIT })
      await page.locator('body').press('F8')
      await page.locator('.run-pill[data-state="running"], .run-pill[data-state="parked"]').waitFor(WAIT)
      assert.doesNotMatch(server.stderr(), /opened /)
      assert.deepEqual(errors, [])
    })
  })

  test('in a shared session a guest cannot switch the notebook (the host checks the role), nor see the recent list; the owner is told why not either', async () => {
    const server = await serveCopy('samples/bank.loom.md', ui, ['--share'])
    try {
      await new Promise<void>((resolve, reject) => {
        const end = Date.now() + 30_000
        const poll = () => (/^\s+run\s+http/m.test(server.stdout()) ? resolve() : Date.now() > end ? reject(new Error(`no invite links:\n${server.stdout()}`)) : setTimeout(poll, 50))
        poll()
      })
      const run = new URL(/^\s+run\s+(\S+)/m.exec(server.stdout())![1]!)
      const other = join(await mkdtemp(join(tmpdir(), 'loom-other-')), 'counter.loom.md')
      await copyFile('samples/counter.loom.md', other)
      const guest = new EngineClient(await connectEngine(`ws://${run.host}/engine`, run.origin))
      try {
        await guest.call('hello', { token: run.searchParams.get('token')! })
        await assert.rejects(guest.call('openNotebook', { path: other }), /openNotebook needs an owner link/)
        await assert.rejects(guest.call('recentNotebooks', {}), /recentNotebooks needs an owner link/)
      } finally {
        guest.close()
      }
      const owner = new EngineClient(await connectEngine(`${server.origin.replace('http', 'ws')}/engine`, server.origin))
      try {
        await owner.call('hello', { token: server.token })
        await assert.rejects(owner.call('openNotebook', { path: other }), /a shared session keeps its notebook/)
      } finally {
        owner.close()
      }
      assert.doesNotMatch(server.stderr(), /opened /)
    } finally {
      await server.stop()
    }
  })

  test('the screenshots: the bank sample in the light and the dark theme', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      await within(await serveCopy('samples/bank.loom.md', ui), scheme, async ({ page }) => {
        await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
        await page.locator('body').press('F8')
        await page.locator('.run-pill[data-state="parked"]').waitFor(WAIT)
        await page.locator('.dock-pane[data-tab="terminal"] .xterm-rows').filter({ hasText: 'carol → alice: 45' }).first().waitFor(WAIT)
        await page.waitForTimeout(300)
        // The light one is the README's; the dark one is docs/screenshot.png's (test/ui.test.ts), here to compare.
        const path = scheme === 'light' ? 'docs/light.png' : '/tmp/shots-window/bank-dark.png'
        await mkdir(dirname(path), { recursive: true })
        await page.screenshot({ path, animations: 'disabled' })
      })
    }
  })
})
