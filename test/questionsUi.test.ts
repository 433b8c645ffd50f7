// The Questions tab in a browser, against a real `loom serve --share` of the
// bank sample and its recorded history: a predicate lists the moments it
// held, Enter on one seeks there, the answers are marked on the timeline;
// "Logs with this code" shows what the edited code would log; a guest with a
// view link asks too.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, inviteLink, launchChromium, serveNotebook, type Serving } from './browser.ts'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'

const WAIT = { timeout: 45_000 }
const SHOTS = '/tmp/shots-query'

describe('the Questions tab', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, () => {
  let browser: Browser
  let server: Serving
  let viewLink = ''

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loom-questions-'))
    await copyFile('samples/bank.loom.md', join(dir, 'bank.loom.md'))
    // The recorded history: 2..5 take the four transfers (carol's 100 is refused at 4), 6 is an edit, 7 a step.
    await copyFile('test/fixtures/bank.loom.db', join(dir, 'bank.loom.db'))
    await mkdir(SHOTS, { recursive: true })
    let ui: string
    ;[ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
    server = await serveNotebook(join(dir, 'bank.loom.md'), ui, dir, ['--share'])
    viewLink = await inviteLink(server, 'view')
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  async function open(url: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    await page.goto(url)
    await page.locator('.code-cell .monaco-editor .view-lines').first().waitFor(WAIT)
    await page.locator('.tl-label[data-branch="main"]').waitFor(WAIT)
    await page.locator('.insp-tab[data-tab="questions"]').click()
    return { page, problems }
  }

  test('a predicate lists the moments it held; Enter on one seeks there, and they are marked on the timeline', async () => {
    const { page, problems } = await open(server.url)
    try {
      const input = page.locator('.q-input')
      await input.fill("accounts.get('bob') < 50 && accounts.get('bob')")
      await input.press('Enter')
      const rows = page.locator('.q-matches .q-row')
      await rows.first().waitFor(WAIT)
      // Serving the notebook added its code event, 8.
      assert.deepEqual(await rows.locator('.q-seq').allTextContents(), ['#3', '#4', '#5', '#6', '#7', '#8'])
      assert.deepEqual(await rows.locator('.q-text').allTextContents(), ['20', '20', '20', '20', '20', '20'])
      assert.match((await page.locator('.q-summary').first().textContent()) ?? '', /^6 matches in events 1–8 of 'main'\./)
      assert.equal(await page.locator('.timeline').first().getAttribute('data-matches'), '3 4 5 6 7 8')
      // From the box, ↓ reaches the list; ↓ again and Enter seek to the second match.
      await input.press('ArrowDown')
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('Enter')
      await page.locator('.tl-moment', { hasText: /\b4\b/ }).waitFor(WAIT)
      // A click seeks too, and the state shown is that moment's.
      await rows.nth(0).click()
      await page.locator('.tl-moment', { hasText: /\b3\b/ }).waitFor(WAIT)
      await page.screenshot({ path: join(SHOTS, 'questions-predicate.png') })
      // A predicate that does not parse says so, where the answer would be.
      await input.fill('accounts.get(')
      await input.press('Enter')
      await page.locator('.q-summary.q-error', { hasText: /does not parse/ }).waitFor(WAIT)
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })

  test('"Logs with this code" lists what the notebook as edited would log at every past event, and marks them', async () => {
    const { page, problems } = await open(server.url)
    try {
      // An edit made in the window (the same op as typing in a cell), not saved: a sys.log in the step.
      const owner = new EngineClient(await connectEngine(`${server.origin.replace(/^http/, 'ws')}/engine`, server.origin))
      try {
        await owner.call('hello', { token: server.token })
        const step = (await owner.call('notebook', {})).cells.find((c) => c.source.includes('export function step'))!
        const r = await owner.call('editCell', { cell: step.id, source: step.source.replace('const t = transfers.take()', "const t = transfers.take()\n  sys.log('taking', `${t.amount} from ${t.from}`)") })
        assert.equal(r.ok, true)
      } finally {
        owner.close()
      }
      await page.locator('.q-logs').click()
      const rows = page.locator('.q-loglines .q-row')
      await rows.first().waitFor(WAIT)
      const texts = await rows.locator('.q-text').allTextContents()
      assert.deepEqual(texts.slice(0, 4), ['taking: 30 from alice', 'taking: 60 from bob', 'taking: 100 from carol', 'refused: {"from":"carol","to":"alice","amount":100}'])
      assert.match((await page.locator('.q-summary').nth(1).textContent()) ?? '', /6 log lines over 6 recorded transactions of 'main'.*Every outcome is as recorded\. Nothing was written\./)
      assert.equal(await page.locator('.timeline').first().getAttribute('data-logs'), '2 3 4 5 7')
      await rows.nth(3).click()
      await page.locator('.tl-moment', { hasText: /\b4\b/ }).waitFor(WAIT)
      await page.screenshot({ path: join(SHOTS, 'questions-logs.png') })
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })

  test('a guest with a view link asks a predicate of the history too', async () => {
    const { page, problems } = await open(viewLink + '&name=Cy')
    try {
      await page.locator('.q-input').fill('refused.get() > 0')
      await page.locator('.q-ask').click()
      await page.locator('.q-matches .q-row').first().waitFor(WAIT)
      assert.equal(await page.locator('.q-matches .q-row .q-seq').first().textContent(), '#4')
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })
})
