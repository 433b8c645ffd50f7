// A small exploration in the window shows its state graph: every state and
// move known by hand, the initial state, the violating state in red at the
// end of the trace, the deadlocks; hovering a state shows its values cell by
// cell, and a state on the trace opens the counterexample as a branch and
// seeks it to that moment — in a real `loom serve` driven in Debian's
// Chromium, in both themes (the dark one is docs/exploring-graph.png).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { notebook } from './helpers.ts'
import { FLAGS } from './graphNotebook.ts'

const WAIT = { timeout: 45_000 }
/** With LOOM_SHOTS=dir, the light theme's picture too, to look at. */
const SHOTS = process.env.LOOM_SHOTS
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

/** Explores from the start of the branch (Home on the timeline) and waits for the graph. */
async function exploreFromStart(page: Page, url: string): Promise<void> {
  await page.goto(url)
  await explore(page, 8)
  await page.locator('.sg-graph').waitFor(WAIT)
}

test('the window draws a small state graph: states, moves, the red state at the end of the trace; a state shows its values and seeks the counterexample there', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-graph-'))
  const nb = join(dir, 'flags.loom.md')
  writeFileSync(nb, notebook({ s: FLAGS }))
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui, dir)
  const errors: string[] = []
  try {
    for (const colorScheme of ['dark', 'light'] as const) {
      const page = await browser.newPage({ viewport: { width: 1500, height: 1300 }, colorScheme })
      page.on('pageerror', (e) => errors.push(e.message))
      await exploreFromStart(page, server.url)
      const graph = page.locator('.sg-graph')
      assert.equal(await graph.getAttribute('data-nodes'), '8')
      assert.equal(await graph.getAttribute('data-edges'), '12')
      assert.equal(await page.locator('.sg-node').count(), 8)
      // 12 moves: 4 of them join two states both ways by the same answer (the flag flips), drawn as one line with two arrows.
      assert.equal(await page.locator('.sg-edge:not([data-both])').count() + 2 * (await page.locator('.sg-edge[data-both]').count()), 12)
      assert.equal(await page.locator('.sg-edge[data-both]').count(), 2)
      const texts = async (sel: string) => (await page.locator(sel).evaluateAll((els) => els.map((e) => [...e.querySelectorAll('text')].filter((t) => !t.classList.contains('sg-tag')).map((t) => t.textContent).join(' ')))).sort()
      assert.deepEqual(await texts('.sg-node.initial'), ['n = 0 flag = false'])
      assert.deepEqual(await texts('.sg-node.violating'), ['n = 2 flag = true', 'n = 3 flag = false'], 'the test\'s state and the deadlock reported')
      assert.deepEqual(await texts('.sg-node.deadlock'), ['n = 3 flag = false', 'n = 3 flag = true'])
      // The trace to the test: n = 1, n = 2, then the flag — three red moves, and the deadlock's own last move.
      assert.equal(await page.locator('.sg-edge.on-path').count(), 4)
      // Hover: the state's values, cell by cell.
      const red = page.locator('.sg-node.violating', { hasText: 'flag = true' })
      await red.hover()
      const details = page.locator('.sg-details')
      assert.equal(await details.locator('.sg-value[data-state="n"] .sg-json').textContent(), '2')
      assert.equal(await details.locator('.sg-value[data-state="flag"] .sg-json').textContent(), 'true')
      assert.match((await details.locator('.sg-title').textContent())!, /3 moves from the start/)
      if (colorScheme === 'dark') await graph.screenshot({ path: 'docs/exploring-graph.png' })
      else if (SHOTS) mkdirSync(SHOTS, { recursive: true }), await graph.screenshot({ path: join(SHOTS, 'exploring-graph-light.png') })
      await page.close()
    }
    // Clicking a state on the trace offers to open it; doing so seeks the new branch to that moment.
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } })
    page.on('pageerror', (e) => errors.push(e.message))
    await exploreFromStart(page, server.url)
    const violation = page.locator('.ag-violation', { hasText: 'never flagged at 2' })
    const index = await violation.getAttribute('data-index')
    await page.locator('.sg-node.on-path', { hasText: 'n = 2' }).filter({ hasText: 'flag = false' }).click()
    const offer = page.locator(`.sg-on-trace[data-violation="${index}"]`)
    assert.equal(await offer.getAttribute('data-moves'), '2')
    assert.equal(await offer.locator('.sg-seek').textContent(), 'Open as branch and seek here')
    await offer.locator('.sg-seek').click()
    await page.locator('.insp-tab[data-tab="state"]').click()
    await page.locator('.se-banner-text', { hasText: /^counterexample-\d+-\d+ at event \d+ — the past is read-only/ }).waitFor(WAIT)
    await page.locator('.state-entry[data-state="n"] .se-value', { hasText: /^2$/ }).waitFor(WAIT)
    assert.equal(await page.locator('.state-entry[data-state="flag"] .se-value').textContent(), 'false')
    // Now saved: the same state seeks it again, and says so.
    await page.locator('.insp-tab[data-tab="agent"]').click()
    await page.locator('.sg-node.initial').click()
    assert.match((await page.locator(`.sg-on-trace[data-violation="${index}"] .sg-seek`).textContent())!, /^Seek counterexample-\d+-\d+ here$/)
    assert.deepEqual(errors, [])
    await page.close()
  } finally {
    await server.stop()
    await browser.close()
  }
})

/** A page of `loom serve` on a notebook of one cell `src`: `use` drives it; no page error may happen meanwhile. */
async function inWindow(src: string, use: (page: Page) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-graph-'))
  const nb = join(dir, 'graph.loom.md')
  writeFileSync(nb, notebook({ s: src }))
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui, dir)
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  try {
    await page.goto(server.url)
    await use(page)
    assert.deepEqual(errors, [])
  } finally {
    await page.close()
    await server.stop()
    await browser.close()
  }
}

/** Explores from the start of the branch (Home on the timeline) to `depth`. */
async function explore(page: Page, depth: number): Promise<void> {
  await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
  await page.locator('.tl-canvas').click()
  await page.keyboard.press('Home')
  await page.locator('.insp-tab[data-tab="agent"]').click()
  await page.locator('.ag-depth').fill(String(depth))
  await page.locator('.ag-explore-run').click()
}

// pos goes 0 → 1 → 0 … for ever and never reaches 2: the cycle is the whole graph, both ways by the same move.
test("a liveness lasso's cycle is drawn in the graph: the states a fair run goes round for ever", { skip }, () => inWindow(`const pos = state.var('pos', 0)
export function step() { pos.set(1 - pos.get()) }
test.eventually('pos reaches 2', () => pos.get() === 2)`, async (page) => {
  await explore(page, 8)
  await page.locator('.sg-graph').waitFor(WAIT)
  assert.equal(await page.locator('.sg-node').count(), 2)
  assert.equal(await page.locator('.sg-edge.on-loop[data-both]').count(), 1, 'round 0 → 1 → 0, one line with an arrow each way')
  assert.equal(await page.locator('.sg-node.violating').count(), 0, 'no single state breaks a property: the cycle does')
  await page.locator('.sg-node', { hasText: 'pos = 1' }).click()
  assert.equal(await page.locator('.sg-on-trace').getAttribute('data-moves'), '1')
}))

test('a space of more than 200 states is not drawn: the window says how many and points to the counterexample', { skip }, () => inWindow(`const n = state.var('n', 0)
export function step() { if (n.get() < 300) n.set(n.get() + 1); else sys.halt() }
test('below 250', () => n.get() < 250)`, async (page) => {
  await explore(page, 400)
  const note = page.locator('.sg-too-many')
  await note.waitFor(WAIT)
  assert.match((await note.textContent())!, /^30[12] states: too many to draw \(at most 200\), here is the counterexample\.$/)
  assert.equal(await page.locator('.sg-graph').count(), 0)
  assert.equal(await page.locator('.ag-violation', { hasText: 'below 250' }).count(), 1)
}))

// Requests from clients() with a long path and body label the moves, and a state's name and value are long:
// every label and every line of a box is drawn whole inside the picture (cut with … where it must be, whole on hover),
// and the details panel wraps a long name and value inside its width.
test('long moves and values are readable: no label or box text runs past the picture or its box, the whole text is on hover', { skip }, () => inWindow(`const notes = state.var('notes', 0)
const last = state.var('theLastNoteThatWasPostedByAnyone', '')
export function http(req: { body: string }) {
  notes.set(notes.get() + 1)
  last.set(req.body)
  return { status: 201, body: 'ok' }
}
export function clients() {
  const who = ['ann', 'bob'][sys.fork(2)]!
  return { method: 'POST', path: '/notes/with/a/rather/long/path', body: JSON.stringify({ who, text: 'a note with a long body that goes on for a while' }) }
}
test('at most two notes', () => notes.get() < 3)`, async (page) => {
  await explore(page, 8)
  await page.locator('.sg-graph').waitFor(WAIT)
  const svg = await page.locator('.sg-svg').evaluate((s) => s.getBoundingClientRect().toJSON())
  const labels = await page.locator('.sg-label').evaluateAll((els) => els.map((e) => ({ box: e.getBoundingClientRect().toJSON(), text: e.textContent, title: e.querySelector('title')?.textContent ?? null })))
  assert.ok(labels.length > 0)
  for (const l of labels) {
    assert.ok(l.box.left >= svg.left && l.box.right <= svg.right, `the label "${l.text}" (${l.box.left}…${l.box.right}) runs past the picture (${svg.left}…${svg.right})`)
    assert.match(l.title ?? '', /^POST \/notes\/with\/a\/rather\/long\/path \{"who":"(ann|bob)","text":"a note with a long body that goes on for a while"\} \(from clients\(\)\)/, `the whole move on hover: ${l.title}`)
  }
  const boxes = await page.locator('.sg-node').evaluateAll((els) => els.map((g) => {
    const rect = g.querySelector('rect')!.getBoundingClientRect()
    return { rect: rect.toJSON(), lines: [...g.querySelectorAll('text:not(.sg-tag)')].map((t) => ({ text: t.textContent, right: t.getBoundingClientRect().right })), title: g.querySelector(':scope > title')?.textContent ?? null }
  }))
  for (const b of boxes) for (const line of b.lines) assert.ok(line.right <= b.rect.right, `"${line.text}" runs past its box`)
  const full = boxes.find((b) => b.title?.includes('notes = 2'))
  assert.match(full?.title ?? '', /^notes = 2\ntheLastNoteThatWasPostedByAnyone = "\{\\"who\\":\\"(ann|bob)\\",\\"text\\":\\"a note with a long body/, 'the values whole on hover')
  await page.locator('.sg-node.violating').click()
  const details = page.locator('.sg-details')
  const within = await details.evaluate((d) => {
    const outer = d.getBoundingClientRect()
    return [...d.querySelectorAll('td')].every((td) => td.getBoundingClientRect().right <= outer.right)
  })
  assert.ok(within, 'the details keep to the panel')
  if (SHOTS) mkdirSync(SHOTS, { recursive: true }), await page.locator('.sg-graph').screenshot({ path: join(SHOTS, 'exploring-graph-long.png') })
}))
