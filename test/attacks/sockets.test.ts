// Each attack found on main, against one real `loom serve --share`: after
// every one the process is alive and answers an honest guest.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { WebsocketProvider } from 'y-websocket'
import { cellsOf, notebookText } from '../../engine/share/notebookDoc.ts'
import { emptyRenderer, honest, nextJson, open, rawEngine, serveShared, until, type SharedServe } from './sharedServe.ts'
import { connectEngine } from '../../engine/host/socketTransport.ts'
import { EngineClient } from '../../engine/protocol/client.ts'

const NOTEBOOK = 'samples/counter.loom.md'

describe('attacks on the sockets of loom serve --share', () => {
  let s: SharedServe
  before(async () => {
    s = await serveShared(NOTEBOOK, emptyRenderer())
  })
  after(async () => {
    await s?.stop()
  })

  test('a null frame to /engine is answered with an error; from a stranger it also ends that connection, after a view hello only the request', async () => {
    for (const [port, origin] of [[s.guestPort, `http://127.0.0.1:${s.guestPort}`], [s.ownerPort, `http://127.0.0.1:${s.ownerPort}`]] as const) {
      const stranger = await open(`ws://127.0.0.1:${port}/engine`, origin)
      const closed = new Promise<number>((resolve) => stranger.once('close', resolve))
      stranger.send('null')
      const answer = await nextJson(stranger)
      assert.equal(answer?.ok, false)
      assert.equal(answer?.error.code, 'bad-request')
      assert.equal(await closed, 1000, 'nothing more is handled for a stranger')
      const ws = await open(`ws://127.0.0.1:${port}/engine`, origin)
      ws.send(JSON.stringify({ kind: 'request', id: 1, op: 'hello', params: { token: s.tokens.view } }))
      assert.equal((await nextJson(ws))?.ok, true)
      ws.send('null')
      assert.equal((await nextJson(ws))?.ok, false)
      ws.close()
    }
    assert.ok(s.alive())
    await honest(s)
  })

  test('on the owner\'s listener too, idle sockets and silent WebSockets are closed within seconds, while the owner\'s own page and shared document stay', async () => {
    const sockets: Socket[] = []
    let closed = 0
    for (let i = 0; i < 40; i++) {
      const socket = connect(s.ownerPort, '127.0.0.1')
      socket.on('error', () => {})
      socket.on('close', () => closed++)
      sockets.push(socket)
    }
    const silent = await Promise.all(Array.from({ length: 5 }, () => rawEngine(s.ownerPort)))
    const codes: number[] = []
    for (const ws of silent) ws.on('close', (code) => codes.push(code))
    // The owner's page: its engine connection and the shared document, both on this listener.
    const engine = await open(`ws://127.0.0.1:${s.ownerPort}/engine`, `http://127.0.0.1:${s.ownerPort}`)
    engine.send(JSON.stringify({ kind: 'request', id: 1, op: 'hello', params: { token: s.owner } }))
    assert.equal((await nextJson(engine))?.ok, true)
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(`ws://127.0.0.1:${s.ownerPort}/sync`, 'notebook', doc, { params: { token: s.owner }, disableBc: true, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
    try {
      await until('the owner has synced', () => provider.synced && cellsOf(doc).length > 0)
      await until('the idle sockets are closed', () => closed === 40 && codes.length === 5, 15_000)
      // Past the strangers' time, the owner's connections are still open and answer.
      assert.equal(provider.wsconnected, true)
      engine.send(JSON.stringify({ kind: 'request', id: 2, op: 'status', params: {} }))
      assert.equal((await nextJson(engine))?.ok, true)
    } finally {
      provider.destroy()
      provider.awareness.destroy()
      engine.close()
      for (const x of sockets) x.destroy()
    }
    assert.ok(s.alive())
  })

  test('params nested 100,000 deep from a view guest are refused unread (too deep), and serve lives', async () => {
    const ws = await rawEngine(s.guestPort)
    ws.send(JSON.stringify({ kind: 'request', id: 1, op: 'hello', params: { token: s.tokens.view } }))
    assert.equal((await nextJson(ws))?.ok, true)
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    ws.send(`{"kind":"request","id":2,"op":"log","params":{"branch":${deep}}}`)
    const answer = await nextJson(ws)
    assert.equal(answer?.ok, false)
    assert.equal(answer?.error.code, 'too-deep')
    // Deep nesting inside a string is not nesting.
    ws.send(JSON.stringify({ kind: 'request', id: 3, op: 'log', params: { branch: deep } }))
    assert.match((await nextJson(ws))?.error.message, /no branch|branch/)
    ws.close()
    assert.ok(s.alive())
    await honest(s)
  })

  test('an edit guest pushing a non-map (and maps of the wrong shape) into cells: removed, reported, never saved; serve lives', async () => {
    const before = readFileSync(s.notebook, 'utf8')
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(`ws://127.0.0.1:${s.guestPort}/sync`, 'notebook', doc, { params: { token: s.tokens.edit }, disableBc: true, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
    try {
      await until('the guest has synced', () => provider.synced && cellsOf(doc).length > 0)
      const blocks = cellsOf(doc).length
      const wrong = new Y.Map<unknown>()
      wrong.set('id', 'evil')
      wrong.set('kind', 'code')
      wrong.set('text', 'a string, not a Y.Text')
      const badCell = new Y.Map<unknown>()
      badCell.set('id', 'evil2')
      badCell.set('kind', 'code')
      badCell.set('text', new Y.Text('x'))
      badCell.set('cell', '{"not":"a cell"}')
      doc.transact(() => (cellsOf(doc) as unknown as Y.Array<unknown>).push([42, 'text', new Y.Text('loose'), wrong, badCell, new Y.Array()]))
      await until('the host took the junk out again', () => cellsOf(doc).length === blocks)
      await until('the owner was told', () => /removed from the shared notebook/.test(s.stderr()))
      // An honest edit afterwards reaches the running notebook, and the owner's Save writes it, with no trace of the junk.
      const text = cellsOf(doc).toArray().find((m) => m.get('kind') === 'code')!.get('text') as Y.Text
      text.insert(0, '// honest\n')
      const owner = new EngineClient(await connectEngine(`ws://127.0.0.1:${s.ownerPort}/engine`, `http://127.0.0.1:${s.ownerPort}`))
      try {
        await owner.call('hello', { token: s.owner })
        await until('the honest edit is running', async () => (await owner.call('notebook', {})).text === notebookText(doc))
        assert.equal(readFileSync(s.notebook, 'utf8'), before, 'the file waits for the owner’s Save')
        await owner.call('save', {})
      } finally {
        owner.close()
      }
      const saved = readFileSync(s.notebook, 'utf8')
      assert.equal(saved, notebookText(doc))
      assert.doesNotMatch(saved, /loose|evil|a string, not/)
    } finally {
      provider.destroy()
      provider.awareness.destroy() // its timer would keep the test process alive
    }
    assert.ok(s.alive())
    await honest(s)
  })

  test('520 idle sockets without a token do not keep a real guest out, and are closed within seconds', async () => {
    const sockets: Socket[] = []
    let closed = 0
    for (let i = 0; i < 520; i++) {
      const socket = connect(s.guestPort, '127.0.0.1')
      socket.on('error', () => {})
      socket.on('close', () => closed++)
      sockets.push(socket)
    }
    // Strangers that upgraded to /engine and never say hello.
    const silent = await Promise.all(Array.from({ length: 20 }, () => rawEngine(s.guestPort)))
    const codes: number[] = []
    for (const ws of silent) ws.on('close', (code) => codes.push(code))
    await until('every socket is connected', () => sockets.every((x) => !x.connecting || x.destroyed))
    // A real guest joins: the page, the engine and the shared document.
    const page = await fetch(`http://127.0.0.1:${s.guestPort}/?token=${s.tokens.edit}`)
    assert.equal(page.status, 200)
    await honest(s)
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(`ws://127.0.0.1:${s.guestPort}/sync`, 'notebook', doc, { params: { token: s.tokens.edit }, disableBc: true, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket })
    try {
      await until('the real guest has synced', () => provider.synced && cellsOf(doc).length > 0)
      await until('the idle sockets are closed', () => closed === 520 && codes.length === 20, 15_000)
      assert.ok(codes.every((c) => c === 1008 || c === 1006), `silent WebSockets closed with ${[...new Set(codes)].join(', ')}`)
      // The guest who joined stays.
      assert.equal(provider.wsconnected, true)
    } finally {
      provider.destroy()
      provider.awareness.destroy() // its timer would keep the test process alive
      for (const x of sockets) x.destroy()
    }
    assert.ok(s.alive())
    await honest(s)
  })

  test('an upgrade to a URL that does not parse is refused on both listeners, and serve lives', async () => {
    for (const port of [s.guestPort, s.ownerPort]) {
      for (const path of ['//[', '/sync/%', '/sync//[?token=x', 'http://[/sync/x']) {
        const answer = await new Promise<string>((resolve) => {
          let got = ''
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
          })
          socket.on('data', (d) => (got += d))
          socket.on('error', () => {})
          socket.on('close', () => resolve(got))
          setTimeout(() => (socket.destroy(), resolve(got)), 7000)
        })
        assert.match(answer.split('\r\n')[0] ?? '', /^HTTP\/1\.1 (101|40\d)/, `${path} on ${port}: ${answer.slice(0, 100)}`)
      }
    }
    assert.ok(s.alive())
    await honest(s)
  })

  test('a 3 MB presence (or one posing as the host) from a view guest is not passed on to anyone, and that guest is told why', async () => {
    const sync = (token: string) => open(`ws://127.0.0.1:${s.guestPort}/sync/notebook?token=${token}`)
    const watcher = await sync(s.tokens.edit)
    let biggest = 0
    watcher.on('message', (data: Buffer) => {
      if (data[0] === 1) biggest = Math.max(biggest, data.length)
    })
    const viewer = await sync(s.tokens.view)
    const told: string[] = []
    viewer.on('message', (data: Buffer) => {
      const d = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(d) === 2 && decoding.readVarUint(d) === 0) told.push(decoding.readVarString(d))
    })
    const presence = (clientId: number, state: unknown) => {
      const update = encoding.createEncoder()
      encoding.writeVarUint(update, 1)
      encoding.writeVarUint(update, clientId)
      encoding.writeVarUint(update, 1)
      encoding.writeVarString(update, JSON.stringify(state))
      const e = encoding.createEncoder()
      encoding.writeVarUint(e, 1)
      encoding.writeVarUint8Array(e, encoding.toUint8Array(update))
      return encoding.toUint8Array(e)
    }
    viewer.send(presence(4242, { name: 'big', junk: 'x'.repeat(3 * 1024 * 1024) }))
    await until('the view guest is told', () => told.length > 0)
    assert.match(told[0]!, /over the 2048 bytes a view guest may send/)
    // A small presence of its own passes; someone else's (the host's) does not.
    viewer.send(presence(4242, { name: 'small' }))
    await until('the small presence reaches the other guest', () => biggest > 0)
    assert.ok(biggest < 4096, `an awareness message of ${biggest} bytes was passed on`)
    // Nor may a guest pose as the host, whose presence carries the notebook's problems.
    viewer.send(presence(4242, { name: 'fake host', loomHost: { problems: [{ message: 'all is lost', author: null }], savedAt: 1 } }))
    await until('the view guest is told again', () => told.length > 1)
    assert.match(told[1]!, /loomHost/)
    let deep: unknown = 1
    for (let i = 0; i < 1000; i++) deep = [deep]
    viewer.send(presence(4242, deep))
    await until('the view guest is told a third time', () => told.length > 2)
    assert.match(told[2]!, /nests more than 64 levels/)
    watcher.close()
    viewer.close()
    assert.ok(s.alive())
    await honest(s)
  })
})
