// A shared session whose `loom serve` is killed (kill -9) while the app runs,
// then started again on the same ports: the old pages are not left guessing.
// Both see the connection lost, then that their link's token is no longer
// valid — the guest is told to ask for a new link, the owner to open the
// address loom serve printed (it makes new tokens each start) — and every
// event either page was shown is in the log, which verifies. A real
// `loom serve --share` in Chromium.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import type { Page } from 'playwright-core'
import { buildUiOnce, CHROMIUM, freePort, inviteLink, launchChromium, serveNotebook } from './browser.ts'
import { notebook } from './helpers.ts'

declare const document: { querySelector(s: string): { getAttribute(name: string): string | null } | null }

const WAIT = { timeout: 45_000 }
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`


const headOf = async (page: Page) => Number(await page.locator('[data-head]').first().getAttribute('data-head'))

test('loom serve --share killed and restarted: owner and guest pages say their token is stale and what to do; nothing they saw is lost', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-share-restart-'))
  const nb = join(dir, 'tick.loom.md')
  writeFileSync(nb, notebook({ tick: "const n = state.var('n', 0)\nconst next = state.var('next', 0)\nexport function step() {\n  sys.time.await(next.get())\n  n.set(n.get() + 1)\n  next.set(sys.time.now() + 100)\n}" }))
  const db = join(dir, 'tick.loom.db')
  const [port, sharePort] = await Promise.all([freePort(), freePort()])
  const args = ['--share', '--port', String(port), '--share-port', String(sharePort)]
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  let server = await serveNotebook(nb, ui, undefined, args)
  const open = async (url: string) => {
    const page = await (await browser.newContext({ viewport: { width: 1300, height: 800 } })).newPage()
    await page.goto(url)
    await page.locator('.code-cell').first().waitFor(WAIT)
    return page
  }
  try {
    const owner = await open(server.url)
    const guest = await open(await inviteLink(server, 'edit'))
    await owner.keyboard.press('F8')
    await guest.waitForFunction(() => Number(document.querySelector('[data-head]')?.getAttribute('data-head')) >= 5, null, WAIT)

    // kill -9 of loom serve (the lock names it), mid-run.
    const { pid } = JSON.parse(readFileSync(`${db}.lock`, 'utf8')) as { pid: number }
    process.kill(pid, 'SIGKILL')
    for (const page of [owner, guest]) await page.locator('.banner[data-banner="link"]', { hasText: 'The connection to the engine was lost' }).waitFor(WAIT)
    const seen = Math.max(await headOf(owner), await headOf(guest))
    await server.stop()

    server = await serveNotebook(nb, ui, dir, args)
    // Each old page reconnects with its old token: it is told that, and what to do, not left reconnecting or looking live.
    for (const page of [owner, guest]) await page.locator('.link-state[data-state="refused"]', { hasText: 'Not let in' }).waitFor(WAIT)
    const said = async (page: Page) => (await page.locator('.banner[data-banner="link"] .banner-detail').textContent())!
    assert.match(await said(guest), /not valid for this session .*ask the person who shares it for a new link/)
    assert.match(await said(owner), /if you started it, open the address it printed/)

    // Nothing either page was shown is lost: the log has it, and it verifies.
    const verify = spawnSync(process.execPath, ['bin/loom.js', 'replay', db, '--verify'], { encoding: 'utf8', timeout: 120_000 })
    assert.equal(verify.status, 0, verify.stdout + verify.stderr)
    const replayed = Number(/replayed (\d+) events/.exec(verify.stdout + verify.stderr)?.[1])
    assert.ok(replayed >= seen, `the log has ${replayed} events; the pages were shown ${seen}`)
    // The new address lets the owner in again, at that history.
    const again = await open(server.url)
    await again.waitForFunction((n) => Number(document.querySelector('[data-head]')?.getAttribute('data-head')) >= n, seen, WAIT)
  } finally {
    await server.stop()
    await browser.close()
  }
})
