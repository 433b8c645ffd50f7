// A shared session against a real `serve({ share })` (engine in its child
// process, y-websocket server on port 0) with real y-websocket providers
// over `ws`: typing travels, concurrent and offline edits converge, roles
// hold on both connections, and bad input leaves the document whole.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Server } from 'node:http'
import WebSocket, { WebSocketServer } from 'ws'
import { docs, setupWSConnection } from '@y/websocket-server/utils'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { serve, type Serving } from '../engine/host/serve.ts'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient, ProtocolError } from '../engine/protocol/client.ts'
import type { Notice } from '../engine/protocol/messages.ts'
import { cellsOf, notebookText, readCells } from '../engine/share/notebookDoc.ts'
import { seededRandom as random } from './helpers.ts'

const RENDERER = mkdtempSync(join(tmpdir(), 'loom-renderer-'))
writeFileSync(join(RENDERER, 'index.html'), '<!doctype html><title>Loom</title>\n')

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

interface Guest {
  doc: Y.Doc
  provider: WebsocketProvider
  text(cell: string): Y.Text
}

function guest(s: Serving, token: string, name: string): Guest {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`ws://127.0.0.1:${s.share!.port}/sync`, 'notebook', doc, { params: { token }, disableBc: true, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
  provider.awareness.setLocalStateField('name', name)
  return {
    doc,
    provider,
    text: (cell) => cellsOf(doc).toArray().find((m) => m.get('id') === cell)!.get('text') as Y.Text,
  }
}

async function synced(g: Guest): Promise<void> {
  await until('the guest has synced', () => g.provider.synced && cellsOf(g.doc).length > 0)
}

const same = (docs: Y.Doc[]) => docs.every((d) => notebookText(d) === notebookText(docs[0]!))


/** The owner's own connection to the engine (what the owner's page does): the running notebook's text, and Save. */
async function ownerOf(s: Serving): Promise<EngineClient> {
  const owner = new EngineClient(await connectEngine(`ws://127.0.0.1:${s.port}/engine`, `http://127.0.0.1:${s.port}`))
  await owner.call('hello', { token: s.share!.tokens.owner })
  return owner
}

describe('a shared session', () => {
  let s: Serving
  let path: string
  let original: string
  let owner: EngineClient
  const running = async () => (await owner.call('notebook', {})).text
  const guests: Guest[] = []
  const enter = (role: 'view' | 'edit' | 'run', name: string) => {
    const g = guest(s, s.share!.tokens[role], name)
    guests.push(g)
    return g
  }
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-share-'))
    path = join(dir, 'counter.loom.md')
    writeFileSync(path, readFileSync('samples/counter.loom.md', 'utf8'))
    original = readFileSync(path, 'utf8')
    s = await serve({ notebook: path, port: 0, rendererDir: RENDERER, share: { host: '127.0.0.1', debounceMs: 50 } })
    owner = await ownerOf(s)
  })
  after(async () => {
    owner.close()
    // A guest's awareness keeps a timer until its document is destroyed too.
    for (const g of guests) {
      g.provider.destroy()
      g.doc.destroy()
    }
    await s.close()
  })

  test('the document holds the notebook as loaded, and the owner gets the owner link, not a guest’s', () => {
    assert.equal(notebookText(s.share!.doc), readFileSync(path, 'utf8'))
    assert.match(s.url, new RegExp(`token=${s.share!.tokens.owner}$`))
    assert.equal(s.token, s.share!.tokens.owner)
    assert.deepEqual(Object.keys(s.share!.invites), ['view', 'edit', 'run'])
    for (const role of ['view', 'edit', 'run'] as const) assert.match(s.share!.invites[role], new RegExp(`token=${s.share!.tokens[role]}`))
  })

  test('typing in one guest appears in the others and in the running notebook; the file on disk changes only when the owner saves', async () => {
    const a = enter('edit', 'Ada')
    const b = enter('edit', 'Bo')
    const c = enter('view', 'Cy')
    await Promise.all([a, b, c].map(synced))
    const cell = readCells(a.doc).find((x) => x.kind === 'code')!.id
    a.text(cell).insert(0, '// hello from Ada\n')
    await until('everyone sees it', () => [b, c].every((g) => g.text(cell).toString().startsWith('// hello from Ada\n')))
    await until('the running notebook has it', async () => (await running()) === notebookText(s.share!.doc))
    assert.equal(readFileSync(path, 'utf8'), original, 'a guest’s edit does not write the host’s file')
    // Save writes a file on the host's machine: the owner's, not an edit guest's.
    const editor = new EngineClient(await connectEngine(`ws://127.0.0.1:${s.share!.port}/engine`, `http://127.0.0.1:${s.share!.port}`))
    await editor.call('hello', { token: s.share!.tokens.edit })
    await assert.rejects(editor.call('save', {}), (e: ProtocolError) => e.code === 'refused' && /edit link.*save needs an owner link/.test(e.message))
    editor.close()
    assert.equal(readFileSync(path, 'utf8'), original)
    await owner.call('save', {})
    assert.equal(readFileSync(path, 'utf8'), notebookText(s.share!.doc))
  })

  test('a guest’s hello and notebook name the notebook by its file name, never the host’s folders', async () => {
    const page = new EngineClient(await connectEngine(`ws://127.0.0.1:${s.share!.port}/engine`, `http://127.0.0.1:${s.share!.port}`))
    const hello = await page.call('hello', { token: s.share!.tokens.edit })
    assert.equal(hello.notebook.path, 'counter.loom.md')
    assert.ok(!JSON.stringify(hello).includes(tmpdir()), 'no absolute path of the host in a guest’s hello')
    assert.ok(!JSON.stringify(await page.call('notebook', {})).includes(tmpdir()))
    page.close()
    // The owner sees where the file is.
    assert.equal((await owner.call('notebook', {})).path, path)
  })

  test('a compile error is shown to everyone with who last changed that line', async () => {
    const ada = enter('edit', 'Ada')
    const viv = enter('view', 'Viv')
    await Promise.all([ada, viv].map(synced))
    const cell = readCells(ada.doc).filter((x) => x.kind === 'code').at(-1)!.id
    const t = ada.text(cell)
    t.insert(t.length, '\nconst broken: number = ')
    type Host = { loomHost?: { problems: { author: string | null; where?: { cell?: string } }[] } }
    const hostProblems = () => [...viv.provider.awareness.getStates().values()].map((st) => (st as Host).loomHost?.problems ?? []).flat()
    await until('the viewer sees the problem and who made it', () => hostProblems().some((p) => p.author === 'Ada' && p.where?.cell === cell))
    assert.ok(!JSON.stringify(hostProblems()).includes(tmpdir()), 'the host’s presence names the notebook by its file name only')
    t.delete(t.length - '\nconst broken: number = '.length, '\nconst broken: number = '.length)
    await until('the problem is gone for everyone', () => hostProblems().length === 0)
  })

  test('concurrent edits to the same cell converge everywhere', async () => {
    const a = enter('edit', 'Ada')
    const b = enter('run', 'Bo')
    await Promise.all([a, b].map(synced))
    const cell = readCells(a.doc).find((x) => x.kind === 'code')!.id
    a.text(cell).insert(0, '// A1\n')
    b.text(cell).insert(0, '// B1\n')
    a.text(cell).insert(a.text(cell).length, '\n// A2')
    b.text(cell).insert(b.text(cell).length, '\n// B2')
    await until('the documents agree', () => same([a.doc, b.doc, s.share!.doc]) && notebookText(a.doc).includes('// A2') && notebookText(a.doc).includes('// B2'))
  })

  test('a guest cut off edits, comes back: nothing is lost and all documents are equal', async () => {
    const a = enter('edit', 'Ada')
    const b = enter('edit', 'Bo')
    await Promise.all([a, b].map(synced))
    const cell = readCells(a.doc).find((x) => x.kind === 'prose')!.id
    a.provider.disconnect()
    a.text(cell).insert(0, 'offline words. ')
    b.text(cell).insert(0, 'online words. ')
    await until('Bo’s edit reached the host', () => s.share!.doc.getArray('cells').toJSON().some((m: { text?: string }) => m.text?.includes('online words')))
    a.provider.connect()
    await until('both edits are everywhere', () => same([a.doc, b.doc, s.share!.doc]) && notebookText(s.share!.doc).includes('offline words. ') && notebookText(s.share!.doc).includes('online words. '))
    await until('the running notebook has both', async () => (await running()) === notebookText(s.share!.doc))
  })

  test('seeded fuzz: random edits, disconnects and reconnects converge, and the saved file equals the document', async () => {
    const rnd = random(42)
    const peers = Array.from({ length: 5 }, (_, i) => enter('edit', `fuzz-${i}`))
    await Promise.all(peers.map(synced))
    const ids = readCells(peers[0]!.doc).filter((c) => c.kind !== 'front').map((c) => c.id)
    for (let round = 0; round < 120; round++) {
      const p = peers[Math.floor(rnd() * peers.length)]!
      const r = rnd()
      if (r < 0.08) p.provider.disconnect()
      else if (r < 0.2) p.provider.connect()
      else {
        const t = p.text(ids[Math.floor(rnd() * ids.length)]!)
        if (rnd() < 0.7 || t.length === 0) t.insert(Math.floor(rnd() * (t.length + 1)), ['x', ' y', '\n// z', 'ü'][Math.floor(rnd() * 4)]!)
        else {
          const at = Math.floor(rnd() * t.length)
          t.delete(at, Math.min(1 + Math.floor(rnd() * 3), t.length - at))
        }
      }
      if (round % 10 === 0) await new Promise((r) => setTimeout(r, 5))
    }
    for (const p of peers) p.provider.connect()
    await until('all peers converge', () => same([...peers.map((p) => p.doc), s.share!.doc]), 20_000)
    await s.share!.host.flush()
    // The fuzz may well write code that does not compile; the engine still keeps what people typed, and Save writes it.
    assert.equal(await running(), notebookText(s.share!.doc))
    await owner.call('save', {})
    assert.equal(readFileSync(path, 'utf8'), notebookText(s.share!.doc))
  })

  test('a view guest’s edits do not reach anyone', async () => {
    const v = enter('view', 'Viv')
    const e = enter('edit', 'Ed')
    await Promise.all([v, e].map(synced))
    const cell = readCells(v.doc).find((x) => x.kind === 'prose')!.id
    const before = s.share!.doc.getArray('cells').toJSON()
    v.text(cell).insert(0, 'VIEWER WAS HERE ')
    e.text(cell).insert(0, 'editor was here ')
    await until('the editor’s edit arrived', () => notebookText(s.share!.doc).includes('editor was here'))
    assert.ok(!notebookText(s.share!.doc).includes('VIEWER'))
    assert.ok(!notebookText(e.doc).includes('VIEWER'))
    assert.notDeepEqual(before, s.share!.doc.getArray('cells').toJSON())
  })

  test('the engine protocol: no token, a wrong token, and a view token are refused saying why; a run guest steps and everyone sees the event', async () => {
    const origin = `http://127.0.0.1:${s.share!.port}`
    const url = `ws://127.0.0.1:${s.share!.port}/engine`
    // Each refusal before a good hello also closes the connection.
    const turnedAway = async (url: string, origin: string, ask: (c: EngineClient) => Promise<unknown>, why: RegExp) => {
      const transport = await connectEngine(url, origin)
      const closed = new Promise<void>((resolve) => transport.onClose(() => resolve()))
      await assert.rejects(ask(new EngineClient(transport)), (e: ProtocolError) => why.test(e.message))
      await closed
    }
    await turnedAway(url, origin, (c) => c.call('status', {}), /say hello with the token/)
    await turnedAway(url, origin, (c) => c.call('hello', {}), /invite link/)
    await turnedAway(url, origin, (c) => c.call('hello', { token: 'nope' }), /not valid/)
    await turnedAway(url, origin, (c) => c.call('step', {}), /say hello/)
    const viewer = new EngineClient(await connectEngine(url, origin))
    const seen: Notice[] = []
    viewer.on('events', (n) => seen.push(n))
    await viewer.call('hello', { token: s.share!.tokens.view })
    await viewer.call('status', {})
    await assert.rejects(viewer.call('step', {}), (e: ProtocolError) => /view link.*step needs a run link/.test(e.message))
    await assert.rejects(viewer.call('editCell', { cell: 'x', source: '' }), /view link, which can .*; editCell needs an edit link/)
    const runner = new EngineClient(await connectEngine(url, origin))
    await runner.call('hello', { token: s.share!.tokens.run })
    const stepped = await runner.call('step', {})
    assert.ok(stepped.event)
    await until('the viewer saw the event', () => seen.some((n) => n.type === 'events' && n.events.some((e) => e.seq === stepped.event!.seq)))
    // The local page needs the token too (the owner's), and a guest's works there as well.
    const local = [`ws://127.0.0.1:${s.port}/engine`, `http://127.0.0.1:${s.port}`] as const
    await turnedAway(...local, (c) => c.call('hello', {}), /invite link/)
    const owner = new EngineClient(await connectEngine(...local))
    await owner.call('hello', { token: s.share!.tokens.owner })
    for (const c of [viewer, runner, owner]) c.close()
  })

  test('a cell edited through the engine protocol during a share reaches everyone’s document, and what is typed next keeps it', async () => {
    const g = enter('edit', 'Gus')
    await synced(g)
    const cell = readCells(g.doc).find((x) => x.kind === 'code')!.id
    const runner = new EngineClient(await connectEngine(`ws://127.0.0.1:${s.share!.port}/engine`, `http://127.0.0.1:${s.share!.port}`))
    await runner.call('hello', { token: s.share!.tokens.run })
    const source = readCells(s.share!.doc).find((x) => x.id === cell)!.source
    // (The fuzz before may have left code that does not compile: the engine keeps the text all the same.)
    await runner.call('editCell', { cell, source: `// through the engine\n${source}` })
    await until('the guest’s document has the engine-side edit', () => g.text(cell).toString().startsWith('// through the engine\n'))
    // Someone types elsewhere afterwards: the running notebook keeps both.
    const prose = readCells(g.doc).find((x) => x.kind === 'prose')!.id
    g.text(prose).insert(0, 'typed after. ')
    await until('the running notebook has both', async () => {
      const text = await running()
      return text.includes('// through the engine\n') && text.includes('typed after. ')
    })
    assert.equal(await running(), notebookText(s.share!.doc))
    runner.close()
  })

  test('bad input: garbled, oversized, wrong token and a flood of connections leave the server up and the document whole', async () => {
    const base = `ws://127.0.0.1:${s.share!.port}/sync/notebook`
    const text = notebookText(s.share!.doc)
    const opened = (ws: WebSocket) => new Promise<void>((ok, fail) => (ws.once('open', () => ok()), ws.once('error', fail)))
    const closed = (ws: WebSocket) => new Promise<number>((ok) => ws.once('close', (code) => ok(code)))
    // Wrong token: refused at the door.
    const wrong = new WebSocket(`${base}?token=wrong`)
    const status = await new Promise<number>((ok) => (wrong.once('unexpected-response', (_q, res) => ok(res.statusCode ?? 0)), wrong.once('error', () => {})))
    assert.equal(status, 401)
    // Garbled: an update message whose payload is junk.
    const g = new WebSocket(`${base}?token=${s.share!.tokens.edit}`)
    await opened(g)
    const gc = closed(g)
    g.send(Uint8Array.from([0, 2, 5, 255, 254, 253, 252, 251]))
    assert.equal(await gc, 1007)
    // Oversized: more than the server reads.
    const o = new WebSocket(`${base}?token=${s.share!.tokens.edit}`)
    await opened(o)
    const oc = closed(o)
    o.send(new Uint8Array(5 * 1024 * 1024))
    assert.equal(await oc, 1009)
    // A flood: more connections than the server takes; the extra ones are refused, the rest closed.
    const flood = Array.from({ length: 230 }, () => new WebSocket(`${base}?token=${s.share!.tokens.view}`))
    const results = await Promise.all(flood.map((ws) => new Promise<string>((ok) => (ws.once('open', () => ok('open')), ws.once('unexpected-response', (_q, res) => ok(String(res.statusCode))), ws.once('error', () => ok('error'))))))
    assert.ok(results.includes('503'))
    for (const ws of flood) ws.terminate()
    assert.equal(notebookText(s.share!.doc), text)
    // Still serving: a new guest syncs.
    await until('the flood is gone', () => s.share!.server!.peers.size < 50)
    const after = enter('edit', 'After')
    await synced(after)
    assert.equal(notebookText(after.doc), notebookText(s.share!.doc))
  })
})

describe('a shared session on a y-websocket server elsewhere (--sync)', () => {
  let external: Server
  let wss: WebSocketServer
  let syncUrl: string
  let s: Serving
  let path: string
  let guestDoc: Y.Doc | null = null
  let provider: WebsocketProvider | null = null
  before(async () => {
    // A plain @y/websocket-server, as someone would run it elsewhere: no tokens, rooms by path.
    external = createServer()
    wss = new WebSocketServer({ server: external })
    wss.on('connection', (ws, req) => setupWSConnection(ws, req))
    await new Promise<void>((ok) => external.listen(0, '127.0.0.1', () => ok()))
    syncUrl = `ws://127.0.0.1:${(external.address() as { port: number }).port}`
    const dir = mkdtempSync(join(tmpdir(), 'loom-share-sync-'))
    path = join(dir, 'counter.loom.md')
    writeFileSync(path, readFileSync('samples/counter.loom.md', 'utf8'))
    s = await serve({ notebook: path, port: 0, rendererDir: RENDERER, share: { host: '127.0.0.1', sync: syncUrl, debounceMs: 50 } })
  })
  after(async () => {
    provider?.destroy()
    guestDoc?.destroy()
    await s.close()
    for (const ws of wss.clients) ws.terminate()
    wss.close()
    await new Promise<void>((ok) => external.close(() => ok()))
    // The library's server keeps its rooms in a module-wide map, each with a presence timer; ours is gone, so are they.
    for (const [name, doc] of docs) {
      docs.delete(name)
      doc.destroy()
    }
  })

  test('the host fills the room, links name the server and room, pages are told where it is and may connect there, and guests’ edits reach the running notebook', async () => {
    const share = s.share!
    assert.equal(share.server, null)
    assert.match(share.invites.edit, new RegExp(`&sync=${encodeURIComponent(syncUrl)}&room=${share.room}$`))
    // A guest of the room, straight on the other server.
    guestDoc = new Y.Doc()
    provider = new WebsocketProvider(syncUrl, share.room, guestDoc, { disableBc: true, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
    await until('the guest has the notebook', () => provider!.synced && cellsOf(guestDoc!).length > 0)
    assert.equal(notebookText(guestDoc), readFileSync(path, 'utf8'))
    const prose = readCells(guestDoc).find((c) => c.kind === 'prose')!.id
    const text = cellsOf(guestDoc).toArray().find((m) => m.get('id') === prose)!.get('text') as Y.Text
    text.insert(0, 'from elsewhere. ')
    const page = new EngineClient(await connectEngine(`ws://127.0.0.1:${share.port}/engine`, `http://127.0.0.1:${share.port}`))
    const hello = await page.call('hello', { token: share.tokens.edit })
    await until('the running notebook has it', async () => (await page.call('notebook', {})).text.includes('from elsewhere. '))
    assert.ok(!readFileSync(path, 'utf8').includes('from elsewhere. '), 'the file waits for the owner’s Save')
    // A page says hello with its token and learns where the document is.
    assert.deepEqual({ role: hello.share?.role, sync: hello.share?.sync, room: hello.share?.room }, { role: 'edit', sync: syncUrl, room: share.room })
    page.close()
    // The page's Content-Security-Policy lets it reach that server.
    const res = await fetch(`http://127.0.0.1:${share.port}/`)
    assert.match(res.headers.get('content-security-policy') ?? '', new RegExp(`connect-src [^;]*${syncUrl.replace(/[.]/g, '\\.')}`))
  })
})
