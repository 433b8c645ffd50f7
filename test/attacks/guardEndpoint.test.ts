// The one door for "who is this connection", over an in-memory pair: a
// connection that never says hello is closed, the owner's token and a guest's
// go through the same check, and a guest never gets the credentials of
// recorded requests, while the owner sees them as logged.
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { memoryPair } from '../../engine/protocol/memoryTransport.ts'
import type { Message, Transport } from '../../engine/protocol/messages.ts'
import { guardEndpoint, HELLO_WITHIN_MS } from '../../engine/share/guardEndpoint.ts'
import { newTokens } from '../../engine/share/roles.ts'
import type { EngineEndpoint } from '../../engine/host/engineSocket.ts'

/** An engine that answers every request with an http event carrying credentials, as the log holds it. */
const engine: EngineEndpoint = {
  connect(t: Transport) {
    t.onMessage((m) => {
      if (m.kind !== 'request') return
      const event = { kind: 'http', input: { method: 'GET', path: '/', headers: { Authorization: 'Bearer secret', cookie: 'sid=1', accept: '*/*' } }, outputs: { http: { status: 200, headers: { 'Set-Cookie': 'sid=2', 'content-type': 'text/plain' } } } }
      // An exported branch is JSON lines in a string: its events carry the same headers.
      const result = m.op === 'exportBranch' ? { text: `{"format":"loom-branch"}\n{"hash":"h","event":${JSON.stringify(event)}}` } : { events: [event] }
      t.send({ kind: 'response', id: m.id, ok: true, result } as unknown as Message)
    })
    return () => {}
  },
}

function connect(guard: EngineEndpoint): { client: Transport; received: Message[]; closed: () => boolean; ask(id: number, op: string, params?: unknown): Promise<Message> } {
  const [client, server] = memoryPair()
  const received: Message[] = []
  let closed = false
  client.onMessage((m) => received.push(m))
  client.onClose(() => (closed = true))
  guard.connect(server)
  return {
    client,
    received,
    closed: () => closed,
    async ask(id, op, params = {}) {
      client.send({ kind: 'request', id, op, params } as Message)
      for (let i = 0; i < 50 && !received.some((m) => m.kind === 'response' && m.id === id); i++) await new Promise((r) => setImmediate(r))
      return received.find((m) => m.kind === 'response' && m.id === id)!
    },
  }
}

test(`a connection that does not say hello within ${HELLO_WITHIN_MS / 1000} s is closed`, async () => {
  mock.timers.enable({ apis: ['setTimeout'] })
  try {
    const c = connect(guardEndpoint(engine, newTokens()))
    mock.timers.tick(HELLO_WITHIN_MS - 1)
    assert.equal(c.closed(), false)
    mock.timers.tick(1)
    await new Promise((r) => setImmediate(r))
    assert.equal(c.closed(), true)
  } finally {
    mock.timers.reset()
  }
})

test('the owner sees recorded credentials; a guest of any role gets them redacted', async () => {
  const tokens = newTokens(['view', 'edit', 'run'])
  const guard = guardEndpoint(engine, tokens, () => ({ sync: null, room: 'notebook', port: 1 }))
  const headersOf = (m: Message) => {
    const e = (m as { result: { events: { input: { headers: Record<string, string> }; outputs: { http: { headers: Record<string, string> } } }[] } }).result.events[0]!
    return { request: e.input.headers, response: e.outputs.http.headers }
  }
  const owner = connect(guard)
  assert.equal((await owner.ask(1, 'hello', { token: tokens.owner })).kind, 'response')
  assert.deepEqual(headersOf(await owner.ask(2, 'log')), { request: { Authorization: 'Bearer secret', cookie: 'sid=1', accept: '*/*' }, response: { 'Set-Cookie': 'sid=2', 'content-type': 'text/plain' } })
  for (const role of ['view', 'edit', 'run'] as const) {
    const guest = connect(guard)
    const hello = await guest.ask(1, 'hello', { token: tokens[role] })
    assert.equal((hello as { result: { share: { role: string } } }).result.share.role, role)
    assert.deepEqual(headersOf(await guest.ask(2, 'log')), { request: { Authorization: '[redacted]', cookie: '[redacted]', accept: '*/*' }, response: { 'Set-Cookie': '[redacted]', 'content-type': 'text/plain' } }, role)
    const exported = ((await guest.ask(3, 'exportBranch', { branch: 'main' })) as { result: { text: string } }).result.text
    assert.ok(!/secret|sid=/.test(exported), `${role}: an exported branch carries no credential`)
    assert.equal(exported.split('\n').length, 2)
  }
  const exported = ((await owner.ask(3, 'exportBranch', { branch: 'main' })) as { result: { text: string } }).result.text
  assert.match(exported, /Bearer secret/, 'the owner exports the branch as logged')
})

test('without sharing only the owner\'s token exists: an empty or made-up token gets nothing', async () => {
  const tokens = newTokens()
  assert.deepEqual(Object.keys(tokens), ['owner'])
  for (const token of ['', 'undefined', tokens.owner.toUpperCase() === tokens.owner ? 'x' : tokens.owner.toUpperCase()]) {
    const c = connect(guardEndpoint(engine, tokens))
    const answer = await c.ask(1, 'hello', { token })
    assert.equal((answer as { ok: boolean }).ok, false, token)
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
    assert.equal(c.closed(), true)
  }
})
