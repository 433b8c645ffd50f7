// A seeded fuzz of both sockets of a real `loom serve --share`: the engine
// protocol on the guests' and the owner's listeners, and the sync channel,
// with no token and with each role's. Frames are junk of every kind (null,
// numbers, strings, binary, 100,000-deep nesting, frames over the limit,
// broken JSON, requests of the right shape with fields of the wrong type).
// Every frame is answered with an error or closes its connection; after each
// batch the process is alive and answers an honest guest. The seed is
// printed; LOOM_FUZZ_SEED=N repeats a run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { parseNotebook } from '../../engine/runtime/notebook.ts'
import { seededRandom } from '../helpers.ts'
import { OPS } from '../../engine/protocol/validate.ts'
import { emptyRenderer, honest, nextJson, open, serveShared, type Role } from './sharedServe.ts'

const SEED = Number(process.env.LOOM_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const FRAMES = 300
const BATCH = 30
/** The fuzz stops by itself after this long, whatever is left. */
const BUDGET_MS = 50_000

type Frame = { text: string } | { binary: Uint8Array }

test(`a seeded fuzz of /engine and /sync (seed ${SEED}) ends no process, and serve answers an honest guest after every batch`, { timeout: 120_000 }, async () => {
  console.log(`fuzz seed ${SEED} (repeat with LOOM_FUZZ_SEED=${SEED})`)
  const random = seededRandom(SEED)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
  let huge = 0

  const STRING_KEYS = ['branch', 'text', 'path', 'cell', 'source', 'name', 'token', 'expr', 'onto', 'client', 'from']
  const NUMBER_KEYS = ['limit', 'at', 'to', 'bins', 'points', 'id', 'job', 'violation', 'depth', 'maxStates']
  const OTHER_KEYS = ['edits', 'states', 'method', 'request', 'choices', 'kind', 'bogus']
  const wrongFor = (key: string): unknown =>
    STRING_KEYS.includes(key) ? pick([null, 1, -1, true, [], {}, { a: [1] }])
      : NUMBER_KEYS.includes(key) ? pick([null, 'x', -1, 1.5, true, [], {}, 1e308, '7'])
        : pick([null, 1, 'zz', true, [null], [[[]]], { x: 1 }])
  /** A request of the protocol's shape whose every parameter has the wrong type (or a name no op takes). */
  const wrongTypes = (): string => {
    const params: Record<string, unknown> = {}
    const n = 1 + Math.floor(random() * 3)
    for (let i = 0; i < n; i++) {
      const key = pick([...STRING_KEYS, ...NUMBER_KEYS, ...OTHER_KEYS])
      params[key] = wrongFor(key)
    }
    return JSON.stringify({ kind: 'request', id: Math.floor(random() * 1e6), op: pick(OPS), params })
  }
  const deep = (n: number) => (random() < 0.5 ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n))
  const engineFrame = (): Frame => {
    const r = random()
    if (r < 0.08) return { text: 'null' }
    if (r < 0.16) return { text: String(pick([0, -1, 1e308, 3.5, 42])) }
    if (r < 0.24) return { text: JSON.stringify(pick(['hello', '', 'x'.repeat(1000), '\u0000\uffff'])) }
    if (r < 0.32) return { binary: bytes(1 + Math.floor(random() * 200)) }
    if (r < 0.38) return { text: `{"kind":"request","id":1,"op":"log","params":{"branch":${deep(100_000)}}}` }
    if (r < 0.42) return { text: deep(100_000) }
    if (r < 0.44 && huge < 2) {
      huge++
      return { text: `{"kind":"request","id":1,"op":"save","params":{"text":"${'x'.repeat(17 * 1024 * 1024)}"}}` }
    }
    if (r < 0.56) return { text: pick(['{', '{"kind":', '[1,2', '{"kind":"request","id":1,"op":"log","params":{}', 'nul', "{'a':1}", '\ud800']) }
    if (r < 0.64) return { text: JSON.stringify(pick([[], [1, 2], {}, { kind: 'response', id: 1, ok: true, result: {} }, { kind: 'notice', notice: null }, { kind: 'request' }, { kind: 'request', id: 'x', op: 'log' }, { kind: 'request', id: 1, op: 'hello', params: null }, { kind: 'request', id: 1.5, op: 'log', params: {} }])) }
    return { text: wrongTypes() }
  }
  /** A well-formed document update from a new client that puts junk at the start of `cells` (a number, a bare text, a map of the wrong shape). */
  const junkCells = (): Uint8Array => {
    const d = new Y.Doc()
    const junk = pick([() => random(), () => 'junk', () => new Y.Text('junk'), () => new Y.Array(), () => {
      const m = new Y.Map<unknown>()
      m.set('id', pick(['junk', 5, null]))
      m.set('kind', pick(['code', 'prose', 'nonsense']))
      m.set('text', pick(['junk', 7]))
      return m
    }])()
    d.getArray('cells').insert(0, [junk])
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, 2)
    encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(d))
    return encoding.toUint8Array(e)
  }
  const syncFrame = (): Uint8Array => {
    const r = random()
    if (r < 0.3) return bytes(1 + Math.floor(random() * 100))
    // Valid-looking prefixes over junk: a sync step 2 or update, an awareness update, an unknown type.
    if (r < 0.45) return Uint8Array.from([0, pick([1, 2]), 20, ...bytes(20)])
    if (r < 0.55) return Uint8Array.from([1, 30, 1, ...bytes(29)])
    if (r < 0.6) return Uint8Array.from([pick([2, 3, 4, 99]), ...bytes(10)])
    if (r < 0.85) return junkCells()
    if (r < 0.9 && huge < 3) {
      huge++
      return new Uint8Array(5 * 1024 * 1024)
    }
    return Uint8Array.from([0, 0, 1, 0])
  }

  const s = await serveShared('samples/counter.loom.md', emptyRenderer())
  const started = Date.now()
  let sent = 0
  let answered = 0
  let closed = 0
  try {
    while (sent < FRAMES && Date.now() - started < BUDGET_MS) {
      const who: Role | 'none' = pick(['none', 'view', 'edit', 'run'] as const)
      const owner = random() < 0.25
      const port = owner ? s.ownerPort : s.guestPort
      const connect = async () => {
        const ws = await open(`ws://127.0.0.1:${port}/engine`, `http://127.0.0.1:${port}`)
        if (who !== 'none') {
          ws.send(JSON.stringify({ kind: 'request', id: 1, op: 'hello', params: { token: s.tokens[who] } }))
          assert.equal((await nextJson(ws))?.ok, true, `hello with the ${who} token`)
        }
        return ws
      }
      let ws = await connect()
      for (let i = 0; i < BATCH - 5 && sent < FRAMES; i++, sent++) {
        const frame = engineFrame()
        if ('text' in frame) ws.send(frame.text)
        else ws.send(frame.binary)
        const reply = await nextJson(ws, 10_000)
        if (reply === null) {
          // Only a frame over the limit may close a guest's connection; a stranger's ends at its first refusal.
          assert.ok(who === 'none' || ('text' in frame && frame.text.length > 16 * 1024 * 1024), `the connection closed after a frame of ${'text' in frame ? frame.text.length : frame.binary.length} bytes`)
          closed++
          ws = await connect()
          continue
        }
        answered++
        assert.equal(reply.kind, 'response')
        assert.equal(reply.ok, false, `a fuzzed frame was accepted: ${'text' in frame ? frame.text.slice(0, 200) : 'binary'}`)
        assert.equal(typeof reply.error.message, 'string')
      }
      ws.close()

      // The sync channel: no token is refused at the door; with one, junk is dropped or closes the connection.
      const url = `ws://127.0.0.1:${port}/sync/notebook?token=${who === 'none' ? 'not-a-token' : s.tokens[who]}`
      if (who === 'none') {
        await assert.rejects(open(url), /refused: 401/)
        sent += 5
      } else {
        let sync: WebSocket | null = null
        for (let i = 0; i < 5 && sent < FRAMES; i++, sent++) {
          sync ??= await open(url)
          const s2 = sync
          await new Promise<void>((resolve) => {
            const done = () => (clearTimeout(timer), s2.off('close', onClose), resolve())
            const onClose = () => {
              sync = null
              closed++
              done()
            }
            // A dropped message gets no answer: give it a moment to close the connection instead.
            const timer = setTimeout(done, 150)
            s2.once('close', onClose)
            s2.send(syncFrame())
          })
        }
        ;(sync as WebSocket | null)?.close()
      }
      assert.ok(s.alive(), `loom serve ended during a batch as ${who} (seed ${SEED}):\n${s.stderr()}`)
      await honest(s)
    }
    const removed = s.stderr().split('removed from the shared notebook').length - 1
    console.log(`fuzz: ${sent} frames in ${Date.now() - started} ms; ${answered} answered with an error, ${closed} closed their connection; junk taken out of the shared cells ${removed} times`)
    assert.ok(sent >= 100, `only ${sent} frames in the time budget`)
    // Junk put into the shared cells never reached the file: it still parses, with no trace of it.
    await new Promise((r) => setTimeout(r, 500))
    const text = readFileSync(s.notebook, 'utf8')
    parseNotebook(text, s.notebook)
    assert.doesNotMatch(text, /junk|nonsense/)
  } finally {
    await s.stop()
  }
})
