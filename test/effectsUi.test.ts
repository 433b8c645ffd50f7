// Effects in the window (issue 17, point 6): an effect event's block says what
// it read in the words of the Recent list and `loom log`, is linked to the
// transaction that asked for it and used it, a read under way shows as pending,
// its details blank every credential and show a body as text, and Refresh makes
// the next read ask the world again. Against a real `loom serve`, a real HTTP
// server on loopback, real files and Debian's Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { allowEffects } from './helpers.ts'
import { effectLine, effectAsked } from '../engine/protocol/effectLine.ts'
import { eventBin } from '../engine/protocol/eventBin.ts'
import { redactCredentials, redactUrl, secretName, REDACTED } from '../engine/protocol/redactCredentials.ts'
import { refreshEdit, refreshedWords } from '../engine/protocol/effectRefresh.ts'

const WAIT = { timeout: 45_000 }

// ---- the words, the links and the blanking, as plain functions ----

test('an effect says what it read and what came back in one line: GET url → status · ms, read root:path → size, a failure, retries', () => {
  const get = { request: { kind: 'http.get', url: 'http://127.0.0.1:8080/stock', headers: {} }, hash: 'a'.repeat(64), response: { status: 200, headers: {}, body: 'x' }, ms: 4 }
  assert.equal(effectLine(get), 'GET http://127.0.0.1:8080/stock → 200 · 4 ms')
  assert.equal(effectLine({ request: { kind: 'fs.read', root: 'data', rootPath: './data', path: 'orders.json' }, response: { text: 'é'.repeat(156) }, ms: 0.4 }), 'read data:orders.json → 312 B · 0.4 ms')
  assert.equal(effectLine({ ...get, response: { error: 'connection refused' } }), 'GET http://127.0.0.1:8080/stock → failed: connection refused · 4 ms')
  // Actions (after commit, retried) pass how many attempts it took, or keep it in their outcome's input.
  assert.equal(effectLine({ request: { kind: 'http.send', method: 'post', url: 'http://127.0.0.1:9/pay' }, response: { status: 201 }, ms: 12, attempts: 3 }), 'POST http://127.0.0.1:9/pay → 201 · 12 ms · after 3 attempts')
  assert.equal(effectLine({ request: { kind: 'fs.write', root: 'data', path: 'r/1.json' }, response: { ok: true } }, 2), 'write data:r/1.json → done · after 2 attempts')
  assert.equal(effectLine(get, 1), 'GET http://127.0.0.1:8080/stock → 200 · 4 ms', 'one attempt says nothing')
  // An action's outcome event says what it asked in a line and counts its tries.
  const outcome = { id: 'act-1', asked: 'POST http://127.0.0.1:9/charge?token=t0k', outcome: { id: 'act-1', ok: true, status: 201, tries: 3 }, ms: 40 }
  assert.equal(effectLine(outcome), `POST http://127.0.0.1:9/charge?token=${REDACTED} → 201 · 40 ms · after 3 attempts`)
  assert.equal(effectLine({ ...outcome, outcome: { id: 'act-1', ok: false, error: 'no answer within 10000 ms', tries: 5 } }), `POST http://127.0.0.1:9/charge?token=${REDACTED} → failed: no answer within 10000 ms · 40 ms · after 5 attempts`)
  assert.equal(eventBin({ seq: 9, kind: 'effect', input: outcome, outputs: {} }).effect, 'act-1', 'an outcome is linked by its id, the key it is kept under')
  // A log is anyone's: garbage gives words, never a throw.
  for (const junk of [null, 5, 'x', [], { request: 7, response: [] }, { request: { kind: 'http.get', url: { toString: 1 } } }]) assert.equal(typeof effectLine(junk), 'string')
  assert.equal(effectAsked({ kind: 'http.get', url: `http://h/${'a'.repeat(5000)}` }).length < 130, true, 'a long URL is cut in the middle')
})

test('credentials are blanked by name wherever they are: headers, query objects and URL parameters; other values are left as they were', () => {
  for (const name of ['Authorization', 'cookie', 'Set-Cookie', 'Proxy-Authorization', 'X-Api-Key', 'x-auth-token', 'access_token', 'clientSecret', 'X-Amz-Signature', 'password', 'sessionId']) assert.ok(secretName(name), name)
  for (const name of ['content-type', 'accept', 'keep-alive', 'Idempotency-Key', 'monkey', 'item', 'x-request-id']) assert.ok(!secretName(name), name)
  assert.equal(redactUrl('http://h/p?api_key=s3&item=7&token=t#frag'), `http://h/p?api_key=${REDACTED}&item=7&token=${REDACTED}#frag`)
  assert.equal(redactUrl('http://h/p?item=7'), 'http://h/p?item=7')
  assert.equal(redactUrl('http://h/p?%ZZ=1&pass%77ord=x'), `http://h/p?%ZZ=1&pass%77ord=${REDACTED}`, 'a malformed escape does not throw; an escaped name is read')
  const input = { request: { kind: 'http.get', url: 'http://h/?access_token=q', headers: { authorization: 'Bearer abc123', 'x-api-key': 'k', accept: '*/*' } }, response: { status: 200, headers: { 'set-cookie': 's=1' }, body: 'authorization: visible body' } }
  const shown = redactCredentials(input)
  assert.deepEqual(shown, { request: { kind: 'http.get', url: `http://h/?access_token=${REDACTED}`, headers: { authorization: REDACTED, 'x-api-key': REDACTED, accept: '*/*' } }, response: { status: 200, headers: { 'set-cookie': REDACTED }, body: 'authorization: visible body' } })
  assert.equal(input.request.headers.authorization, 'Bearer abc123', 'the value given is not changed')
  assert.equal(redactCredentials({ query: { token: 'x', q: 'y' } }).query.token, REDACTED)
  const plainValue = { a: [1, { b: 2 }], url: 'http://h/?q=1' }
  assert.equal(redactCredentials(plainValue), plainValue, 'nothing to blank: the same object')
  // Deep nesting does not blow the stack within what JSON a log holds (the parser's own limit is far deeper than this).
  let deep: unknown = { headers: { cookie: 'c' } }
  for (let i = 0; i < 2000; i++) deep = { x: deep }
  assert.doesNotThrow(() => redactCredentials(deep))
})

test('an effect event\'s block carries its request hash, a transaction that read a response carries the ones it used, a refresh the ones it refreshed', () => {
  const hash = 'b'.repeat(64)
  const input = { request: { kind: 'http.get', url: 'http://h/s', headers: {} }, hash, response: { status: 200, headers: {}, body: '' }, ms: 3 }
  const effect = eventBin({ seq: 2, kind: 'effect', input, outputs: {}, reads: [], writes: [] })
  assert.equal(effect.label, 'GET http://h/s → 200 · 3 ms')
  assert.equal(effect.effect, hash.slice(0, 12))
  const step = eventBin({ seq: 3, kind: 'step', input: null, outputs: {}, reads: [{ state: 'sys.effects', key: hash, version: 2 }, { state: 'stock', version: 1 }], writes: [] })
  assert.deepEqual(step.uses, [hash.slice(0, 12)])
  const edit = refreshEdit(input)!
  assert.deepEqual(edit, { state: 'sys.effects', key: hash, set: { refreshed: 'GET http://h/s' } })
  const refresh = eventBin({ seq: 4, kind: 'edit', input: [edit] as never, outputs: {}, reads: [], writes: [{ state: 'sys.effects', op: 'set', key: hash, value: { refreshed: 'GET http://h/s' } }] })
  assert.equal(refresh.label, 'refresh GET http://h/s')
  assert.deepEqual(refresh.refreshes, [hash.slice(0, 12)])
  assert.equal(refreshEdit({ hash: 'not a hash', request: {} }), null)
  assert.equal(refreshedWords({ refreshed: 'x', response: {} }), null, 'a response is no refresh note')
  // Garbage in a crafted log's reads and writes is left out, never thrown on.
  assert.doesNotThrow(() => eventBin({ seq: 5, kind: 'edit', input: null, outputs: {}, reads: [null, 5, { state: 'sys.effects', key: 7 }] as never, writes: [null, { state: 'sys.effects', op: 'set', key: 'k', value: null }] as never }))
})

// ---- in the window ----

/** A real server on loopback: /stock answers an HTML-looking body with a cookie, the first answer held until `release`; it counts its hits. */
async function stockServer(): Promise<{ url: string; hits: () => number; release: () => void; close: () => Promise<void> }> {
  let hits = 0
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  const s: Server = createServer((_req, res) => {
    const n = ++hits
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'session=cookie-secret-7; HttpOnly', 'x-stock-version': String(n) })
      res.end(`<img src=x onerror="document.title='pwned'">stock ${n}`)
    }
    // Bounded: a test that never releases does not hang the server for ever.
    if (n === 1) void Promise.race([held, new Promise((r) => setTimeout(r, 60_000))]).then(answer)
    else answer()
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    hits: () => hits,
    release,
    close: () => new Promise((r) => {
      s.closeAllConnections()
      s.close(() => r())
    }),
  }
}

/** Sweeps the mouse along `branch`'s track until the timeline's readout matches `wanted`; leaves the mouse there. */
async function hoverUntil(page: Page, branch: string, wanted: RegExp): Promise<string> {
  const canvas = (await page.locator('.tl-canvas').boundingBox())!
  const label = (await page.locator(`.tl-label[data-branch="${branch}"]`).boundingBox())!
  const y = label.y + label.height / 2
  for (let x = canvas.x + 2; x < canvas.x + canvas.width; x += 5) {
    await page.mouse.move(x, y)
    const text = (await page.locator('.tl-readout').textContent()) ?? ''
    if (wanted.test(text)) return text
  }
  throw new Error(`nothing under the mouse on ${branch}'s track says ${wanted}`)
}

test('in the window: a read under way is pending, its effect is labelled as in the Recent list and linked to the step that used it, its details blank credentials and show HTML as text, and Refresh reads again', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async (t) => {
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  t.after(() => browser.close())
  const srv = await stockServer()
  t.after(() => srv.close())
  const dir = await mkdtemp(join(tmpdir(), 'loom-effects-ui-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'data'))
  await writeFile(join(dir, 'data', 'orders.json'), JSON.stringify([{ id: 1, item: 'tea', qty: 2 }, { id: 2, item: 'cups', qty: 6 }]))
  const path = join(dir, 'shop.loom.md')
  // The secrets are put together in code, so the notebook's text on the page never holds them whole.
  const cell = [
    "const stock = state.var<string>('stock', '')",
    "const orders = state.var<string>('orders', '')",
    "// Credentials, joined so that no line holds one whole: the window shows them [redacted].",
    "const token = ['abc', '123'].join(''), key = ['k-sec', 'ret-9'].join(''), q = ['qsec', 'ret42'].join('')",
    '',
    'export function step() {',
    `  const r = sys.http.get('${srv.url}/stock?api_key=' + q + '&item=7', { headers: { Authorization: 'Bearer ' + token, 'X-Api-Key': key }, timeoutMs: 120000 })`,
    "  const o = sys.fs.read('data', 'orders.json')",
    "  if (stock.get() === r.body && orders.get() === o) sys.abort('nothing new')",
    '  stock.set(r.body)',
    '  orders.set(o)',
    '}',
  ].join('\n')
  await writeFile(path, `---
title: Shop
effects:
  http: ['http://127.0.0.1:*']
  fs:
    data: { path: ./data }
---
# Shop

Reads the stock from the warehouse service and today's orders from a file. Each
read is an effect event on the timeline, linked to the step that used it.

\`\`\`ts #shop
${cell}
\`\`\`
`)
  await allowEffects(path)
  const server = await serveNotebook(path, ui)
  t.after(() => server.stop())
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(server.url)
  await page.locator('.code-cell .monaco-editor .view-lines').first().waitFor(WAIT)
  await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
  await page.locator('body').press('F8')

  // The read is under way (the server holds its answer): the timeline shows it pending after the live head.
  const pending = page.locator('.timeline[data-pending*="GET http://127.0.0.1:"]')
  await pending.waitFor({ state: 'attached', ...WAIT })
  const said = await pending.getAttribute('data-pending')
  assert.equal(said, `GET ${srv.url}/stock?api_key=[redacted]&item=7`)
  // (The read may wait two minutes: a loaded machine cannot make it give up before the test releases it.) One event and one read: the read's slot is the right half of the track.
  const canvas = (await page.locator('.tl-canvas').boundingBox())!
  const track = (await page.locator('.tl-label[data-branch="main"]').boundingBox())!
  await page.mouse.move(canvas.x + canvas.width * 0.8, track.y + track.height / 2)
  assert.match((await page.locator('.tl-readout').textContent())!, /^main · pending · reading GET http:\/\/127\.0\.0\.1:\d+\/stock\?api_key=\[redacted\]&item=7 for [\d.]+ s · the transaction that asked for it waits$/)
  assert.equal(srv.hits(), 1)
  const whilePending = await page.content()
  for (const secret of ['abc123', 'k-secret-9', 'qsecret42']) assert.ok(!whilePending.includes(secret), `${secret} is not in the page while the read is under way`)
  await page.locator('.run-pill', { hasText: 'api_key=[redacted]' }).waitFor(WAIT)
  await page.screenshot({ path: join(tmpdir(), 'loom-effects-pending.png'), animations: 'disabled' })
  srv.release()

  // Then: the code event, the http read, the file read, the step that used both.
  await page.locator('.timeline:not([data-pending]), .timeline[data-pending=""]').waitFor({ state: 'attached', ...WAIT })
  await page.locator('.run-pill[data-state="parked"]').first().waitFor(WAIT)
  const httpLine = new RegExp(`^GET ${srv.url.replace(/[.]/g, '\\.')}/stock\\?api_key=\\[redacted\\]&item=7 → 200 · \\d+(\\.\\d)? m?s$`)
  const readout2 = await hoverUntil(page, 'main', /· event 2 ·/)
  const block2 = /^main · event 2 · effect: (.*?) · used by event 4$/.exec(readout2)
  assert.ok(block2, readout2)
  assert.match(block2[1]!, httpLine)
  assert.match(await hoverUntil(page, 'main', /· event 3 ·/), /^main · event 3 · effect: read data:orders\.json → 62 B · \d+(\.\d)? m?s · used by event 4$/)

  // The Recent list says the same words.
  await page.locator('.insp-tab', { hasText: 'Recent' }).click()
  await page.locator('.event[data-seq="3"]').waitFor(WAIT)
  assert.equal(await page.locator('.event[data-seq="2"] .event-what').textContent(), block2[1])
  assert.match((await page.locator('.event[data-seq="3"] .event-what').textContent())!, /^read data:orders\.json → 62 B/)

  // Selecting the effect links it to the step that asked for it and used it; selecting the step links back to both reads.
  await hoverUntil(page, 'main', /· event 2 ·/)
  await page.mouse.down()
  await page.mouse.up()
  await page.locator('.timeline[data-selected-seq="2"][data-links="4"]').waitFor({ state: 'attached', ...WAIT })
  await page.locator('.insp-tab[data-tab="event"]').click()
  await page.locator('.ed-title[data-seq="2"]').waitFor(WAIT)
  assert.equal(await page.locator('.ed-effect').textContent(), block2[1])
  const usedBy = page.locator('.ed-effect-used .ed-effect-link')
  await usedBy.waitFor(WAIT)
  assert.equal(await usedBy.textContent(), 'event 4 · step()')

  // Its details: every credential blanked, the body an HTML-looking text shown as text, with its size.
  const details = page.locator('.event-details')
  const text = (await details.textContent())!
  assert.match(text, /authorization: \[redacted\]/)
  assert.match(text, /x-api-key: \[redacted\]/)
  assert.match(text, /set-cookie: \[redacted\]/)
  assert.match(text, /x-stock-version: 1/, 'other headers are shown')
  assert.equal(await details.locator('.ed-payload').first().textContent(), `<img src=x onerror="document.title='pwned'">stock 1`)
  assert.match((await details.locator('.ed-body-size').first().textContent())!, /^51 B$/)
  assert.equal(await details.locator('img').count(), 0, 'the body is never markup')
  await page.mouse.move(0, 0)
  await page.screenshot({ path: 'docs/effects.png', animations: 'disabled' })

  // The step's own details list the reads it used; its link goes back to the effect.
  await usedBy.click()
  await page.locator('.timeline[data-selected-seq="4"][data-links="3 2"]').waitFor({ state: 'attached', ...WAIT })
  await page.locator('.ed-effects-used .ed-effect-link', { hasText: 'event 2' }).waitFor(WAIT)

  // Refresh: back on the effect, the next read of that request asks the server again (an edit on the timeline).
  await page.locator('.ed-effects-used .ed-effect-link', { hasText: 'event 2' }).click()
  await page.locator('.ed-title[data-seq="2"]').waitFor(WAIT)
  await page.locator('.ed-refresh').click()
  await page.locator('.ed-refresh-said', { hasText: /^Refreshed at event 5: the next read of GET .* asks again\.$/ }).waitFor(WAIT)
  for (let i = 0; i < 300 && srv.hits() < 2; i++) await new Promise((r) => setTimeout(r, 50))
  assert.equal(srv.hits(), 2, 'the refreshed read reached the server again')
  await page.locator('.insp-tab', { hasText: 'Recent' }).click()
  await page.locator('.event[data-seq="7"]').waitFor(WAIT)
  assert.equal(await page.locator('.event[data-seq="5"] .event-what').textContent(), `refresh GET ${srv.url}/stock?api_key=[redacted]&item=7`)
  assert.match((await page.locator('.event[data-seq="6"] .event-what').textContent())!, httpLine)
  assert.match((await page.locator('.event[data-seq="7"] .event-what').textContent())!, /^wrote stock/)
  assert.match(await hoverUntil(page, 'main', /· event 5 ·/), /^main · event 5 · edit: refresh GET .* · refreshes event 2$/)

  // Nowhere in the page: not the token, the key, the query's secret nor the cookie; and the HTML never ran.
  const html = await page.content()
  for (const secret of ['abc123', 'k-secret-9', 'qsecret42', 'cookie-secret-7']) assert.ok(!html.includes(secret), `${secret} is not in the page`)
  assert.notEqual(await page.title(), 'pwned')
  assert.deepEqual(pageErrors, [])
})
