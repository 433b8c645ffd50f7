// The one validator (engine/protocol/validate.ts) at the doors that are not
// a WebSocket: a request arriving as a value (Electron IPC, through the
// supervisor) is checked before the engine process sees it, and what an
// engine process with a broken sandbox sends its supervisor is checked too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkRequest, MAX_DEPTH, MAX_MESSAGE_BYTES, parseRequest, readLoomError, textDepth } from '../../engine/protocol/validate.ts'
import { EngineClient, ProtocolError } from '../../engine/protocol/client.ts'
import { EngineSupervisor } from '../../engine/host/EngineSupervisor.ts'
import { readFromEngine, readToEngine, type EngineProcess, type FromEngine, type ToEngine } from '../../engine/host/engineLink.ts'
import type { Message, Transport } from '../../engine/protocol/messages.ts'

const refusal = (c: ReturnType<typeof checkRequest>) => (c.ok ? null : c.problem.code)

test('text is measured before it is parsed: too large, too deep, not JSON; brackets inside strings are not nesting', () => {
  assert.equal(refusal(parseRequest('x'.repeat(MAX_MESSAGE_BYTES + 1))), 'too-large')
  assert.equal(refusal(parseRequest('['.repeat(100_000) + ']'.repeat(100_000))), 'too-deep')
  assert.equal(refusal(parseRequest('{"kind":')), 'not-json')
  assert.equal(refusal(parseRequest('null')), 'bad-request')
  const inString = JSON.stringify({ kind: 'request', id: 1, op: 'log', params: { branch: `"\\${'['.repeat(1000)}` } })
  assert.equal(textDepth(inString), 2)
  assert.equal(parseRequest(inString).ok, true)
  const nested = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
  assert.equal(textDepth(nested(MAX_DEPTH)), MAX_DEPTH)
  assert.ok(textDepth(nested(100_000)) > MAX_DEPTH)
})

test('a value that shares one object over and over (as structured clone can) or holds a cycle is refused quickly', () => {
  let shared: unknown = [1]
  for (let i = 0; i < 40; i++) shared = [shared, shared] // 2^40 paths through 41 objects, 45 levels deep
  const started = Date.now()
  assert.equal(refusal(checkRequest({ kind: 'request', id: 1, op: 'log', params: { branch: [[[[shared]]]] } })), 'too-large')
  const cycle: Record<string, unknown> = { kind: 'request', id: 2, op: 'log' }
  cycle.params = { branch: cycle }
  assert.equal(refusal(checkRequest(cycle)), 'too-deep')
  assert.ok(Date.now() - started < 2000)
})

test('a request is refused with its id and what is wrong; a good one comes back typed', () => {
  const bad = checkRequest({ kind: 'request', id: 5, op: 'log', params: { limit: 'ten' } })
  assert.deepEqual(bad.ok ? null : [bad.id, bad.problem.code], [5, 'bad-request'])
  assert.equal(refusal(checkRequest({ kind: 'request', id: 1, op: 'hello', params: null })), 'bad-request')
  assert.equal(refusal(checkRequest([1, 2])), 'bad-request')
  const good = checkRequest({ kind: 'request', id: 2, op: 'log', params: { branch: 'main', limit: 5 } })
  assert.deepEqual(good.ok && good.request, { id: 2, op: 'log', params: { branch: 'main', limit: 5 } })
})

/** An engine process that records what reaches it and can send its supervisor anything. */
class Recorder implements EngineProcess {
  readonly pid = 4242
  got: ToEngine[] = []
  private listeners: ((m: FromEngine) => void)[] = []
  send(m: ToEngine): void {
    this.got.push(m)
    if ('start' in m) queueMicrotask(() => this.emit({ ready: { pid: this.pid } }))
  }
  emit(m: unknown): void {
    for (const fn of this.listeners) fn(m as FromEngine)
  }
  onMessage(fn: (m: FromEngine) => void): void {
    this.listeners.push(fn)
  }
  onExit(): void {}
  kill(): void {}
}

/** A transport like Electron's IPC: values, not text. */
function valueTransport(): Transport & { deliver(m: unknown): void; sent: Message[] } {
  const receivers = new Set<(m: Message) => void>()
  const sent: Message[] = []
  return {
    sent,
    deliver: (m) => receivers.forEach((fn) => fn(m as Message)),
    send: (m) => void sent.push(m),
    onMessage: (fn) => (receivers.add(fn), () => receivers.delete(fn)),
    onClose: () => {},
    close: () => {},
  }
}

test('a request given as a value (Electron IPC) nested 100,000 deep is refused by the supervisor and never reaches the engine process', async () => {
  const engine = new Recorder()
  const garbled: string[] = []
  const supervisor = new EngineSupervisor(() => engine, { notebook: 'x.loom.md' }, { garbled: (w) => garbled.push(w) })
  await supervisor.start()
  const ui = valueTransport()
  supervisor.connect(ui)
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = [deep]
  ui.deliver({ kind: 'request', id: 7, op: 'log', params: { branch: deep } })
  ui.deliver(null)
  ui.deliver({ kind: 'request', id: 8, op: 'status', params: {} })
  assert.deepEqual(ui.sent.map((m) => m.kind === 'response' && !m.ok && [m.id, m.error.code]), [[7, 'too-deep'], [0, 'bad-request']])
  const requests = engine.got.filter((m) => 'message' in m).map((m) => (m as { message: { id: number } }).message.id)
  assert.deepEqual(requests, [8])

  // What a broken engine process sends is dropped, said once each, and nothing throws.
  for (const junk of [null, 42, 'x', [], { conn: 'x', message: {} }, { conn: 1, message: null }, { conn: 1, message: { kind: 'response', id: 'x' } }, { ready: null }, { fatal: 7 }]) engine.emit(junk)
  assert.equal(garbled.length, 9)
  engine.emit({ conn: 1, message: { kind: 'response', id: 8, ok: true, result: {} } })
  assert.equal(ui.sent.at(-1)?.kind, 'response')
})

test("the link's shape on both sides: only messages of it are read", () => {
  assert.equal(readFromEngine({ conn: 1, message: { kind: 'notice', notice: { type: 'status' } } }) !== null, true)
  assert.equal(readFromEngine({ conn: 0, message: { kind: 'notice', notice: { type: 'status' } } }), null)
  assert.equal(readToEngine({ conn: 3, message: null }) !== null, true, 'the request inside is the host\'s to check')
  assert.equal(readToEngine({ start: { notebook: 1 } }), null)
  assert.equal(readToEngine({ stop: 'yes' }), null)
  assert.equal(readToEngine(undefined), null)
})

test('a LoomError is read only with its shape: a known code, a message, and a where whose parts are what they say', () => {
  const good = [
    { code: 'compile', message: 'Unexpected end of file', where: { file: 'bank.loom.md', cell: 'step', line: 3, column: 7, fileLine: 21 } },
    { code: 'history', message: "there is no branch 'x'", where: { branch: 'x', event: 4 } },
    { code: 'too-deep', message: 'nested too deep' },
  ]
  for (const e of good) assert.deepEqual(readLoomError(e), e)
  const bad = [
    null, 'compile: oops', [], { message: 'no code' }, { code: 'nonsense', message: 'x' }, { code: 'compile' },
    { code: 'compile', message: 7 }, { code: 'compile', message: 'x', extra: 1 }, { code: 'compile', message: 'x', where: 'cell #a' },
    { code: 'compile', message: 'x', where: { cell: 3 } }, { code: 'compile', message: 'x', where: { line: -1 } },
    { code: 'compile', message: 'x', where: { line: 1.5 } }, { code: 'compile', message: 'x', where: { column: '2' } },
    { code: 'compile', message: 'x', where: { path: '/etc/passwd' } }, { code: 'compile', message: 'x'.repeat((1 << 20) + 1) },
  ]
  for (const e of bad) assert.equal(readLoomError(e), null, JSON.stringify(e)?.slice(0, 80))
})

test('a refusal from the engine process without a readable LoomError is dropped by the supervisor; a client shows one it cannot read as such', async () => {
  assert.equal(readFromEngine({ conn: 1, message: { kind: 'response', id: 1, ok: false, error: { code: 'load', message: 'x', where: { cell: 'a', line: 2 } } } }) !== null, true)
  assert.equal(readFromEngine({ conn: 1, message: { kind: 'response', id: 1, ok: false, error: 'a string' } }), null)
  assert.equal(readFromEngine({ conn: 1, message: { kind: 'response', id: 1, ok: false, error: { message: 'no code' } } }), null)
  const ui = valueTransport()
  const client = new EngineClient(ui)
  const refused = client.call('status', {})
  ui.deliver({ kind: 'response', id: 1, ok: false, error: { code: 'runtime', message: 'boom', where: { cell: 'step', line: 4 } } })
  await assert.rejects(refused, (e: ProtocolError) => e.code === 'runtime' && e.where?.cell === 'step' && e.where.line === 4)
  const garbled = client.call('status', {})
  ui.deliver({ kind: 'response', id: 2, ok: false, error: { code: 'runtime', message: { html: '<b>' } } })
  await assert.rejects(garbled, (e: ProtocolError) => e.code === 'internal' && /an error Loom cannot read/.test(e.message))
})
