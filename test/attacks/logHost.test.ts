// The launcher's check of what a confined engine process hands over: over a real
// socket, into a real SQLite log, commits forged the ways a broken engine would
// forge them. Each is refused and nothing of it reaches the log; an honest
// commit is written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteLog } from '../../engine/replay/sqliteLog.ts'
import { serveLog } from '../../engine/replay/logHost.ts'
import { frame, FrameReader } from '../../engine/replay/logLink.ts'
import { encodeEvents } from '../../engine/replay/chunk.ts'
import type { EventRecord } from '../../engine/runtime/event.ts'

const CODE = 'c'.repeat(64)

function event(seq: number, kind: EventRecord['kind'] = 'step', tty = `tick ${seq}`, branch = 'main'): EventRecord {
  return { branch, seq, kind, method: kind === 'step' ? 'step' : null, input: null, choices: [], time: 1_700_000_000_000 + seq, codeHash: CODE, reads: [], writes: [], outputs: { tty }, parentHash: '', hash: '' }
}

function commit(events: EventRecord[], change: (c: Record<string, unknown>) => void = () => {}): Record<string, unknown> {
  const { kinds: _, ...encoded } = encodeEvents(events)
  const c: Record<string, unknown> = { op: 'commit', first: events[0]?.seq ?? 1, ...encoded, code: CODE, snapshots: [], attempts: [], storedCode: [], cells: [] }
  change(c)
  return c
}

/** A log served to one connection; `send` a request, get its reply, or null once the link is ended. */
async function linked(db: string, served: 'served' | 'reader' | false = false) {
  const log = SqliteLog.open(db, { writerThread: true })
  // Served as `loom serve` serves it: opened at the engine process's ask, with side handles for branch writes;
  // or to a confined replay, which only reads.
  const serving = served === 'served' ? { open: () => log, openSide: (branch: string, fsync: boolean) => SqliteLog.open(db, { create: false, branch, fsync }) } : served === 'reader' ? { reader: log } : {}
  const path = join(db + '.sock')
  const broken: string[] = []
  let host: ReturnType<typeof serveLog> | undefined
  const server = createServer((socket) => (host = serveLog(socket, served ? null : log, { resume: undefined, job: null, onBroken: (why) => broken.push(why), ...serving })))
  await new Promise<void>((r) => server.listen(path, r))
  const client: Socket = connect(path)
  await new Promise<void>((r) => client.once('connect', r))
  const reader = new FrameReader()
  const replies: unknown[] = []
  let wake = () => {}
  let closed = false
  client.on('data', (b: Buffer) => {
    reader.push(b)
    reader.drain((m) => void replies.push(m), () => {})
    wake()
  })
  client.on('close', () => ((closed = true), wake()))
  client.on('error', () => {})
  let id = 0
  async function send(request: Record<string, unknown>): Promise<Record<string, unknown> | null> {
    client.write(frame({ id: ++id, ...request }))
    for (;;) {
      const got = replies.find((r) => (r as { id: number }).id === id)
      if (got) return got as Record<string, unknown>
      if (closed) return null
      await new Promise<void>((r) => (wake = r))
    }
  }
  /** A frame made by hand: `head` as JSON, then `raw` as the texts, whatever bytes they are. */
  async function sendRaw(head: Record<string, unknown>, raw: Buffer): Promise<Record<string, unknown> | null> {
    const json = Buffer.from(JSON.stringify({ id: ++id, ...head }))
    const lengths = Buffer.alloc(8)
    lengths.writeUInt32LE(json.length, 0)
    lengths.writeUInt32LE(raw.length, 4)
    client.write(Buffer.concat([lengths, json, raw]))
    return answer(id)
  }
  /** Sends without waiting for the answer (as the engine pipelines its commits); `answer(id)` waits for it. */
  function post(request: Record<string, unknown>): number {
    client.write(frame({ id: ++id, ...request }))
    return id
  }
  async function answer(of: number): Promise<Record<string, unknown> | null> {
    for (;;) {
      const got = replies.find((r) => (r as { id: number }).id === of)
      if (got) return got as Record<string, unknown>
      if (closed) return null
      await new Promise<void>((r) => (wake = r))
    }
  }
  async function end() {
    client.destroy()
    await host?.closed
    await host?.drained()
    server.close()
    log.close()
  }
  return { send, sendRaw, post, answer, end, broken, log }
}

const b64 = (a: Float32Array | Uint16Array) => Buffer.from(a.buffer).toString('base64')
const KEYS = [['step', 'step', 'work']]
const timingForgeries: [string, unknown][] = [
  ['not an object', 'fast'],
  ['a NaN time', { ms: b64(new Float32Array([NaN, 1])), key: b64(new Uint16Array(2)), keys: KEYS }],
  ['a negative time', { ms: b64(new Float32Array([-5, 1])), key: b64(new Uint16Array(2)), keys: KEYS }],
  ['an infinite time', { ms: b64(new Float32Array([Infinity, 1])), key: b64(new Uint16Array(2)), keys: KEYS }],
  ['times for another count of events', { ms: b64(new Float32Array(3)), key: b64(new Uint16Array(3)), keys: KEYS }],
  ['a blob cut mid-number', { ms: Buffer.from([1, 2, 3, 4, 5, 6, 7]).toString('base64'), key: b64(new Uint16Array(2)), keys: KEYS }],
  ['a key past the list of keys', { ms: b64(new Float32Array(2)), key: b64(new Uint16Array([0, 7])), keys: KEYS }],
  ['a key that is not [kind, method, cell]', { ms: b64(new Float32Array(2)), key: b64(new Uint16Array(2)), keys: [[{}, 1, null]] }],
  ['a huge time text', { ms: 'A'.repeat(1 << 20), key: b64(new Uint16Array(2)), keys: KEYS }],
]

const failure = { seq: 1, kind: 'test', name: 'never oversold', cell: 'api', line: 3, message: 'returned false' }
const sideForgeries: [string, unknown][] = [
  ['not an object', 'failures'],
  ['null', null],
  ['a list', [failure]],
  ['failures that are not a list', { failures: { 0: failure, length: 1 } }],
  ['a failure after an event the branch will not have', { failures: [{ ...failure, seq: 3 }] }],
  ['a failure before event 0', { failures: [{ ...failure, seq: -1 }] }],
  ['a failure of a kind there is not', { failures: [{ ...failure, kind: 'sql' }] }],
  ['a failure whose name is not text', { failures: [{ ...failure, name: { toString: 1 } }] }],
  ['a huge failure message', { failures: [{ ...failure, message: 'x'.repeat(1 << 20) }] }],
  ['a failure at a line that is not one', { failures: [{ ...failure, line: 1.5 }] }],
  ['more failures than a commit carries', { failures: Array.from({ length: 1001 }, () => failure) }],
  ['null among failures', { failures: [failure, null] }],
  ['a latency of a negative time', { latencies: [[1, -1]] }],
  ['a latency after event 0', { latencies: [[0, 1]] }],
  ['a latency past the last event', { latencies: [[3, 1]] }],
  ['a latency that is not a pair', { latencies: [[1, 1, 1]] }],
  ['a latency as text', { latencies: [['1', '5']] }],
  ['a huge list of latencies', { latencies: Array.from({ length: 100_001 }, () => [1, 1]) }],
]

test('a forged commit is refused before it reaches the log; an honest one is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-loghost-'))
  try {
    const forgeries: [string, Record<string, unknown>][] = [
      ['a gap in the sequence', commit([event(2)])],
      ['another branch', commit([{ ...event(1), branch: 'other' }])],
      ['a kind that is not one', commit([event(1)], (c) => (c.texts = (c.texts as string).replace('"kind":"step"', '"kind":"delete"')))],
      ['a kind that merely begins like one', commit([event(1)], (c) => (c.texts = (c.texts as string).replace('"kind":"step"', '"kind":"steps"')))],
      ['one text too many', commit([event(1)], (c) => (c.texts = `${c.texts as string}\n${c.texts as string}`))],
      ['one text too few', commit([event(1), event(2)], (c) => (c.texts = (c.texts as string).split('\n')[0]))],
      ['a seq that merely begins like the right one', commit([event(1)], (c) => (c.texts = (c.texts as string).replace('"seq":1,', '"seq":12,')))],
      ['an empty text', commit([event(1)], (c) => (c.texts = ''))],
      ['cuts past the end of the text', commit([event(1)], (c) => (c.cuts = [[[0, 10_000]]]))],
      ['cuts out of order', commit([event(1)], (c) => (c.cuts = [[[5, 9], [1, 2]]]))],
      ['a malformed code hash', commit([event(1)], (c) => (c.code = 'not a hash'))],
      ['an attempt of another branch', commit([event(1)], (c) => (c.attempts = [JSON.stringify({ branch: 'other' })]))],
      ['a count that is not a number', commit([event(1)], (c) => (c.count = '1'))],
      ['a snapshot from the future', commit([event(1)], (c) => (c.snapshots = [[99, '{}']]))],
      // Timings are beside the hash chain, but a forged record must not reach the table the profile reads.
      ...timingForgeries.map(([what, t]): [string, Record<string, unknown>] => [`timings: ${what}`, commit([event(1), event(2)], (c) => (c.timings = t))]),
      // So are failures and latencies (history/sideRecords.ts): only their shape, at events the branch has, is written.
      ...sideForgeries.map(([what, side]): [string, Record<string, unknown>] => [`side: ${what}`, commit([event(1), event(2)], (c) => (c.side = side))]),
    ]
    for (const [what, forged] of forgeries) {
      const db = join(dir, `${forgeries.findIndex(([w]) => w === what)}.loom.db`)
      const link = await linked(db)
      const opened = await link.send({ op: 'open' })
      assert.equal((opened?.value as { head: number }).head, 0, what)
      const reply = await link.send(forged)
      assert.ok(reply === null || reply.ok === false, `${what}: refused`)
      await link.end()
      const log = SqliteLog.open(db, { create: false })
      assert.equal(log.head, 0, `${what}: nothing of it was written`)
      log.close()
    }
    // The honest commit: three events, each as the engine encodes it; the log has them, chained.
    const db = join(dir, 'honest.loom.db')
    const link = await linked(db)
    await link.send({ op: 'open' })
    const reply = await link.send(commit([event(1, 'start'), event(2), event(3)]))
    assert.equal(reply?.ok, true, JSON.stringify(reply))
    await link.end()
    assert.deepEqual(link.broken, [])
    const log = SqliteLog.open(db, { create: false })
    assert.deepEqual(log.events().map((e) => [e.seq, e.kind, e.outputs.tty]), [[1, 'start', 'tick 1'], [2, 'step', 'tick 2'], [3, 'step', 'tick 3']])
    // Marked by the kind each text says (a commit carries no list of kinds): found by kind.
    assert.equal(log.lastOfKind('main', 'start', 3), 1)
    log.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a branch write over the link reaches only a branch the engine process made: another is refused, a side handle cannot move, malformed asks end the link', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-loghost-'))
  const db = join(dir, 'write.loom.db')
  const { send, end, broken, log } = await linked(db, 'served')
  try {
    assert.equal((await send({ op: 'open', create: true }))!.ok, true)
    assert.equal((await send(commit([event(1)])))!.ok, true)
    // Writing the live branch through a side handle: refused, and nothing changes.
    const other = await send({ op: 'log', method: 'openLog', args: [true, 'main'] })
    assert.equal(other!.ok, false)
    assert.match(String(other!.error), /branch 'main' was not made by this engine process/)
    // A branch it makes is its to write, on a handle of its own.
    assert.equal((await send({ op: 'log', method: 'makeBranch', args: ['what-if', 'main', 1, false] }))!.ok, true)
    const side = (await send({ op: 'log', method: 'openLog', args: [true, 'what-if'] }))!.value as { h: number; branch: string; head: number }
    assert.deepEqual([side.branch, side.head], ['what-if', 1])
    assert.equal((await send({ h: side.h, ...commit([event(2, 'step', 'tick 2', 'what-if')]) }))!.ok, true)
    assert.equal((await send({ op: 'log', method: 'deleteBranch', args: ['main'] }))!.ok, false, 'a branch it did not make stays')
    // A write that fails half-way: its handle closes and the branch goes.
    assert.equal((await send({ op: 'close', h: side.h }))!.ok, true)
    assert.equal((await send({ op: 'log', method: 'deleteBranch', args: ['what-if'] }))!.ok, true)
    assert.deepEqual(log.branches().map((b) => [b.name, b.head]), [['main', 1]])
    // The wrong types are not a refusal: the link ends.
    assert.equal(await send({ op: 'log', method: 'makeBranch', args: ['x', 7, 1] }), null)
    assert.match(broken.join('\n'), /makeBranch: malformed arguments/)
  } finally {
    await end()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('only the app\'s own log moves to another branch over the link: continueOn from a side handle ends it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-loghost-'))
  const { send, end, broken, log } = await linked(join(dir, 'move.loom.db'), 'served')
  try {
    assert.equal((await send({ op: 'open', create: true }))!.ok, true)
    assert.equal((await send({ op: 'log', method: 'makeBranch', args: ['b', null, 0, false] }))!.ok, true)
    const side = (await send({ op: 'log', method: 'openLog', args: [true, null] }))!.value as { h: number; branch: string }
    assert.equal(side.branch, 'main')
    assert.equal(await send({ op: 'log', h: side.h, method: 'continueOn', args: ['b'] }), null)
    assert.match(broken.join('\n'), /continueOn: malformed/)
    assert.equal(log.branch, 'main')
  } finally {
    await end()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a confined replay reads the log through the same whitelist, only what changes nothing: a write or a malformed read ends its link', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-loghost-'))
  const db = join(dir, 'read.loom.db')
  const writer = SqliteLog.open(db)
  writer.append(event(1, 'code'))
  writer.append(event(2))
  writer.close()
  for (const [ask, why] of [
    [{ method: 'promote', args: ['main'] }, /'promote': a replay job only reads the log/],
    [{ method: 'makeBranch', args: ['x', null, 0, false] }, /'makeBranch': a replay job only reads the log/],
    [{ method: 'event', args: ['main', '2'] }, /event: malformed arguments/],
  ] as const) {
    const { send, end, broken } = await linked(db, 'reader')
    try {
      const read = await send({ op: 'log', method: 'event', args: ['main', 2] })
      assert.equal((read!.value as EventRecord).outputs.tty, 'tick 2')
      assert.equal((await send({ op: 'log', method: 'lastOfKind', args: ['main', 'code', 2] }))!.value, 1)
      assert.equal(await send({ op: 'log', ...ask }), null)
      assert.match(broken.join('\n'), why)
    } finally {
      await end()
    }
  }
  const after = SqliteLog.open(db)
  assert.deepEqual(after.branches().map((b) => [b.name, b.head]), [['main', 2]])
  after.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a read sent behind commits that are not answered yet sees every one of them; a forged commit among them is refused there, and the read sees exactly what came before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-loghost-'))
  try {
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => event(from + i))
    // Five commits of 400 events, then the reads, all sent before any answer comes back.
    const honest = await linked(join(dir, 'order.loom.db'))
    await honest.send({ op: 'open' })
    const commits = [0, 1, 2, 3, 4].map((k) => honest.post(commit(batch(1 + 400 * k, 400))))
    const events = honest.post({ op: 'events', from: 1, limit: null })
    const attempts = honest.post({ op: 'attempts', limit: null })
    const read = (await honest.answer(events))!
    assert.equal(read.ok, true, JSON.stringify(read).slice(0, 300))
    assert.deepEqual((read.value as EventRecord[]).map((e) => e.seq), batch(1, 2000).map((e) => e.seq))
    assert.equal((await honest.answer(attempts))!.ok, true)
    // Each commit's answer gives each event its hash, raw: 64 hex digits an event, chained from the one before.
    let parent = ''
    for (const c of commits) {
      const a = (await honest.answer(c))!
      assert.equal(a.ok, true)
      assert.equal((a.texts as string).length, 64 * 400)
      if (parent) assert.equal((a.value as { parent: string }).parent, parent)
      parent = (a.texts as string).slice(-64)
    }
    await honest.end()

    // The third commit's second event claims another seq: it and everything after it are refused, nothing of them written.
    const forged = await linked(join(dir, 'forged.loom.db'))
    await forged.send({ op: 'open' })
    const sent = [0, 1, 2, 3].map((k) => forged.post(commit(batch(1 + 400 * k, 400), (c) => k === 2 && (c.texts = (c.texts as string).replace('"seq":802,', '"seq":9802,')))))
    const after = forged.post({ op: 'events', from: 1, limit: null })
    const seen = (await forged.answer(after))!
    assert.deepEqual((seen.value as EventRecord[]).map((e) => e.seq), batch(1, 800).map((e) => e.seq))
    const answers = await Promise.all(sent.map((i) => forged.answer(i)))
    assert.deepEqual(answers.map((a) => a!.ok), [true, true, false, false])
    assert.match(String(answers[2]!.error), /event 802 is not an event of branch 'main'/)
    // The log goes on from what it acknowledged: the honest continuation of event 800 is written.
    assert.equal((await forged.send(commit(batch(801, 3))))!.ok, true)
    await forged.end()
    const log = SqliteLog.open(join(dir, 'forged.loom.db'), { create: false })
    assert.equal(log.head, 803)
    assert.deepEqual(log.damageOf('main'), [])
    log.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('commit texts that are not UTF-8, or not one event a line, are refused and nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-loghost-'))
  try {
    const cases: [string, (c: Record<string, unknown>) => void][] = [
      ['a line for each event and one more, empty', (c) => (c.texts = `${c.texts as string}\n`)],
      ['NUL bytes', (c) => (c.texts = '\0'.repeat(200))],
      ['a count of events far larger than the texts', (c) => ((c.count = 100_000), (c.cuts = Array(100_000).fill(null)))],
    ]
    // Bytes that are not UTF-8 where the branch is named: the frame made by hand, the texts raw.
    const bad = Buffer.from((commit([event(1)]).texts as string).replace('"branch":"main"', '"branch":"m\u0000in"'))
    bad[bad.indexOf(0)] = 0xff
    cases.push(['bytes that are not UTF-8 where the branch is named', (c) => (c.raw = bad)])
    for (const [what, change] of cases) {
      const link = await linked(join(dir, `${cases.findIndex(([w]) => w === what)}.loom.db`))
      await link.send({ op: 'open' })
      const request = commit([event(1), event(2)], change)
      const reply = request.raw ? await link.sendRaw({ ...request, raw: undefined, texts: undefined, count: 1, cuts: [null] }, request.raw as Buffer) : await link.send(request)
      assert.ok(reply === null || reply.ok === false, `${what}: refused`)
      await link.end()
      const log = SqliteLog.open(join(dir, `${cases.findIndex(([w]) => w === what)}.loom.db`), { create: false })
      assert.equal(log.head, 0, `${what}: nothing of it was written`)
      log.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
