// A page that cannot read as fast as the app commits: it gets fewer, coarser
// `events` notices (saying what was skipped) instead of being disconnected,
// its requests are still answered, a page that keeps up gets every event,
// and pause takes effect under a flat-out run. Real `loom serve`, ws clients.
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import type { EventRecord, Message, Notice, SkippedEvents, Transport } from '../engine/protocol/messages.ts'
import { throttleEvents } from '../engine/host/throttleEvents.ts'
import { existsSync } from 'node:fs'
import { buildUiOnce, CHROMIUM, launchChromium, serveCopy } from './browser.ts'

const RENDERER = mkdtempSync(join(tmpdir(), 'loom-renderer-'))
writeFileSync(join(RENDERER, 'index.html'), '<!doctype html><title>Loom</title>\n')

const serving: ChildProcess[] = []
after(() => Promise.all(serving.map(stop)))

async function serve(notebook: string): Promise<{ url: string; ws: string; token: string }> {
  const child = spawn(process.execPath, ['bin/loom.js', 'serve', notebook, '--port', '0'], { env: { ...process.env, LOOM_RENDERER_DIR: RENDERER }, stdio: ['ignore', 'pipe', 'pipe'] })
  serving.push(child)
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const [url, token] = await new Promise<[string, string]>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)$/m.exec(out)
      if (m) resolve([m[1]!, m[2]!])
    })
    child.on('exit', (code) => reject(new Error(`loom serve ended (${code}) before serving: ${err}`)))
  })
  return { url, ws: `${url.replace('http:', 'ws:')}/engine`, token }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGINT')
  })
}

function copy(sample: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loom-slow-'))
  const path = join(dir, 'app.loom.md')
  copyFileSync(sample, path)
  return path
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await sleep(20)
  }
}

describe('a page that reads slowly under a flat-out counter', () => {
  const served = serve(copy('samples/counter.loom.md'))

  test('is not disconnected; reading again, it gets an events notice saying what was skipped, and its requests are answered', async () => {
    const { url, ws, token } = await served
    const main = new EngineClient(await connectEngine(ws, url))
    await main.call('hello', { token })
    // The slow page: a raw socket that stops reading once it has said hello.
    const slow = new WebSocket(ws, { origin: url })
    const received: Message[] = []
    let closed: string | null = null
    slow.on('message', (data) => received.push(JSON.parse(data.toString()) as Message))
    slow.on('close', (code, why) => (closed = `${code} ${why.toString()}`))
    await new Promise((r) => slow.once('open', r))
    slow.send(JSON.stringify({ kind: 'request', id: 1, op: 'hello', params: { token } }))
    await until('the slow page is greeted', () => received.some((m) => m.kind === 'response' && m.id === 1))
    const socket = (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket
    socket.pause()

    // What the page that reads sees is about what the slow one is sent: wait until that is more than the 64 MB that used to disconnect it.
    let bytes = 0
    main.on('events', (n) => (bytes += n.events.length ? JSON.stringify(n.events[0]).length * n.events.length : 0))
    const { head: start } = await main.call('status', {})
    await main.call('run', {})
    await until('72 MB of events have been sent', () => bytes > 72 * 1024 * 1024, 120_000)
    const paused = await main.call('pause', {})
    assert.equal(paused.state, 'paused')

    socket.resume()
    slow.send(JSON.stringify({ kind: 'request', id: 2, op: 'status', params: {} }))
    await until('the slow page is answered', () => received.some((m) => m.kind === 'response' && m.id === 2))
    await until('the slow page has the last event', () => lastSeq(received) === paused.head)
    assert.equal(closed, null, 'the slow page is still connected')
    const events = received.filter((m): m is Extract<Message, { kind: 'notice' }> & { notice: Extract<Notice, { type: 'events' }> } => m.kind === 'notice' && m.notice.type === 'events')
    const skipped = events.flatMap((m) => m.notice.skipped ?? [])
    assert.ok(skipped.length > 0, 'some notice says events were skipped')
    // Every event of the run was either received or counted as skipped, exactly once.
    const seqs = events.flatMap((m) => m.notice.events.map((e) => e.seq))
    assert.equal(new Set(seqs).size, seqs.length, 'no event twice')
    assert.equal(seqs.length + skipped.reduce((n, s) => n + s.count, 0), paused.head - start)
    for (const s of skipped) {
      assert.equal(s.branch, 'main')
      assert.ok(s.from > start && s.from <= s.to && s.to < paused.head, `a sensible range ${JSON.stringify(s)}`)
      assert.ok(!seqs.some((q) => q >= s.from && q <= s.to), `what was skipped (${s.from}..${s.to}) was not also sent`)
    }
    // And it goes on being answered.
    slow.send(JSON.stringify({ kind: 'request', id: 3, op: 'log', params: { from: paused.head, limit: 1 } }))
    await until('the slow page is answered again', () => received.some((m) => m.kind === 'response' && m.id === 3))
    slow.close()
    main.close()
  })

  test('pause under a flat-out run is answered and the head stops moving', async () => {
    const { url, ws, token } = await served
    const main = new EngineClient(await connectEngine(ws, url))
    await main.call('hello', { token })
    const { head: start } = await main.call('status', {})
    await main.call('run', {})
    await until('the app runs flat out', async () => (await main.call('status', {})).head > start + 50_000, 60_000)
    const paused = await main.call('pause', {})
    assert.equal(paused.state, 'paused')
    await sleep(300)
    const later = await main.call('status', {})
    assert.equal(later.head, paused.head, 'no event after pause answered')
    assert.equal(later.state, 'paused')
    main.close()
  })
})

test('a page that keeps up gets every event, with nothing said skipped', async () => {
  // About a millisecond of work per step: a rate every hop of the way can carry.
  const dir = mkdtempSync(join(tmpdir(), 'loom-slow-'))
  const path = join(dir, 'busy.loom.md')
  writeFileSync(path, [
    '# Busy', '', '```ts #busy', "const count = state.var('count', 0)", 'export function step() {',
    '  let x = 0', '  for (let i = 0; i < 300_000; i++) x += i % 7', '  count.set(count.get() + (x >= 0 ? 1 : 0))', '}', '```', '',
  ].join('\n'))
  const { url, ws, token } = await serve(path)
  const client = new EngineClient(await connectEngine(ws, url))
  const events: EventRecord[] = []
  const skipped: SkippedEvents[] = []
  client.on('events', (n) => {
    events.push(...n.events)
    skipped.push(...(n.skipped ?? []))
  })
  const { status } = await client.call('hello', { token })
  await client.call('run', {})
  await until('some events have come', () => events.length >= 300)
  const paused = await client.call('pause', {})
  await until('the last event has come', () => events.at(-1)?.seq === paused.head, 10_000)
  assert.deepEqual(skipped, [])
  assert.deepEqual(events.map((e) => e.seq), Array.from({ length: paused.head - status.head }, (_, i) => status.head + 1 + i))
  client.close()
})

/** The page's document, as far as the function run in it uses it (the tests type-check without the DOM). */
declare const document: { querySelector(s: string): { textContent: string | null } | null }

test('in a browser: a page that falls behind under a flat-out counter stays connected, says what it did not show, and F8 pauses', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async () => {
  const [ui, browser] = await Promise.all([buildUiOnce(), launchChromium()])
  const server = await serveCopy('samples/counter.loom.md', ui)
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.url)
    await page.locator('.run-pill[data-state]').first().waitFor({ timeout: 45_000 })
    // A key pressed while the page still settles can go unseen: press again until it runs.
    await until('the app runs', async () => {
      if (await page.locator('.run-pill[data-state="running"]').count()) return true
      await page.locator('body').press('F8')
      return page.locator('.run-pill[data-state="running"]').waitFor({ timeout: 5000 }).then(() => true, () => false)
    }, 45_000)
    // The page stops reading for a while (its script busy), as a page that cannot keep up does.
    await page.evaluate(() => {
      const end = Date.now() + 2500
      while (Date.now() < end);
    })
    await sleep(500)
    const pressed = Date.now()
    await page.locator('body').press('F8')
    await page.locator('.run-pill[data-state="paused"]').waitFor({ timeout: 45_000 })
    if (process.env.LOOM_SLOW_READER_TIMES) console.log(`page: F8 to paused shown in ${Date.now() - pressed} ms`)
    const terminal = page.locator('.dock-pane[data-tab="terminal"] .xterm-rows')
    await until('the terminal says what it did not show', async () => /is not shown live/.test((await terminal.textContent()) ?? ''), 20_000)
    assert.equal(await page.getByText('Reconnecting').count(), 0, 'never disconnected')
    // The head stays where pause left it, and the page's timeline reaches it.
    const url = server.origin
    const client = new EngineClient(await connectEngine(`${url.replace('http:', 'ws:')}/engine`, url))
    await client.call('hello', { token: server.token })
    const { head } = await client.call('status', {})
    await sleep(300)
    assert.equal((await client.call('status', {})).head, head)
    client.close()
    await until('the timeline shows the head', async () => (await page.evaluate(() => document.querySelector('.moment-label, .tl-moment')?.textContent ?? '')).includes(String(head)), 20_000)
    assert.deepEqual(errors, [])
    await page.close()
  } finally {
    await server.stop()
    await browser.close()
  }
})

describe('throttleEvents', () => {
  /** A carrier whose backlog the test sets. */
  function fake(): { transport: Transport; sent: Message[]; backlog: { bytes: number }; close(): void } {
    const sent: Message[] = []
    const backlog = { bytes: 0 }
    const closers: ((reason: string) => void)[] = []
    return {
      sent, backlog,
      transport: { send: (m) => void sent.push(m), onMessage: () => () => {}, onClose: (fn) => void closers.push(fn), close() {}, backlog: () => backlog.bytes },
      close: () => closers.forEach((fn) => fn('closed')),
    }
  }
  const ev = (branch: string, seq: number) => ({ branch, seq }) as EventRecord
  const events = (branch: string, from: number, to: number): Message => ({ kind: 'notice', notice: { type: 'events', events: Array.from({ length: to - from + 1 }, (_, i) => ev(branch, from + i)) } })

  test('passes everything through while the backlog is small', () => {
    const f = fake()
    const t = throttleEvents(f.transport, { softLimit: 100 })
    t.send(events('main', 1, 5))
    t.send({ kind: 'response', id: 1, ok: true, result: {} })
    assert.deepEqual(f.sent, [events('main', 1, 5), { kind: 'response', id: 1, ok: true, result: {} }])
  })

  test('holds events back over the limit, lets the rest through, then sends the last few and what was skipped', async () => {
    const f = fake()
    const t = throttleEvents(f.transport, { softLimit: 100, keep: 2 })
    f.backlog.bytes = 1000
    t.send(events('main', 1, 5))
    t.send({ kind: 'notice', notice: { type: 'events', events: [ev('fork', 3)], skipped: [{ branch: 'fork', count: 2, from: 1, to: 2 }] } })
    t.send(events('main', 6, 9))
    t.send({ kind: 'notice', notice: { type: 'tty', text: 'hi' } })
    t.send({ kind: 'response', id: 7, ok: true, result: {} })
    assert.deepEqual(f.sent.map((m) => m.kind === 'notice' ? m.notice.type : m.kind), ['tty', 'response'])
    await sleep(60)
    assert.equal(f.sent.length, 2, 'nothing more while the backlog stays')
    f.backlog.bytes = 0
    await sleep(60)
    assert.equal(f.sent.length, 3)
    assert.deepEqual(f.sent[2], { kind: 'notice', notice: { type: 'events', events: [ev('main', 8), ev('main', 9), ev('fork', 3)], skipped: [{ branch: 'main', count: 7, from: 1, to: 7 }, { branch: 'fork', count: 2, from: 1, to: 2 }] } })
    // Caught up: straight through again.
    t.send(events('main', 10, 10))
    assert.deepEqual(f.sent[3], events('main', 10, 10))
  })

  test('a connection that closes while holding stops looking', async () => {
    const f = fake()
    const t = throttleEvents(f.transport, { softLimit: 100 })
    f.backlog.bytes = 1000
    t.send(events('main', 1, 5))
    f.close()
    f.backlog.bytes = 0
    await sleep(60)
    assert.deepEqual(f.sent, [])
  })
})

function lastSeq(messages: Message[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.kind === 'notice' && m.notice.type === 'events' && m.notice.events.length) return m.notice.events.at(-1)!.seq
  }
  return 0
}
