// A local attacker (another process or user on the machine, or a page that
// rebinds a name to 127.0.0.1) reaches `loom serve`'s /engine with the right
// Origin: without the owner's token it is turned away and its socket closed
// before anything it sends is handled. Real `loom serve`, real WebSockets.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { serveNotebook, type Serving } from '../browser.ts'

// A UI of one file: these tests speak to the engine only.
const ui = mkdtempSync(join(tmpdir(), 'loom-attack-ui-'))
writeFileSync(join(ui, 'index.html'), '<!doctype html><title>Loom</title>\n')
const dir = mkdtempSync(join(tmpdir(), 'loom-attack-'))
const notebook = join(dir, 'bank.loom.md')
copyFileSync('samples/bank.loom.md', notebook)
const original = readFileSync(notebook, 'utf8')

let server: Serving
before(async () => {
  server = await serveNotebook(notebook, ui, dir)
})
after(() => server?.stop())

interface Visit {
  /** Every message the server sent, in order. */
  received: { kind?: string; id?: number; ok?: boolean; error?: { message: string } }[]
  /** The close code, once closed. */
  closed: Promise<number>
}

/** Opens /engine as the served page's origin would, and sends `frames` as soon as it is open. */
async function visit(frames: unknown[]): Promise<Visit> {
  const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/engine`, { origin: server.origin })
  const received: Visit['received'] = []
  ws.on('message', (d) => received.push(JSON.parse(d.toString())))
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  for (const f of frames) ws.send(JSON.stringify(f))
  return { received, closed }
}

const request = (id: number, op: string, params: unknown = {}) => ({ kind: 'request', id, op, params })

test('the printed address carries a token of 192 random bits', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/)
})

for (const [what, hello, why] of [
  ['no token', {}, /address loom serve printed/],
  ['a wrong token of the right length', { token: 'A'.repeat(32) }, /not valid/],
  ['a token one character short', null, /not valid/],
  ['a much longer token', { token: 'A'.repeat(10_000) }, /not valid/],
  ['a token that is not a string', { token: 42 }, /'token' must be a string/],
] as const) {
  test(`hello with ${what} is refused, saying why, and the socket is closed before the next message is handled`, async () => {
    const params = what === 'a token one character short' ? { token: server.token.slice(0, -1) } : hello
    const v = await visit([request(1, 'hello', params), request(2, 'editCell', { cell: 'step', source: 'export function step() { sys.halt() }' }), request(3, 'run')])
    assert.equal(await v.closed, 1000)
    assert.equal(v.received.length, 1, `one answer, the refusal: ${JSON.stringify(v.received)}`)
    assert.equal(v.received[0]!.id, 1)
    assert.equal(v.received[0]!.ok, false)
    assert.match(v.received[0]!.error!.message, why)
    assert.equal(readFileSync(notebook, 'utf8'), original, 'the notebook is untouched')
  })
}

test('a first message other than hello (an edit, a run) is refused and the socket closed: nothing reaches the engine', async () => {
  const v = await visit([request(1, 'editCell', { cell: 'step', source: 'export function step() { sys.halt() }' }), request(2, 'hello', { token: server.token })])
  assert.equal(await v.closed, 1000)
  assert.equal(v.received.length, 1, JSON.stringify(v.received))
  assert.match(v.received[0]!.error!.message, /say hello with the token/)
  assert.equal(readFileSync(notebook, 'utf8'), original)
  const garbled = await visit([{ kind: 'notice', notice: { type: 'status' } }])
  assert.equal(await garbled.closed, 1000)
  assert.match(garbled.received[0]!.error!.message, /requests only/)
})

test('a client without the page\'s Origin cannot even open the socket', async () => {
  const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/engine`, { origin: 'http://evil.example' })
  const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!)))
  assert.equal(status, 403)
})

test('the owner\'s token opens the engine: hello and requests are answered', async () => {
  const v = await visit([request(1, 'hello', { token: server.token, client: 'test' }), request(2, 'status')])
  const until = Date.now() + 20_000
  while (!v.received.some((m) => m.id === 2)) {
    if (Date.now() > until) throw new Error(`no answer to status: ${JSON.stringify(v.received)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.equal(v.received.find((m) => m.id === 1)?.ok, true)
  assert.equal(v.received.find((m) => m.id === 2)?.ok, true)
})
