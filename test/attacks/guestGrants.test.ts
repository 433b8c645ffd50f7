// A guest cannot grant themselves the owner's files or network. The front
// matter says what a notebook's effects may reach (DESIGN §3a); in a shared
// session it is the owner's. An edit guest tries to widen it through each
// door a guest has — the engine protocol (editNotebook, addCell; claiming
// asGuest: false) and the shared document (typing in the front block,
// putting a new one on top) — against a real `loom serve --share`.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { connectEngine } from '../../engine/host/socketTransport.ts'
import { EngineClient, ProtocolError } from '../../engine/protocol/client.ts'
import { cellsOf, notebookText } from '../../engine/share/notebookDoc.ts'
import { notebook } from '../helpers.ts'
import { emptyRenderer, honest, serveShared, until, type SharedServe } from './sharedServe.ts'

const FRONT = `effects:\n  fs:\n    data: { path: ./data }`
const WIDER = `effects:\n  fs:\n    data: { path: ./data, write: true }\n    home: { path: / }\n  http: ['http://127.0.0.1:*']`
const CELLS = { s: "const n = state.var('n', 0)\nexport function step() {\n  n.set(n.get() + 1)\n}" }

const dir = mkdtempSync(join(tmpdir(), 'loom-guest-grants-'))
const file = join(dir, 'grants.loom.md')
writeFileSync(file, notebook(CELLS, FRONT))
let s: SharedServe
const clients: EngineClient[] = []
after(async () => {
  for (const c of clients) c.close()
  await s?.stop()
})

async function as(token: string, port: number): Promise<EngineClient> {
  const c = new EngineClient(await connectEngine(`ws://127.0.0.1:${port}/engine`, `http://127.0.0.1:${port}`))
  clients.push(c)
  await c.call('hello', { token })
  return c
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (err instanceof ProtocolError) return err.error.message
    throw err
  }
  throw new Error('the request was not refused')
}

const runningFront = async (owner: EngineClient) => (await owner.call('notebook', {})).text.split('\n---\n')[0]

test('an edit guest cannot widen the grants through the engine protocol, even claiming not to be a guest; edits that keep them work', async () => {
  s = await serveShared(file, emptyRenderer())
  const owner = await as(s.owner, s.ownerPort)
  const guest = await as(s.tokens.edit, s.guestPort)
  const before = (await owner.call('notebook', {})).text
  const wider = notebook(CELLS, WIDER)
  for (const asGuest of [undefined, false]) {
    const message = await refusal(guest.call('editNotebook', { text: wider, ...(asGuest === undefined ? {} : { asGuest }) }))
    assert.match(message, /the front matter .* is the owner's: a guest's edit may not change it/)
  }
  assert.equal((await owner.call('notebook', {})).text, before, 'the running notebook is the owner’s')
  // Taking the front matter away is a change too (and on a notebook with none, a prose cell on top would make one).
  assert.match(await refusal(guest.call('editNotebook', { text: notebook(CELLS) })), /is the owner's/)
  // A guest's edit that leaves the front matter alone is taken.
  const edited = before.replace('n.get() + 1', 'n.get() + 2')
  const r = await guest.call('editNotebook', { text: edited })
  assert.equal(r.ok, true)
  assert.equal((await owner.call('notebook', {})).text, edited)
  // The owner may change it.
  const mine = await owner.call('editNotebook', { text: notebook(CELLS, `${FRONT}\n  http: ['http://127.0.0.1:*']`) })
  assert.equal(mine.ok, true)
  assert.match(await runningFront(owner), /http: \['http:\/\/127\.0\.0\.1:\*'\]/)
  await honest(s)
})

test('an edit guest who types new grants into the shared document has them put back and is told; the engine never runs them', async () => {
  const owner = await as(s.owner, s.ownerPort)
  const granted = await runningFront(owner)
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`ws://127.0.0.1:${s.guestPort}/sync`, 'notebook', doc, { params: { token: s.tokens.edit }, disableBc: true, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
  try {
    await until('the guest has synced', () => provider.synced && cellsOf(doc).length > 0)
    const front = cellsOf(doc).toArray().find((m) => m.get('kind') === 'front')!.get('text') as Y.Text
    // Typing in the front block.
    front.insert(front.toString().indexOf('effects:') + 'effects:'.length, "\n  fs:\n    home: { path: /, write: true }")
    await until('the host put the front matter back', () => notebookText(doc).startsWith(granted + '\n---\n') && !/home:/.test(notebookText(doc)))
    await until('the owner is told', () => /put back the front matter that .* changed in the shared notebook/.test(s.stderr()))
    // A block of its own on top, before the front matter.
    const top = new Y.Map<unknown>()
    top.set('id', 'prose-evil')
    top.set('kind', 'prose')
    top.set('text', new Y.Text(`---\n${WIDER}\n---\n`))
    cellsOf(doc).insert(0, [top])
    await until('the host put its own front matter first again', () => notebookText(doc).startsWith(granted + '\n---\n'))
    // An honest edit afterwards still reaches the running app, with the owner's grants.
    const code = cellsOf(doc).toArray().find((m) => m.get('kind') === 'code')!.get('text') as Y.Text
    code.insert(0, '// honest\n')
    await until('the honest edit is running', async () => (await owner.call('notebook', {})).text.includes('// honest'))
    const running = (await owner.call('notebook', {})).text
    assert.equal(running.split('\n---\n')[0], granted)
    assert.doesNotMatch(running, /home: \{ path: \//)
  } finally {
    provider.destroy()
    provider.awareness.destroy()
  }
  assert.ok(s.alive())
  await honest(s)
})

test("only the owner is asked to allow the notebook's grants, and only the owner can: a guest of any role is refused", async () => {
  const owner = await as(s.owner, s.ownerPort)
  for (const role of ['view', 'edit', 'run'] as const) {
    const guest = await as(s.tokens[role], s.guestPort)
    for (const op of ['effectsToAllow', 'allowEffects'] as const) assert.match(await refusal(guest.call(op, {})), /owner/, `${role}: ${op}`)
  }
  const asked = await owner.call('effectsToAllow', {})
  assert.ok(asked.what?.some((w) => /^reads files in .*\/data \(the root 'data'\)$/.test(w)), JSON.stringify(asked))
  assert.deepEqual((await owner.call('allowEffects', {})).what, asked.what)
  assert.deepEqual(await owner.call('effectsToAllow', {}), { what: null })
  assert.ok(s.alive())
})
