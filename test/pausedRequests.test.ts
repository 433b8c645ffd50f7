// A person who pauses the app stops it: requests to its port wait, held and
// uncommitted, and are served in arrival order when it runs again (or one
// per Step); a request held past its deadline gets 503 with Retry-After and
// leaves no event. Real HTTP on loopback, to a host driven over the protocol.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EngineHost } from '../engine/host/EngineHost.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { serveHttp, type RunningServer } from '../engine/runtime/server.ts'
import { notebook } from './helpers.ts'
import { MAX_HELD, MAX_HELD_CHARS } from '../engine/runtime/httpRequests.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-paused-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** Each request appends its body to a list and answers 201 with the list's length. */
const CELLS = {
  api: "const names = state.var('names', [])\nexport function http(req) {\n  names.set([...names.get(), req.body])\n  return { status: 201, body: String(names.get().length) }\n}",
}

let made = 0
async function served(deadlineMs?: number): Promise<{ host: EngineHost; client: EngineClient; server: RunningServer; close(): Promise<void> }> {
  const nb = join(dir, `api-${++made}.loom.md`)
  writeFileSync(nb, notebook(CELLS))
  const host = await EngineHost.open({ notebook: nb })
  const [ui, engine] = memoryPair()
  host.connect(engine)
  const client = new EngineClient(ui)
  const server = await serveHttp({ request: (req, d, gone) => host.request(req, d, gone) }, { port: 0, ...(deadlineMs ? { deadlineMs } : {}) })
  return { host, client, server, async close() { await server.close(); client.close(); await host.close() } }
}

/** Polls the status (bounded) until `held` requests wait. */
async function untilHeld(client: EngineClient, held: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (((await client.call('status', {})).held ?? 0) === held) return
    await new Promise((r) => setTimeout(r, 25))
  }
  assert.fail(`the status never said ${held} requests wait`)
}

const post = (server: RunningServer, body: string) => fetch(`${server.url}/`, { method: 'POST', body })

test('while paused, requests wait uncommitted and the status counts them; Run serves them in arrival order', async () => {
  const { client, server, close } = await served()
  try {
    await client.call('run', {})
    assert.equal((await post(server, 'first')).status, 201, 'a running app answers at once')
    const paused = await client.call('pause', {})
    assert.equal(paused.state, 'paused')
    const head = paused.head
    const ann = post(server, 'ann')
    await untilHeld(client, 1)
    const bob = post(server, 'bob')
    await untilHeld(client, 2)
    assert.equal((await client.call('status', {})).head, head, 'nothing committed while paused')
    assert.equal((await client.call('log', {})).events.filter((e) => e.kind === 'http').length, 1)

    await client.call('run', {})
    const answers = await Promise.all([ann, bob])
    assert.deepEqual(await Promise.all(answers.map(async (a) => [a.status, await a.text()])), [[201, '2'], [201, '3']], 'served in arrival order')
    const events = (await client.call('log', {})).events.filter((e) => e.kind === 'http')
    assert.deepEqual(events.map((e) => (e.input as { body: string }).body), ['first', 'ann', 'bob'])
    assert.equal((await client.call('status', {})).held, undefined)
  } finally {
    await close()
  }
})

test('Step while requests are held serves the first of them as its one transaction; the rest keep waiting', async () => {
  const { client, server, close } = await served()
  try {
    await client.call('pause', {})
    const ann = post(server, 'ann')
    await untilHeld(client, 1)
    const bob = post(server, 'bob')
    await untilHeld(client, 2)
    const stepped = await client.call('step', {})
    assert.equal(stepped.event?.kind, 'http')
    assert.equal((stepped.event?.input as { body: string }).body, 'ann')
    assert.equal(stepped.status.state, 'paused')
    assert.equal((await ann).status, 201)
    await untilHeld(client, 1)
    await client.call('run', {})
    assert.equal(await (await bob).text(), '2')
  } finally {
    await close()
  }
})

test('a request held past its deadline gets 503 with Retry-After, saying the app is paused in Loom, and leaves no event', async () => {
  // A deadline long enough for a commit on a busy machine; the held request waits it out.
  const { client, server, close } = await served(2000)
  try {
    await client.call('run', {})
    assert.equal((await post(server, 'first')).status, 201)
    const { head } = await client.call('pause', {})
    const r = await post(server, 'late')
    assert.equal(r.status, 503)
    assert.equal(r.headers.get('retry-after'), '5')
    assert.match(await r.text(), /the app is paused in Loom .*nothing was committed for this request/)
    assert.equal((await client.call('status', {})).head, head)
    assert.equal((await client.call('status', {})).held, undefined, 'no longer counted')
    await client.call('run', {})
    assert.equal((await post(server, 'next')).status, 201)
    const bodies = (await client.call('log', {})).events.filter((e) => e.kind === 'http').map((e) => (e.input as { body: string }).body)
    assert.deepEqual(bodies, ['first', 'next'], 'the late request was never committed, not even after Run')
  } finally {
    await close()
  }
})

test('a held request whose client hangs up is dropped: not counted, and never committed when the app runs', async () => {
  const { client, server, close } = await served()
  try {
    await client.call('pause', {})
    const hangUp = new AbortController()
    const left = fetch(`${server.url}/`, { method: 'POST', body: 'left', signal: hangUp.signal }).catch(() => null)
    await untilHeld(client, 1)
    hangUp.abort()
    assert.equal(await left, null)
    await untilHeld(client, 0)
    await client.call('run', {})
    assert.equal(await (await post(server, 'stayed')).text(), '1', 'the dropped request changed nothing')
    const bodies = (await client.call('log', {})).events.filter((e) => e.kind === 'http').map((e) => (e.input as { body: string }).body)
    assert.deepEqual(bodies, ['stayed'])
  } finally {
    await close()
  }
})

test('held requests are answered 503 when Loom stops, nothing committed for them', async () => {
  const { host, client, server } = await served()
  await client.call('pause', {})
  const held = post(server, 'held')
  await untilHeld(client, 1)
  const closing = host.close()
  const r = await held
  await closing
  client.close()
  await server.close()
  assert.equal(r.status, 503)
  assert.match(await r.text(), /paused in Loom \(Loom is stopping\)/)
})

test('a paused port holds at most MAX_HELD requests: the next is answered 503 with Retry-After at once, and Run serves every held one', async () => {
  const { client, server, close } = await served()
  try {
    await client.call('pause', {})
    const held = Array.from({ length: MAX_HELD }, (_, i) => post(server, `r${i}`))
    await untilHeld(client, MAX_HELD)
    const over = await post(server, 'one too many')
    assert.equal(over.status, 503)
    assert.equal(over.headers.get('retry-after'), '5')
    assert.match(await over.text(), /paused in Loom \(1000 requests already wait, as many as it holds\); nothing was committed/)
    await client.call('run', {})
    const answers = await Promise.all(held)
    assert.deepEqual(answers.map((a) => a.status), answers.map(() => 201))
    assert.equal((await client.call('status', {})).head, 1 + MAX_HELD, 'the code event, then each held request')
  } finally {
    await close()
  }
})

test('a paused port holds at most MAX_HELD_CHARS of request bodies: a large request past them is answered 503 at once', async () => {
  const { client, server, close } = await served()
  try {
    await client.call('pause', {})
    const big = 'x'.repeat(1_048_000)
    const fits = Math.floor(MAX_HELD_CHARS / big.length)
    const held = Array.from({ length: fits }, () => post(server, big).catch(() => null))
    await untilHeld(client, fits)
    const over = await post(server, big)
    assert.equal(over.status, 503)
    assert.match(await over.text(), new RegExp(`\\(${fits} requests already wait`))
    assert.equal((await client.call('status', {})).held, fits)
    void held
  } finally {
    await close()
  }
})
