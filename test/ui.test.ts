// The UI end to end: a real `loom serve` on a copy of a sample, driven in
// Debian's Chromium the way a person uses it — what they type, what they see.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Locator, Page, WebSocketRoute } from 'playwright-core'
import { parseNotebook, NotebookError } from '../engine/index.ts'
import { BUILD_META } from '../scripts/bundleStale.js'
import { buildUiOnce, CHROMIUM, launchChromium, serveCopy, serveNotebook, type Serving } from './browser.ts'

// Page-side code in evaluate() runs in the browser; the test program itself has no DOM types.
declare const document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null; getAttribute(name: string): string | null; getBoundingClientRect(): { top: number; height: number } }> }

const WAIT = { timeout: 45_000 }
const haveChromium = existsSync(CHROMIUM)

interface Opened {
  page: Page
  server: Serving
  /** Console errors about the Content-Security-Policy, and uncaught page errors. */
  problems: string[]
  close(): Promise<void>
}

describe('the UI in a browser', { skip: haveChromium ? false : `no Chromium at ${CHROMIUM} (.ci/run installs it with apt)` }, () => {
  let browser: Browser
  let ui: string

  before(async () => {
    ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  })
  after(async () => {
    await browser?.close()
  })

  async function open(sample: string | Serving, beforeLoad?: (page: Page) => Promise<void>): Promise<Opened> {
    const server = typeof sample === 'string' ? await serveCopy(sample, ui) : sample
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text())
    })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    try {
      await beforeLoad?.(page)
      await page.goto(server.url)
      await page.locator('.code-cell .monaco-editor .view-lines, .parse-error').first().waitFor(WAIT)
    } catch (err) {
      await page.close()
      await server.stop()
      throw err
    }
    return {
      page,
      server,
      problems,
      async close() {
        await page.close()
        await server.stop()
      },
    }
  }

  /** Serves a notebook written for the test (NAME.loom.md with `text`) and opens it. */
  async function openWritten(name: string, text: string): Promise<Opened> {
    const dir = await mkdtemp(join(tmpdir(), `loom-${name}-`))
    const path = join(dir, `${name}.loom.md`)
    await writeFile(path, text)
    return open(await serveNotebook(path, await buildUiOnce(), dir))
  }

  const cell = (page: Page, id: string) => page.locator(`.code-cell[data-cell="${id}"]`)
  const terminal = (page: Page) => page.locator('.dock-pane[data-tab="terminal"] .xterm-rows')
  const repl = (page: Page) => page.locator('.dock-pane[data-tab="repl"] .xterm-rows > div')
  const seen = (l: Locator, text: string | RegExp) => l.filter({ hasText: text }).first().waitFor(WAIT)

  /** Runs the app (F8) and waits until the top bar says it is running or waiting. */
  async function run(page: Page): Promise<void> {
    await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
    await page.locator('body').press('F8')
    await page.locator('.run-pill[data-state="running"], .run-pill[data-state="parked"], .run-pill[data-state="idle"]').waitFor(WAIT)
  }

  async function typeInTerminal(page: Page, text: string): Promise<void> {
    await page.locator('.dock-tab', { hasText: 'Terminal' }).click()
    await page.locator('.dock-pane[data-tab="terminal"] .xterm').click()
    await page.keyboard.type(text)
    await page.keyboard.press('Enter')
  }

  async function until(what: string, ok: () => Promise<boolean>, ms = WAIT.timeout): Promise<void> {
    const end = Date.now() + ms
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async function codeHash(page: Page): Promise<string> {
    return (await page.locator('.tb-meta').textContent()) ?? ''
  }

  test('opening a sample shows its prose rendered and its cells in Monaco', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page } = o
      await seen(page.locator('.prose-rendered h1'), 'Bank')
      await seen(cell(page, 'state').locator('.view-lines'), "state.map<number>('accounts'")
      await seen(cell(page, 'step').locator('.view-lines'), 'export function step()')
      await seen(page.locator('.nb-title'), 'Bank')
      await seen(page.locator('.state-entry[data-state="accounts"]'), 'alice')
      // Monaco's workers loaded from the app's own files: the TypeScript worker answers hovers and errors.
      assert.deepEqual(o.problems, [])
      // Every module the window needs to start was asked for by index.html at once (modulepreload,
      // before main.js itself), not found one import deep at a time; later ones are loaded lazily.
      const loaded = await page.evaluate(() => {
        const script = performance.getEntriesByName('loom:script')[0]!.startTime
        return performance.getEntriesByType('resource').filter((r) => /\.js$/.test(r.name) && r.startTime < script).map((r) => ({ name: r.name.split('/').pop()!, at: r.startTime }))
      })
      const main = loaded.find((r) => r.name === 'main.js')
      assert.ok(main, 'main.js is among the modules loaded at start')
      const late = loaded.filter((r) => r.name.startsWith('chunk-') && r.at > main.at).map((r) => r.name)
      assert.deepEqual(late, [], 'each chunk loaded at start was asked for before main.js (a modulepreload link)')
    } finally {
      await o.close()
    }
  })

  test('the page opened with the printed address takes its token out of the address bar, and a reload still gets in', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page } = o
      assert.match(o.server.url, /\?token=/)
      await seen(page.locator('.state-entry[data-state="accounts"]'), 'alice')
      assert.equal(page.url(), `${o.server.origin}/`, 'no token in the address bar (screenshots, bookmarks, history)')
      await page.reload()
      await seen(page.locator('.state-entry[data-state="accounts"]'), 'alice')
      assert.equal(page.url(), `${o.server.origin}/`)
      // The same address without its token, in a new tab: the engine refuses it, saying why.
      const stranger = await browser.newPage()
      await stranger.goto(`${o.server.origin}/`)
      await stranger.locator('.banner', { hasText: 'The engine refused this page' }).filter({ hasText: 'address loom serve printed' }).waitFor(WAIT)
      assert.equal(await stranger.locator('.code-cell').count(), 0)
      await stranger.close()
    } finally {
      await o.close()
    }
  })

  test('intellisense in a cell offers sys.fork, and names from other cells are not errors', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page } = o
      const state = cell(page, 'state')
      await state.locator('.view-lines').click()
      await page.keyboard.press('Control+End')
      await page.keyboard.press('Enter')
      await page.keyboard.type('sys.')
      const suggestions = page.locator('.suggest-widget .monaco-list-row')
      await seen(suggestions, 'fork')
      await seen(suggestions, 'tty')
      await page.keyboard.press('Escape')
      // The step cell uses `accounts` and `transfers` declared in the state cell: TypeScript knows them.
      await state.locator('.squiggly-error').first().waitFor(WAIT) // diagnostics have run since the change
      assert.equal(await cell(page, 'step').locator('.squiggly-error').count(), 0)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('the editor underlines exactly what loom check reports, cell by cell', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-typed-'))
    const path = join(dir, 'typed.loom.md')
    await writeFile(path, [
      '# Typed', '', '```ts #state', "const count = state.var('count', 0)", "const label: number = 'one'", '```', '',
      '```ts #step', 'export function step() {', '  const n: string = count.get()', '  sys.tty.write(undefinedName)', '}', '```', '',
      '```ts #fine', 'function twice(n: number) { return 2 * n }', '```', '',
    ].join('\n'))
    const checked = spawnSync(process.execPath, ['bin/loom.js', 'check', path, '--json'], { encoding: 'utf8', timeout: 120_000 })
    assert.equal(checked.status, 1, checked.stderr)
    const errors = JSON.parse(checked.stdout) as { cell: string }[]
    const perCell = (id: string) => errors.filter((e) => e.cell === id).length
    assert.deepEqual([perCell('state'), perCell('step'), perCell('fine')], [1, 2, 0])
    const o = await open(await serveNotebook(path, ui, dir))
    try {
      const { page } = o
      // TypeScript's worker starts on the first key press (or a little after load).
      await page.locator('body').press('Shift')
      for (const id of ['state', 'step']) await until(`the ${id} cell has its squiggles`, async () => (await cell(page, id).locator('.squiggly-error').count()) === perCell(id))
      assert.equal(await cell(page, 'fine').locator('.squiggly-error').count(), 0)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('failed tests and errors are counted in the top bar and marked on the timeline; E goes to one; a wait is neither', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-problems-'))
    const path = join(dir, 'stock.loom.md')
    await writeFile(path, [
      '# Stock', '', '```ts #state', "const stock = state.var('stock', 2)", '```', '',
      '```ts #step', 'export function step() {', "  if (stock.get() < 0) throw new Error('negative stock')", '  stock.set(stock.get() - 1)', '}', '```', '',
      '```ts #tests', "test('stock never negative', () => stock.get() >= 0)", '```', '',
    ].join('\n'))
    const o = await open(await serveNotebook(path, ui, dir))
    try {
      const { page } = o
      const problems = page.locator('.tb-problems')
      assert.equal(await problems.isHidden(), true, 'nothing to count before anything ran')
      await run(page)
      // Events 2..4 take the stock to -1: the test fails after event 4; the next step throws (stuck, not waiting).
      await seen(problems, '1 failed test · 1 error')
      await seen(page.locator('.run-pill .pill-reason'), /stuck: step\(\) throws .*negative stock at #step line 2/)
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator('body').press('Home')
      await page.locator('body').press('e')
      await page.locator('.ed-title[data-seq="4"]').waitFor(WAIT)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a runaway step says in the top bar the line it was running when the time limit cut it off', async () => {
    const o = await openWritten('runaway', ['# Runaway', '', '```ts #work', "const n = state.var('n', 0)", 'export function step() {', '  n.set(n.get() + 1)', '  let x = 0', '  while (n.get() > 1) {', '    x++', '  }', '}', '```', ''].join('\n'))
    try {
      const { page } = o
      await run(page)
      await seen(page.locator('.run-pill .pill-reason'), 'runaway: step() ran past its time limit of 1000 ms at #work line 6')
      await mkdir('/tmp/shots-left', { recursive: true })
      await page.screenshot({ path: '/tmp/shots-left/runaway.png' })
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a step that waits (an empty queue) is counted as nothing', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page } = o
      await run(page)
      await page.locator('.run-pill[data-state="parked"]').waitFor(WAIT)
      assert.equal(await page.locator('.tb-problems').isHidden(), true)
    } finally {
      await o.close()
    }
  })

  test('the terminal echoes sys.tty output and feeds typed lines to sys.tty.read', async () => {
    const o = await open('samples/echo.loom.md')
    try {
      const { page } = o
      await run(page)
      await seen(page.locator('.run-pill'), 'waiting for 1 character')
      await typeInTerminal(page, 'hello')
      await seen(terminal(page), /HELLO/)
      await seen(page.locator('.state-entry[data-state="lines"]'), '1')
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('typing a change into a cell changes what the running app does', async () => {
    const o = await open('samples/echo.loom.md')
    try {
      const { page } = o
      await run(page)
      await typeInTerminal(page, 'before')
      await seen(terminal(page), /BEFORE/)
      const hash = await codeHash(page)
      await cell(page, 'echo').locator('.view-line span', { hasText: /^toUpperCase$/ }).dblclick()
      await page.keyboard.type('toLowerCase')
      await page.keyboard.press('Shift+Enter') // apply now rather than after a pause in typing
      await page.waitForFunction((h) => document.querySelectorAll('.tb-meta')[0]?.textContent !== h, hash, WAIT)
      await seen(cell(page, 'echo').locator('.cell-badge[data-state="live"]'), 'running')
      await typeInTerminal(page, 'AFTER')
      await seen(terminal(page), /after/)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a long line typed in a cell wraps: the start of every line stays in view', async () => {
    const o = await open('samples/counter.loom.md')
    try {
      const { page } = o
      const editor = cell(page, 'counter').locator('.monaco-editor')
      await cell(page, 'counter').locator('.view-line', { hasText: 'const count' }).click()
      await page.keyboard.press('End')
      await page.keyboard.type(` // ${'a long comment that goes on '.repeat(8)}end`)
      // Focus elsewhere: the cell is left as a reader sees it.
      await page.locator('.insp-tab[data-tab="state"]').click()
      const view = (await editor.evaluate(`(() => {
        const box = document.querySelector('.code-cell[data-cell="counter"] .monaco-scrollable-element').getBoundingClientRect()
        const lines = [...document.querySelectorAll('.code-cell[data-cell="counter"] .view-line')].map((l) => l.getBoundingClientRect())
        return { left: box.left, right: box.right, firstLeft: Math.min(...lines.map((r) => r.left)), lastRight: Math.max(...lines.map((r) => r.left + (r.width || 0))) }
      })()`)) as { left: number; right: number; firstLeft: number; lastRight: number }
      assert.ok(view.firstLeft >= view.left - 1, `the lines start in view (${view.firstLeft} ≥ ${view.left})`)
      // Wrapped: the long line takes several rows, each within the editor.
      const rows = await cell(page, 'counter').locator('.view-line').count()
      assert.ok(rows > 6, `the long line wraps onto more rows (${rows})`)
      await seen(cell(page, 'counter').locator('.view-lines'), 'end')
      if (process.env.LOOM_SCREENSHOTS) await page.screenshot({ path: `${process.env.LOOM_SCREENSHOTS}/wrap.png` })
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a syntax error shows at its line while the app keeps running the last good code', async () => {
    const o = await open('samples/echo.loom.md')
    try {
      const { page } = o
      await run(page)
      const echo = cell(page, 'echo')
      await echo.locator('.view-lines').click()
      await page.keyboard.press('Control+Home')
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown')
      await page.keyboard.press('End')
      await page.keyboard.press('Enter')
      await page.keyboard.type('let x = ;')
      // The engine refused the edit and said where: line 5 of the cell.
      await page.locator('.code-cell[data-cell="echo"][data-error-line="5"]').waitFor(WAIT)
      await seen(echo.locator('.cell-message .problem-where'), 'line 5')
      await seen(echo.locator('.cell-badge'), 'not applied')
      // The error's squiggle is drawn on line 5 of the editor.
      await echo.locator('.squiggly-error').first().waitFor(WAIT)
      const rows = await page.evaluate(() => {
        const cellEl = '.code-cell[data-cell="echo"] '
        const squiggles = Array.from(document.querySelectorAll(cellEl + '.squiggly-error')).map((e) => e.getBoundingClientRect().top)
        const numbers = Array.from(document.querySelectorAll(cellEl + '.line-numbers')).map((e) => ({ n: e.textContent, top: e.getBoundingClientRect().top }))
        return squiggles.map((top) => numbers.find((n) => Math.abs(n.top - top) < 4)?.n ?? null)
      })
      assert.ok(rows.includes('5'), `a squiggle on line 5 (squiggles on lines ${rows.join(', ')})`)
      // The app still runs the old code.
      await typeInTerminal(page, 'still here')
      await seen(terminal(page), /STILL HERE/)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('an exception in a transaction is shown at its line in its cell', async () => {
    const o = await open('samples/echo.loom.md')
    try {
      const { page } = o
      await run(page)
      const echo = cell(page, 'echo')
      const hash = await codeHash(page)
      await echo.locator('.view-lines').click()
      await page.keyboard.press('Control+Home')
      for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown')
      await page.keyboard.press('End')
      await page.keyboard.press('Enter')
      // In one go, as a paste: typed key by key, a pause of the edit delay would apply a half-typed line first.
      await page.keyboard.insertText("if (c === '!') throw new Error('no bangs here')")
      await page.keyboard.press('Shift+Enter')
      await page.waitForFunction((h) => document.querySelectorAll('.tb-meta')[0]?.textContent !== h, hash, WAIT)
      await typeInTerminal(page, '!')
      await seen(echo.locator('.cell-message .problem-text'), 'no bangs here')
      await page.locator('.code-cell[data-cell="echo"][data-error-line="6"]').waitFor(WAIT)
      await seen(echo.locator('.cell-message .problem-where'), 'line 6')
      await seen(echo.locator('.cell-badge'), 'error')
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('Save (Ctrl+S) writes the file byte-identical except for the change', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page, server } = o
      const original = await readFile(server.notebook, 'utf8')
      const hash = await codeHash(page)
      await cell(page, 'state').locator('.view-line span', { hasText: /^30$/ }).dblclick()
      await page.keyboard.insertText('31') // not '3' applied and saved first, on a busy machine
      await page.waitForFunction((h) => document.querySelectorAll('.tb-meta')[0]?.textContent !== h, hash, WAIT)
      await page.locator('.nb-dirty:not([hidden])').waitFor(WAIT)
      await page.keyboard.press('Control+s')
      await seen(page.locator('.toast'), 'Saved bank.loom.md')
      const expected = original.replace("{ from: 'alice', to: 'bob', amount: 30 }", "{ from: 'alice', to: 'bob', amount: 31 }")
      assert.notEqual(expected, original)
      assert.equal(await readFile(server.notebook, 'utf8'), expected)
      await page.locator('.nb-dirty[hidden]').waitFor({ state: 'attached', ...WAIT })
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('the REPL answers an expression against the state', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page } = o
      await run(page)
      await seen(terminal(page), 'carol → alice: 45')
      await page.locator('.dock-tab', { hasText: 'REPL' }).click()
      await page.locator('.dock-pane[data-tab="repl"] .xterm').click()
      await page.keyboard.type("accounts.get('alice')")
      await page.keyboard.press('Enter')
      await seen(repl(page), /^\s*115\s*$/m)
      await page.keyboard.type('refused.get() + 41')
      await page.keyboard.press('Enter')
      await seen(repl(page), '42')
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a malformed notebook shows the parse error with its line, and the file is not overwritten', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-broken-'))
    const path = join(dir, 'broken.loom.md')
    const text = '# Broken\n\nTwo cells with one id.\n\n```ts #a\nconst x = state.var(\'x\', 0)\n```\n\n```ts #a\nexport function step() {}\n```\n'
    await writeFile(path, text)
    let line = 0
    try {
      parseNotebook(text, path)
    } catch (err) {
      assert.ok(err instanceof NotebookError)
      line = err.line
    }
    assert.ok(line > 0, 'the engine refuses the notebook at a line')
    const o = await open(await serveNotebook(path, await buildUiOnce(), dir))
    try {
      const { page } = o
      await seen(page.locator('.parse-error-title'), `line ${line}`)
      await seen(page.locator('.parse-error-message'), 'duplicate cell id #a')
      await page.locator('body').press('Control+s')
      await seen(page.locator('.toast.error'), 'not saved')
      assert.equal(await readFile(path, 'utf8'), text)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a notebook that is not UTF-8: one error that says so, no toast about a history it never had, no dangling separator, nothing to promote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-latin1-'))
    const path = join(dir, 'latin1.loom.md')
    // 'café' in Latin-1: the é is a lone 0xE9 byte.
    await writeFile(path, Buffer.concat([Buffer.from('# Caf'), Buffer.from([0xe9]), Buffer.from("\n\n```ts #a\nconst x = state.var('x', 0)\n```\n")]))
    const o = await open(await serveNotebook(path, await buildUiOnce(), dir))
    try {
      const { page } = o
      await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
      await until('the top bar shows the status', async () => /event 0/.test(await codeHash(page)))
      // Give a late toast its chance to appear.
      await new Promise((r) => setTimeout(r, 1500))
      const toasts = await page.locator('.toast').allTextContents()
      assert.ok(!toasts.some((t) => /branches|no history/i.test(t)), `no toast about branches: ${JSON.stringify(toasts)}`)
      assert.equal((await codeHash(page)).trim(), 'main · event 0')
      assert.equal(await page.locator('.tl-promote').isDisabled(), true)
      assert.deepEqual(o.problems, [])
      if (process.env.LOOM_SCREENSHOTS) await page.screenshot({ path: `${process.env.LOOM_SCREENSHOTS}/latin1.png` })
    } finally {
      await o.close()
    }
  })

  test('prose is markdown, and HTML or script in it is shown as text, never run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-hostile-'))
    const path = join(dir, 'hostile.loom.md')
    await writeFile(path, [
      '# Hostile *prose*',
      '',
      '<img src="x" onerror="window.pwned = 1"> <script>window.pwned = 2</script>',
      '',
      '[a link](javascript:window.pwned=3) and [a good one](https://example.com)',
      '',
      '```ts #c',
      "const n = state.var('n', 0)",
      '```',
      '',
    ].join('\n'))
    const o = await open(await serveNotebook(path, await buildUiOnce(), dir))
    try {
      const { page } = o
      await seen(page.locator('.prose-rendered h1 em'), 'prose')
      await seen(page.locator('.prose-rendered'), '<script>window.pwned = 2</script>')
      assert.equal(await page.locator('.prose-rendered img, .prose-rendered script').count(), 0)
      await seen(page.locator('.prose-rendered p'), 'a link and')
      assert.equal(await page.locator('.prose-rendered a[href^="javascript"]').count(), 0)
      assert.equal(await page.locator('.prose-rendered a', { hasText: 'a good one' }).getAttribute('href'), 'https://example.com')
      assert.equal(await page.evaluate('window.pwned'), undefined)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('when the engine process dies, the UI says so and carries on with the restarted engine', async () => {
    const o = await open('samples/echo.loom.md')
    try {
      const { page, server } = o
      await run(page)
      await typeInTerminal(page, 'one')
      await seen(terminal(page), /ONE/)
      const pid = server.enginePid()
      assert.ok(pid, `loom serve names its engine process:\n${server.stderr()}`)
      process.kill(pid, 'SIGKILL')
      await seen(page.locator('[data-banner="crash"]'), 'restarted')
      if (!(await page.locator('.run-pill[data-state="running"], .run-pill[data-state="parked"]').count())) await run(page)
      await typeInTerminal(page, 'two')
      await seen(terminal(page), /TWO/)
      // The history was kept and is not printed twice.
      const text = (await terminal(page).textContent()) ?? ''
      assert.equal(text.split('ONE').length - 1, 1, text)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a real request to the app\'s own port shows on the timeline as it commits (method, path, status), and the top bar says where the app answers', async () => {
    const o = await open(await serveCopy('samples/todo.loom.md', ui, ['--app-port', '0']))
    try {
      const { page } = o
      const link = page.locator('a.tb-app')
      await link.waitFor(WAIT)
      const app = (await link.getAttribute('href')) ?? ''
      assert.match(app, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.match((await link.textContent()) ?? '', /^app 127\.0\.0\.1:\d+$/)
      await page.locator('.insp-tab[data-tab="extra"]', { hasText: 'Recent' }).click()
      const r = await fetch(`${app}/todos`, { method: 'POST', body: JSON.stringify({ title: 'seen live' }) })
      assert.equal(r.status, 201)
      await seen(page.locator('li.event[data-kind="http"] .event-what'), 'POST /todos → 201')
      // The live moment's details: the request as it came and the app's answer.
      await page.locator('.insp-tab[data-tab="event"]').click()
      await page.locator('.ed-title[data-kind="http"]').waitFor(WAIT)
      await seen(page.locator('.ed-section', { hasText: 'Request' }).locator('.ed-request-line'), 'POST /todos')
      await seen(page.locator('.ed-section', { hasText: 'Request' }).locator('.ed-payload'), '"seen live"')
      await seen(page.locator('.ed-section', { hasText: 'Response' }).locator('.ed-request-line'), '201')
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('cells can be added, moved and deleted, and prose is edited in place', async () => {
    const o = await open('samples/echo.loom.md')
    try {
      const { page, server } = o
      const original = await readFile(server.notebook, 'utf8')
      await run(page)
      await page.locator('.adder').last().getByRole('button', { name: 'Code' }).click()
      await page.locator('.code-cell').nth(1).waitFor(WAIT)
      const added = (await page.locator('.code-cell').nth(1).getAttribute('data-cell'))!
      await cell(page, added).locator('.view-lines').click()
      // In one go: typed key by key, a pause of the edit delay on a busy machine would declare it with 4 first.
      await page.keyboard.insertText("const extra = state.var('extra', 41)")
      await seen(page.locator('.state-entry[data-state="extra"]'), '41')
      await cell(page, added).getByRole('button', { name: 'Move up' }).click()
      await page.waitForFunction((id) => document.querySelectorAll('.code-cell')[0]?.getAttribute('data-cell') === id, added, WAIT)
      const del = cell(page, added).getByRole('button', { name: 'Delete cell' })
      await del.click()
      await del.click()
      await cell(page, added).waitFor({ state: 'detached', ...WAIT })
      await page.locator('.prose-rendered').first().click()
      const prose = page.locator('.prose-editor')
      await prose.fill('# Echo, edited\n\nA line typed **here**.')
      await page.keyboard.press('Shift+Enter')
      await seen(page.locator('.prose-rendered h1'), 'Echo, edited')
      await seen(page.locator('.prose-rendered strong'), 'here')
      await page.locator('body').press('Control+s')
      await seen(page.locator('.toast'), 'Saved echo.loom.md')
      const saved = await readFile(server.notebook, 'utf8')
      const code = original.slice(original.indexOf('```ts #echo'))
      assert.ok(saved.startsWith('# Echo, edited\n\nA line typed **here**.\n'), saved)
      // (The host may leave one more blank line at the end where the added cell was; the cell itself keeps its bytes.)
      assert.ok(saved.includes(code), `the code cell is byte-identical after adding, moving and deleting another:\n${JSON.stringify(saved)}`)
      assert.ok(!saved.includes('extra'), 'the deleted cell is gone from the file')
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a lost connection shows "reconnecting" and the UI comes back by itself', async () => {
    const sockets: WebSocketRoute[] = []
    let refuse = false
    const o = await open('samples/echo.loom.md', (page) =>
      page.routeWebSocket(/\/engine$/, (ws) => {
        if (refuse) return ws.close({ code: 4000, reason: 'test: refused' })
        ws.connectToServer()
        sockets.push(ws)
      }),
    )
    try {
      const { page } = o
      await run(page)
      refuse = true
      await sockets[0]!.close({ code: 4000, reason: 'test: dropped' })
      await seen(page.locator('.link-state'), 'Reconnecting')
      await seen(page.locator('[data-banner="link"]'), 'Reconnecting')
      refuse = false
      await page.locator('.link-state').waitFor({ state: 'hidden', ...WAIT })
      await page.locator('[data-banner="link"]').waitFor({ state: 'detached', ...WAIT })
      await typeInTerminal(page, 'back')
      await seen(terminal(page), /BACK/)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('Pause works while the app waits (Parked): it says Paused with Run to go on, and Run parks it again', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page } = o
      await run(page)
      await seen(page.locator('.run-pill[data-state="parked"]'), 'Parked')
      const button = page.locator('.topbar button', { hasText: /^(Run|Pause)$/ })
      await seen(button, 'Pause')
      await button.click()
      await seen(page.locator('.run-pill[data-state="paused"]'), 'Paused')
      await seen(button, 'Run')
      await button.click()
      await seen(page.locator('.run-pill[data-state="parked"]'), 'Parked')
      await seen(button, 'Pause')
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('a Step whose next step waits leaves the app Paused, saying what it waits for, with Run to go on', async () => {
    // A step that waits an hour: however slow the machine, the second Step finds it waiting.
    const o = await openWritten('waits', "# Waits\n\n```ts #app\nconst due = state.var<number | null>('due', null)\nexport function start() { due.set(sys.time.now() + 3_600_000) }\nexport function step() { sys.time.await(due.get()!); sys.halt() }\n```\n")
    try {
      const { page } = o
      await page.locator('.run-pill[data-state="ready"]').waitFor(WAIT)
      await page.locator('body').press('F10')
      await page.locator('.run-pill[data-state="paused"]').waitFor(WAIT)
      await page.locator('body').press('F10')
      await seen(page.locator('.run-pill[data-state="paused"]'), /Paused.*waiting until/)
      const button = page.locator('.topbar button', { hasText: /^(Run|Pause)$/ })
      await seen(button, 'Run')
      await button.click()
      await page.locator('.run-pill[data-state="running"], .run-pill[data-state="parked"]').waitFor(WAIT)
      await seen(button, 'Pause')
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('while a burst of events streams in, the top bar is never behind the timeline, and after it both show the last event', async () => {
    const o = await openWritten('burst', "# Burst\n\n```ts #app\nconst n = state.var('n', 0)\nexport function step() { if (n.get() >= 20000) sys.abort('done'); n.set(n.get() + 1) }\n```\n")
    try {
      const { page } = o
      await run(page)
      // Both read in one go in the page: the event the top bar names and the live track's head.
      const heads = () => page.evaluate(`[Number(/event (\\d+)/.exec(document.querySelector('.tb-meta').textContent)?.[1]), Number(document.querySelector('.tl-label[data-branch="main"]').dataset.head), document.querySelector('.run-pill').dataset.state]`) as Promise<[number, number, string]>
      for (let i = 0; i < 400; i++) {
        const [top, timeline, state] = await heads()
        assert.ok(top >= timeline, `the top bar says event ${top} while the timeline shows ${timeline}`)
        if (state === 'parked' && top === 20001 && timeline === 20001) break
        await page.waitForTimeout(100)
      }
      await page.locator('.run-pill[data-state="parked"]').waitFor(WAIT)
      await page.locator('.tl-label[data-branch="main"][data-head="20001"]').waitFor(WAIT)
      assert.deepEqual((await heads()).slice(0, 2), [20001, 20001])
      assert.match((await page.locator('.tb-meta').textContent()) ?? '', /main · event 20001 ·/)
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })

  test('the screenshot: the bank sample open, run to its end', async () => {
    const o = await open('samples/bank.loom.md')
    try {
      const { page } = o
      await run(page)
      await seen(terminal(page), 'carol → alice: 45')
      await seen(page.locator('.run-pill[data-state="parked"]'), 'Parked')
      await cell(page, 'state').locator('.loom-live-value').first().waitFor(WAIT)
      await page.locator('.state-entry[data-state="refused"]').filter({ hasText: '1' }).waitFor(WAIT)
      // Monaco colours lines in the background: wait until every `const` on screen has its keyword colour.
      await page.waitForFunction(() => {
        const consts = Array.from(document.querySelectorAll('.code-cell .view-line span span')).filter((e) => e.textContent === 'const')
        return consts.length > 0 && consts.every((e) => e.getAttribute('class') !== 'mtk1')
      }, undefined, WAIT)
      await mkdir('docs', { recursive: true })
      await page.screenshot({ path: 'docs/screenshot.png', animations: 'disabled' })
      assert.deepEqual(o.problems, [])
    } finally {
      await o.close()
    }
  })
})

test('the renderer bundle is made only of renderer code, the shared protocol and browser libraries', async () => {
  const dir = await buildUiOnce()
  const { inputs } = JSON.parse(await readFile(join(dir, BUILD_META), 'utf8')) as { inputs: string[] }
  assert.ok(inputs.some((i) => i.startsWith('renderer/')))
  const allowed = /^(renderer\/|engine\/protocol\/|node_modules\/(monaco-editor|@xterm\/xterm|@xterm\/addon-fit|marked|dompurify|d3|d3-[a-z-]+|internmap|delaunator|robust-predicates|yjs|y-websocket|y-protocols|y-monaco|lib0)\/|loom-text:)/
  assert.deepEqual(inputs.filter((i) => !allowed.test(i)), [])
  // Nothing in the bundle asks for a Node module at run time.
  const main = await readFile(join(dir, 'main.js'), 'utf8')
  assert.doesNotMatch(main, /\brequire\(["'](node:)?(fs|path|child_process|os|net|http|crypto|vm|util)["']\)|from\s*["']node:/)
})
