// An exploration in the window is a job a person can watch and stop: its
// progress says how many states and how fast, Stop ends it with what it
// found so far, and the app serves on — in a real `loom serve` driven in
// Debian's Chromium, and through the protocol's stopJob.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildUiOnce, CHROMIUM, launchChromium, serveNotebook } from './browser.ts'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient, ProtocolError } from '../engine/protocol/client.ts'
import { notebook } from './helpers.ts'

const WAIT = { timeout: 45_000 }
/** With LOOM_SHOTS=dir, pictures of the panel to look at. */
const SHOTS = process.env.LOOM_SHOTS
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

// Six counters, one moved per step, each step busy for a while: far more states than the window explores, slowly.
const SLOW = notebook({
  s: `const c = [0, 1, 2, 3, 4, 5].map((i) => state.var('c' + i, 0))
export function step() {
  const i = sys.fork(6)
  let spin = c.reduce((n, x) => n + x.get(), 0)
  for (let k = 0; k < 20000; k++) spin = (spin * 31 + k) % 1000003
  c[i]!.set(c[i]!.get() + 1 + (spin < 0 ? 1 : 0))
}`,
})

test('Stop ends a long exploration in the window with what it found so far; its progress gives states per second; the app serves on', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-explore-stop-'))
  const nb = join(dir, 'slow.loom.md')
  writeFileSync(nb, SLOW)
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveNotebook(nb, ui, dir)
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const client = new EngineClient(await connectEngine(`${server.origin.replace('http', 'ws')}/engine`, server.origin))
  try {
    await client.call('hello', { token: server.token })
    // A job that was never started cannot be stopped.
    await assert.rejects(client.call('stopJob', { job: 999 }), (err: unknown) => err instanceof ProtocolError && /there is no job 999/.test(err.error.message))

    await page.goto(server.url)
    await page.locator('.run-pill[data-state]').first().waitFor(WAIT)
    await page.locator('.insp-tab[data-tab="agent"]').click()
    await page.locator('.ag-depth').fill('50')
    await page.locator('.ag-explore-run').click()
    const stop = page.locator('.ag-explore-stop')
    await stop.waitFor({ state: 'visible', ...WAIT })
    await page.locator('.ag-explore-out', { hasText: /[\d,]+ states, depth \d+ · [\d,]+ states\/s/ }).waitFor(WAIT)
    if (SHOTS) mkdirSync(SHOTS, { recursive: true }), await page.screenshot({ path: join(SHOTS, 'explore-running.png') })
    await stop.click()
    const sum = page.locator('.ag-explore-sum')
    await sum.waitFor(WAIT)
    assert.match((await sum.textContent())!, /^[\d,]+ states, [\d,]+ transitions, depth \d+, stopped, as you asked: this is what it found so far\.$/)
    assert.equal(await stop.isVisible(), false, 'no Stop once it has stopped')
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'explore-stopped.png') })
    // The engine serves on: a step commits, and the panel explores again.
    const step = await client.call('step', {})
    assert.ok(step.event, 'the step committed')
    assert.deepEqual(errors, [])
  } finally {
    client.close()
    await page.close()
    await server.stop()
    await browser.close()
  }
})
