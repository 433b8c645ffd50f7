// A shared session in the browser: one real `loom serve --share`, and two or
// three people (Chromium contexts) who joined with invite links — what they
// type, see of each other, and may or may not do.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, inviteLink, launchChromium, serveCopy, type Serving } from './browser.ts'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'

// Page-side code in evaluate() runs in the browser; the test program itself has no DOM types.
/** A line Monaco draws: its text, and the live values drawn after it (LiveValues.ts), which are no text of the cell. */
interface DrawnLine { textContent: string | null; style: { top: string }; cloneNode(deep: boolean): DrawnLine; querySelectorAll(s: string): Iterable<{ remove(): void }> }
declare const document: { querySelectorAll(s: string): ArrayLike<DrawnLine> & Iterable<DrawnLine> }
declare function getComputedStyle(el: unknown): { borderLeftColor: string; backgroundColor: string }

const WAIT = { timeout: 30_000 }
const haveChromium = existsSync(CHROMIUM)

type Role = 'view' | 'edit' | 'run'

interface Person {
  name: string
  page: Page
  context: BrowserContext
  /** Content-Security-Policy complaints and uncaught errors on this page. */
  problems: string[]
}

describe('a shared session in the browser', { skip: haveChromium ? false : `no Chromium at ${CHROMIUM} (.ci/run installs it with apt)` }, () => {
  let browser: Browser
  let server: Serving
  const links = {} as Record<Role, string>
  const people: Person[] = []

  before(async () => {
    let ui: string
    ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
    server = await serveCopy('samples/counter.loom.md', ui, ['--share'])
    for (const role of ['view', 'edit', 'run'] as const) links[role] = await inviteLink(server, role)
  })
  after(async () => {
    for (const p of people) await p.context.close()
    await browser?.close()
    await server?.stop()
  })

  /** The owner's own connection to the engine, as the owner's page has it: for the running notebook's text and for Save. */
  async function asOwner<T>(fn: (owner: EngineClient) => Promise<T>): Promise<T> {
    const owner = new EngineClient(await connectEngine(`${server.origin.replace(/^http/, 'ws')}/engine`, server.origin))
    try {
      await owner.call('hello', { token: server.token })
      return await fn(owner)
    } finally {
      owner.close()
    }
  }
  const running = () => asOwner(async (owner) => (await owner.call('notebook', {})).text)

  async function until(what: string, ok: () => Promise<boolean>, ms = WAIT.timeout): Promise<void> {
    const end = Date.now() + ms
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** A person opens the invite link of `role` in a browser of their own. */
  async function join(role: Role, name: string): Promise<Person> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text())
    })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    const person = { name, page, context, problems }
    people.push(person)
    await page.goto(`${links[role]}&name=${encodeURIComponent(name)}`)
    await page.locator('.code-cell[data-cell="counter"] .monaco-editor .view-lines').waitFor(WAIT)
    await page.locator(`.person[data-me][data-name="${name}"]`).waitFor(WAIT)
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    return person
  }

  async function leave(...ps: Person[]): Promise<void> {
    for (const p of ps) {
      await p.context.close()
      people.splice(people.indexOf(p), 1)
    }
  }

  /**
   * The text a cell's editor shows, line by line (Monaco draws spaces as no-break spaces, lines in any DOM order),
   * without the live values drawn after a line: those come and go as the app runs.
   */
  async function cellText(page: Page, cell: string): Promise<string> {
    // (No named function inside: the TypeScript loader would name it with a helper the page does not have.)
    return page.evaluate((sel) => [...document.querySelectorAll(sel)].sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top)).map((line) => {
      const copy = line.cloneNode(true)
      for (const value of copy.querySelectorAll('.loom-live-value')) value.remove()
      return (copy.textContent ?? '').replace(/\u00a0/g, ' ')
    }).join('\n'), `.code-cell[data-cell="${cell}"] .view-lines .view-line`)
  }

  /** Puts the caret at the end of line `line` of a cell. */
  async function caretAt(page: Page, cell: string, line: number): Promise<void> {
    await page.locator(`.code-cell[data-cell="${cell}"] .view-lines`).click()
    await page.keyboard.press('Control+Home')
    for (let i = 1; i < line; i++) await page.keyboard.press('ArrowDown')
    await page.keyboard.press('End')
  }

  const head = async (page: Page) => Number(await page.locator('.tl-label[data-branch="main"]').getAttribute('data-head'))

  test('typing in one person’s cell appears in the others’ and in the running app; the file waits for the owner’s Save', async () => {
    const [ada, bo, cy] = await Promise.all([join('edit', 'Ada'), join('run', 'Bo'), join('view', 'Cy')])
    try {
      await caretAt(ada.page, 'counter', 1)
      await ada.page.keyboard.type(' // from Ada')
      for (const p of [bo, cy]) await until(`${p.name} sees Ada’s words`, async () => (await cellText(p.page, 'counter')).includes("state.var('count', 0) // from Ada"))
      await until('the running notebook has them', async () => (await running()).includes("state.var('count', 0) // from Ada"))
      assert.ok(!readFileSync(server.notebook, 'utf8').includes('// from Ada'), 'a guest’s typing does not write the host’s file')
      await asOwner((owner) => owner.call('save', {}))
      assert.ok(readFileSync(server.notebook, 'utf8').includes("state.var('count', 0) // from Ada"))
      // Everyone is in everyone's list.
      for (const p of [ada, bo, cy]) for (const other of ['Ada', 'Bo', 'Cy']) await p.page.locator(`.person[data-name="${other}"]`).waitFor(WAIT)
      for (const p of [ada, bo, cy]) assert.deepEqual(p.problems, [])
    } finally {
      await leave(ada, bo, cy)
    }
  })

  test('concurrent typing in the same cell converges to the same text everywhere', async () => {
    const [ada, bo] = await Promise.all([join('edit', 'Ada'), join('run', 'Bo')])
    try {
      await caretAt(ada.page, 'counter', 2)
      await caretAt(bo.page, 'counter', 4)
      // Both type at once, a key at a time, into lines close to each other.
      await Promise.all([ada.page.keyboard.type(' /* ada ada */', { delay: 15 }), bo.page.keyboard.type(' /* bo bo */', { delay: 15 })])
      await until('both show the same text with both edits', async () => {
        const [a, b] = await Promise.all([cellText(ada.page, 'counter'), cellText(bo.page, 'counter')])
        return a === b && a.includes('/* ada ada */') && a.includes('/* bo bo */')
      })
      const text = await cellText(ada.page, 'counter')
      assert.match(text.split('\n')[1]!, /\/\* ada ada \*\/$/)
      assert.match(text.split('\n')[3]!, /\/\* bo bo \*\/$/)
      await until('the running notebook has both', async () => {
        const text = await running()
        return text.includes('/* ada ada */') && text.includes('/* bo bo */')
      })
    } finally {
      await leave(ada, bo)
    }
  })

  test('presence: each sees the other’s cursor in their colour, their moment on the timeline, and can follow them', async () => {
    const [ada, bo] = await Promise.all([join('edit', 'Ada'), join('run', 'Bo')])
    try {
      // Bo's cursor in Ada's editor, in Bo's colour.
      await caretAt(bo.page, 'counter', 1)
      const boClient = await ada.page.locator('.person[data-name="Bo"]').getAttribute('data-client')
      const caret = ada.page.locator(`.code-cell[data-cell="counter"] .yRemoteSelectionHead-${boClient}`)
      await caret.waitFor(WAIT)
      const [caretColour, dotColour] = await Promise.all([
        caret.evaluate((el) => getComputedStyle(el).borderLeftColor),
        ada.page.locator('.person[data-name="Bo"] .person-dot').evaluate((el) => getComputedStyle(el).backgroundColor),
      ])
      assert.equal(caretColour, dotColour)
      // A selection shows as a coloured range too.
      await bo.page.keyboard.press('Shift+Home')
      await ada.page.locator(`.code-cell[data-cell="counter"] .yRemoteSelection-${boClient}`).first().waitFor(WAIT)

      // Bo steps three times and selects event 2: Ada sees where Bo is.
      for (let i = 0; i < 3; i++) await bo.page.locator('.tb-button.step').click()
      await until('Bo’s timeline has the steps', async () => (await head(bo.page)) >= 3)
      await bo.page.locator('.tl-canvas').focus()
      await bo.page.keyboard.press('Home')
      await bo.page.keyboard.press('ArrowRight')
      await bo.page.keyboard.press('ArrowRight')
      await bo.page.locator('.timeline[data-selected-seq="2"]').waitFor(WAIT)
      await ada.page.locator('.person[data-name="Bo"][data-moment="main:2"]').waitFor(WAIT)
      await ada.page.locator('.timeline[data-peers*="Bo@main:2"]').waitFor(WAIT)

      // Ada follows Bo: her moment goes where his goes, until she moves it herself.
      await ada.page.locator('.person[data-name="Bo"]').click()
      await ada.page.locator('.timeline[data-selected-branch="main"][data-selected-seq="2"]').waitFor(WAIT)
      await bo.page.keyboard.press('ArrowLeft')
      await ada.page.locator('.timeline[data-selected-seq="1"]').waitFor(WAIT)
      await ada.page.locator('.tl-canvas').focus()
      await ada.page.keyboard.press('End')
      await ada.page.locator('.person[data-name="Bo"]:not([data-following])').waitFor(WAIT)
      await bo.page.keyboard.press('Home')
      await bo.page.locator('.timeline[data-selected-seq="0"]').waitFor(WAIT)
      await ada.page.locator('.person[data-name="Bo"][data-moment="main:0"]').waitFor(WAIT)
      assert.notEqual(await ada.page.locator('.timeline').getAttribute('data-selected-seq'), '0')
      for (const p of [ada, bo]) assert.deepEqual(p.problems, [])
    } finally {
      await leave(ada, bo)
    }
  })

  test('a view guest cannot edit or step, and the page says why; an edit guest edits but cannot step', async () => {
    const [cy, ed] = await Promise.all([join('view', 'Cy'), join('edit', 'Ed')])
    try {
      const { page } = cy
      const before = await cellText(page, 'counter')
      await caretAt(page, 'counter', 1)
      await page.keyboard.type('x = 1')
      await page.locator('.monaco-editor-overlaymessage', { hasText: /view link/ }).waitFor(WAIT)
      assert.equal(await cellText(page, 'counter'), before)
      // The buttons that step are off, and say why; so does a banner.
      const step = page.locator('.tb-button.step')
      assert.equal(await step.isDisabled(), true)
      assert.match((await step.getAttribute('title')) ?? '', /view link.*run link.*ask the person who shares/)
      assert.equal(await page.locator('.tl-fork').isDisabled(), true)
      // Choosing a moment does not turn the branch buttons back on.
      await page.locator('.tl-label[data-branch="main"]').click()
      for (const b of ['.tl-promote', '.tl-rename', '.tl-delete']) assert.equal(await page.locator(b).isDisabled(), true, `${b} stays off`)
      // Nor can it preview and commit a transaction, or edit the state: read-only, saying why.
      assert.equal(await page.locator('.ag-preview').isDisabled(), true)
      assert.equal(await page.locator('.state-editor').getAttribute('data-editable'), 'false')
      assert.match((await page.locator('.state-editor .se-banner').textContent()) ?? '', /view link.*run link/)
      await page.locator('.banner[data-banner="share-role"]', { hasText: 'You joined with a view link' }).waitFor(WAIT)
      // F10 asks anyway: the engine refuses, and the page says why.
      await page.locator('body').press('F10')
      await page.locator('.toast', { hasText: /view link.*step needs a run link/ }).waitFor(WAIT)
      // Nothing to add, move or delete.
      assert.equal(await page.locator('.adder').count(), 0)
      assert.equal(await page.locator('.code-cell .cell-tools button').count(), 0)

      // The edit guest types, but may not step either.
      await caretAt(ed.page, 'counter', 1)
      await ed.page.keyboard.type(' // Ed')
      await until('Cy sees Ed’s edit', async () => (await cellText(page, 'counter')).includes('// Ed'))
      assert.equal(await ed.page.locator('.tb-button.step').isDisabled(), true)
      assert.match((await ed.page.locator('.tb-button.step').getAttribute('title')) ?? '', /edit link.*run link/)
      for (const p of [cy, ed]) assert.deepEqual(p.problems, [])
    } finally {
      await leave(cy, ed)
    }
  })

  test('a run guest steps, and everyone’s timeline shows the event', async () => {
    const [ada, bo, cy] = await Promise.all([join('edit', 'Ada'), join('run', 'Bo'), join('view', 'Cy')])
    try {
      const was = await head(bo.page)
      await bo.page.locator('.tb-button.step').click()
      for (const p of [ada, bo, cy]) await p.page.locator(`.tl-label[data-branch="main"][data-head="${was + 1}"]`).waitFor(WAIT)
      await cy.page.locator('.state-entry[data-state="count"]').waitFor(WAIT)
    } finally {
      await leave(ada, bo, cy)
    }
  })

  test('text and new, moved and deleted cells reach everyone', async () => {
    const [ada, bo] = await Promise.all([join('edit', 'Ada'), join('run', 'Bo')])
    try {
      // Prose: Bo sees Ada's words as she types them, rendered once she leaves the text.
      await ada.page.locator('.prose-cell .prose-rendered').first().click()
      await ada.page.keyboard.press('Control+Home')
      await ada.page.keyboard.type('Shared words. ')
      await bo.page.locator('.prose-cell', { hasText: 'Shared words.' }).first().waitFor(WAIT)
      await ada.page.keyboard.press('Escape')
      // A new code cell after the counter, typed into: Bo has it, after the counter.
      const adders = ada.page.locator('.adder')
      const count = await adders.count()
      await adders.nth(count - 1).locator('.adder-button', { hasText: 'Code' }).click()
      await ada.page.keyboard.type('const added = 1')
      const added = bo.page.locator('.code-cell', { hasText: 'const added = 1' })
      await added.waitFor(WAIT)
      const id = await added.getAttribute('data-cell')
      const order = (p: Page) => p.locator('.code-cell').evaluateAll((els) => els.map((e) => e.getAttribute('data-cell')))
      assert.deepEqual((await order(bo.page)).slice(-2), ['counter', id])
      // Ada moves it up: it is above the counter for Bo too.
      await ada.page.locator(`.code-cell[data-cell="${id}"] button[title="Move up"]`).click()
      await until('Bo sees it moved', async () => (await order(bo.page)).join() === [id, 'counter'].join())
      await until('the running notebook has it first', async () => {
        const text = await running()
        return text.indexOf('const added = 1') >= 0 && text.indexOf('const added = 1') < text.indexOf('```ts #counter')
      })
      // Deleted (click twice): gone for Bo and from the running notebook.
      const del = ada.page.locator(`.code-cell[data-cell="${id}"] button[title="Delete cell"]`)
      await del.click()
      await ada.page.locator(`.code-cell[data-cell="${id}"] button[title="Click again to delete"]`).click()
      await added.waitFor({ state: 'detached', ...WAIT })
      await until('the running notebook no longer has it', async () => !(await running()).includes('const added = 1'))
      // (Monaco built with fewer features may complain of a service it lacks when a new editor starts: not this test's concern.)
      for (const p of [ada, bo]) assert.deepEqual(p.problems.filter((m) => !/depends on UNKNOWN service/.test(m)), [])
    } finally {
      await leave(ada, bo)
    }
  })

  test('the person who shares opens their own 127.0.0.1 page and is in the session like everyone else', async () => {
    const ada = await join('edit', 'Ada')
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } })
    const owner: Person = { name: 'owner', page: await context.newPage(), context, problems: [] }
    people.push(owner)
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/)
      await owner.page.goto(`${server.url}&name=Olga`)
      await owner.page.locator('.person[data-me][data-name="Olga"]').waitFor(WAIT)
      await owner.page.locator('.share-role[data-role="owner"]').waitFor(WAIT)
      await ada.page.locator('.person[data-name="Olga"]').waitFor(WAIT)
      await caretAt(owner.page, 'counter', 1)
      await owner.page.keyboard.type(' // Olga')
      await until('Ada sees the owner’s edit', async () => (await cellText(ada.page, 'counter')).includes('// Olga'))
      // The owner's own listener carries the shared document too: the page stayed where it was opened.
      assert.equal(new URL(owner.page.url()).port, new URL(server.url).port)
      // The owner applies a cell now with its ▷, as without sharing; the edit is live at once.
      const apply = owner.page.locator('.code-cell[data-cell="counter"] .cell-tools button[title^="Apply now"]')
      await apply.waitFor(WAIT)
      await caretAt(owner.page, 'counter', 1)
      await owner.page.keyboard.type(' again')
      await apply.click()
      await owner.page.locator('.code-cell[data-cell="counter"] .cell-badge[data-state="live"]').waitFor(WAIT)
      await until('Ada sees it', async () => (await cellText(ada.page, 'counter')).includes('// Olga again'))
      // An owner who gave no name is 'owner' (you) to themselves and to the others, not a 'guest NN'.
      // (A browser of its own: this one remembers the name Olga.)
      const fresh = await browser.newContext({ viewport: { width: 1280, height: 820 } })
      const plain = await fresh.newPage()
      await plain.goto(server.url)
      await plain.locator('.person[data-me][data-name="owner"]', { hasText: 'owner (you)' }).waitFor(WAIT)
      await ada.page.locator('.person[data-name="owner"]').waitFor(WAIT)
      assert.equal(await plain.locator('.person[data-me]', { hasText: /^guest/ }).count(), 0)
      if (process.env.LOOM_SCREENSHOTS) await plain.screenshot({ path: `${process.env.LOOM_SCREENSHOTS}/share-owner.png` })
      await fresh.close()
    } finally {
      await leave(ada, owner)
    }
  })

  test('a link with a wrong token gets a page that says it was not let in, and why', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } })
    try {
      const page = await context.newPage()
      const url = new URL(links.view)
      url.searchParams.set('token', 'not-the-token')
      await page.goto(url.href)
      await page.locator('.banner', { hasText: 'The engine refused this page' }).filter({ hasText: 'not valid' }).waitFor(WAIT)
      assert.equal(await page.locator('.code-cell').count(), 0)
    } finally {
      await context.close()
    }
  })

  test('a compile error is shown to everyone at its line, with who last edited it', async () => {
    const [ada, cy] = await Promise.all([join('edit', 'Ada'), join('view', 'Cy')])
    try {
      await caretAt(ada.page, 'counter', 1)
      await ada.page.keyboard.press('Enter')
      await ada.page.keyboard.type('const broken: number = ;')
      const problem = cy.page.locator('.code-cell[data-cell="counter"] .cell-message .problem')
      await problem.filter({ hasText: 'last edited by Ada' }).waitFor(WAIT)
      assert.match((await problem.first().locator('.problem-where').textContent()) ?? '', /line 2/)
      for (let i = 0; i < 'const broken: number = ;'.length + 1; i++) await ada.page.keyboard.press('Backspace')
      await cy.page.locator('.code-cell[data-cell="counter"] .cell-message').waitFor({ state: 'hidden', ...WAIT })
    } finally {
      await leave(ada, cy)
    }
  })
})
