// The engine protocol's contract: one suite of behaviour, run twice — over an
// in-memory pair with the host in this process, and over the real WebSocket
// against a real `loom serve` (engine in its own child process) on port 0.
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { EngineHost } from '../engine/host/EngineHost.ts'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import type { Message, Notice, Transport } from '../engine/protocol/messages.ts'
import { ProtocolError } from '../engine/protocol/client.ts'
import { COUNTER, kindAt, printsAt, writeCounterHistory } from './bigLog.ts'

const BANK = readFileSync('samples/bank.loom.md', 'utf8')
const ECHO = readFileSync('samples/echo.loom.md', 'utf8')
const RACE = readFileSync('samples/tickets-race.loom.md', 'utf8')
/** Fence opened at line 5 and never closed. */
const BROKEN = '# Broken\n\nSome prose.\n\n```ts #state\nconst n = state.var(\'n\', 0)\n'

/** A page stands in for the renderer bundle: the served files are not what these tests are about. */
const RENDERER = mkdtempSync(join(tmpdir(), 'loom-renderer-'))
writeFileSync(join(RENDERER, 'index.html'), '<!doctype html><title>Loom</title>\n')

interface Rig {
  client: EngineClient
  /** Another connection to the same engine. */
  connect(): Promise<{ client: EngineClient; raw: Transport }>
  path: string
  close(): Promise<void>
  /** For the WebSocket rig: where the page would be. */
  origin?: string
  /** For the WebSocket rig: the owner's token, from the address loom serve printed. */
  token?: string
  serve?: ChildProcess
  stderr?: () => string
}

/** A notebook file in a directory of its own; with `log`, a copy of that log beside it as its history. */
function notebookFile(text: string, name = 'nb.loom.md', log?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loom-protocol-'))
  const path = join(dir, name)
  writeFileSync(path, text)
  if (log) copyFileSync(log, path.replace(/\.md$/, '.db'))
  return path
}

async function inProcess(text: string, log?: string): Promise<Rig> {
  const path = notebookFile(text, undefined, log)
  const host = await EngineHost.open({ notebook: path })
  const clients: EngineClient[] = []
  const connect = async () => {
    const [ui, engine] = memoryPair()
    host.connect(engine)
    const client = new EngineClient(ui)
    clients.push(client)
    return { client, raw: ui }
  }
  const { client } = await connect()
  return {
    client, connect, path,
    async close() {
      for (const c of clients) c.close()
      await host.close()
    },
  }
}

/** Starts `loom serve` on port 0 and waits for the URL it prints. */
export function startServe(path: string, env: Record<string, string> = {}): Promise<{ serve: ChildProcess; url: string; token: string; stderr: () => string }> {
  const serve = spawn(process.execPath, ['bin/loom.js', 'serve', path, '--port', '0'], { env: { ...process.env, LOOM_RENDERER_DIR: RENDERER, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  serve.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  return new Promise((resolve, reject) => {
    serve.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /^Loom is serving .* at (http:\/\/127\.0\.0\.1:\d+\/)\?token=([\w-]+)$/m.exec(out)
      if (m) resolve({ serve, url: m[1]!, token: m[2]!, stderr: () => err })
    })
    serve.on('exit', (code) => reject(new Error(`loom serve ended (${code}) before serving: ${err}`)))
  })
}

export function stopServe(serve: ChildProcess): Promise<void> {
  if (serve.exitCode !== null || serve.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    serve.once('exit', () => resolve())
    serve.kill('SIGINT')
  })
}

async function overWebSocket(text: string, log?: string): Promise<Rig> {
  const path = notebookFile(text, undefined, log)
  const { serve, url, token, stderr } = await startServe(path)
  const origin = url.slice(0, -1)
  const clients: EngineClient[] = []
  const connect = async () => {
    const raw = withToken(await connectEngine(`${origin.replace('http:', 'ws:')}/engine`, origin), token)
    const client = new EngineClient(raw)
    clients.push(client)
    // As a page does first: until a hello with the token, serve relays nothing either way.
    await client.call('hello', {})
    return { client, raw }
  }
  const { client } = await connect()
  return {
    client, connect, path, origin, token, serve, stderr,
    async close() {
      for (const c of clients) c.close()
      await stopServe(serve)
    },
  }
}

/** The page's side of `loom serve`'s door: every hello carries the owner's token (the one in the printed address). */
function withToken(raw: Transport, token: string): Transport {
  return {
    ...raw,
    send(m) {
      const r = m as { kind?: unknown; op?: unknown; params?: unknown }
      if (r.kind === 'request' && r.op === 'hello') m = { ...m, params: { ...(r.params as object), token } } as Message
      raw.send(m)
    },
  }
}

/** The next notice of `type` (that satisfies `ok`). Subscribe before doing what causes it. */
function next<T extends Notice['type']>(client: EngineClient, type: T, ok: (n: Extract<Notice, { type: T }>) => boolean = () => true): Promise<Extract<Notice, { type: T }>> {
  return new Promise((resolve) => {
    const stop = client.on(type, (n) => {
      if (!ok(n)) return
      stop()
      resolve(n)
    })
  })
}

/** Sends anything at all and waits for the next response on that connection. */
function rawCall(raw: Transport, message: unknown): Promise<Extract<Message, { kind: 'response' }>> {
  return new Promise((resolve) => {
    const stop = raw.onMessage((m) => {
      if (m.kind !== 'response') return
      stop()
      resolve(m)
    })
    raw.send(message as Message)
  })
}

/** The counter's history of 1,000,000 events, written once and copied beside each rig's notebook. */
let million: Promise<string> | null = null
function millionEventLog(): Promise<string> {
  million ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-million-'))
    const db = join(dir, 'nb.loom.db')
    await writeCounterHistory(db, join(dir, 'nb.loom.md'), 1_000_000)
    return db
  })()
  return million
}

const rigs = { 'in-memory pair, host in process': inProcess, 'WebSocket, loom serve with its engine process': overWebSocket }

for (const [name, open] of Object.entries(rigs)) {
  describe(`protocol over ${name}`, () => {
    test('hello answers with the notebook, its cells and the run status', async () => {
      const rig = await open(BANK)
      try {
        const hello = await rig.client.call('hello', { client: 'test' })
        assert.equal(hello.protocol, 1)
        assert.equal(hello.notebook.text, BANK)
        assert.equal(hello.notebook.parseError, null)
        assert.deepEqual(hello.notebook.cells.map((c) => [c.id, c.kind]), [['prose-1', 'prose'], ['state', 'code'], ['prose-2', 'prose'], ['step', 'code'], ['prose-3', 'prose'], ['teller', 'code']])
        assert.deepEqual(hello.notebook.cells[1]!.declares, ['accounts', 'transfers', 'refused'])
        assert.equal(hello.status.state, 'ready')
        assert.equal(hello.status.branch, 'main')
        assert.equal(hello.status.head, 1, 'the code event')
      } finally {
        await rig.close()
      }
    })

    test('step commits an event, and every connected UI hears of it and of its tty output', async () => {
      const rig = await open(BANK)
      try {
        await rig.client.call('hello', {})
        const other = (await rig.connect()).client
        const heard = [next(rig.client, 'events'), next(other, 'events')]
        const tty = next(rig.client, 'tty')
        const { event, status } = await rig.client.call('step', {})
        assert.equal(event?.seq, 2)
        assert.equal(event?.kind, 'step')
        assert.equal(status.head, 2)
        for (const n of await Promise.all(heard)) assert.deepEqual(n.events.map((e) => e.seq), [2])
        assert.equal((await tty).text, 'alice → bob: 30\n')
      } finally {
        await rig.close()
      }
    })

    test('log answers pages of a branch, and names the branches when one does not exist', async () => {
      const rig = await open(BANK)
      try {
        for (let i = 0; i < 3; i++) await rig.client.call('step', {})
        const page = await rig.client.call('log', { from: 2, limit: 2 })
        assert.equal(page.head, 4)
        assert.deepEqual(page.events.map((e) => e.seq), [2, 3])
        assert.deepEqual((await rig.client.call('log', {})).events.map((e) => e.kind), ['code', 'step', 'step', 'step'])
        assert.deepEqual((await rig.client.call('log', { from: 9 })).events, [])
        await assert.rejects(rig.client.call('log', { branch: 'nope' }), /there is no branch 'nope'; the branches are main/)
        assert.deepEqual(await rig.client.call('branches', {}), [{ name: 'main', head: 4, parent: null, forkedAt: null, live: true }])
      } finally {
        await rig.close()
      }
    })

    test('the state at an earlier event differs from the state at the head', async () => {
      const rig = await open(BANK)
      try {
        await rig.client.call('step', {})
        const before = await rig.client.call('state', { at: 1 })
        const now = await rig.client.call('state', {})
        assert.equal(before.at, 1)
        assert.equal(now.at, 2)
        assert.deepEqual(before.values.accounts, { kind: 'map', value: { alice: 100, bob: 50, carol: 0 } })
        assert.deepEqual(now.values.accounts, { kind: 'map', value: { alice: 70, bob: 80, carol: 0 } })
        await assert.rejects(rig.client.call('state', { at: 7 }), /has events 1..2; there is no event 7/)
      } finally {
        await rig.close()
      }
    })

    test('editCell live-codes the running app: the next transaction runs the new code', async () => {
      const rig = await open(BANK)
      try {
        const { notebook } = await rig.client.call('hello', {})
        const step = notebook.cells.find((c) => c.id === 'step')!.source
        const changed = step.replace('sys.tty.write(`${t.from} → ${t.to}: ${t.amount}\\n`)', 'sys.tty.write(`moved ${t.amount} from ${t.from} to ${t.to}\\n`)')
        assert.notEqual(changed, step)
        const heard = next(rig.client, 'notebook')
        const r = await rig.client.call('editCell', { cell: 'step', source: changed })
        assert.equal(r.ok, true)
        assert.equal(r.ok && r.seq, 2, 'a code event')
        assert.equal((await heard).notebook.cells.find((c) => c.id === 'step')!.source, changed)
        const { event } = await rig.client.call('step', {})
        assert.equal(event?.outputs.tty, 'moved 30 from alice to bob\n')
      } finally {
        await rig.close()
      }
    })

    test('a broken edit is refused at its cell and line, and the app keeps running the old code', async () => {
      const rig = await open(BANK)
      try {
        const { notebook } = await rig.client.call('hello', {})
        const lines = notebook.cells.find((c) => c.id === 'step')!.source.split('\n')
        assert.match(lines[2]!, /const from =/)
        lines[2] = '  const from = accounts.get(t.from) ??'
        const r = await rig.client.call('editCell', { cell: 'step', source: lines.join('\n') })
        assert.equal(r.ok, false)
        assert.ok(!r.ok && r.problems.length > 0)
        const where = !r.ok ? r.problems[0]!.where : undefined
        assert.equal(where?.cell, 'step')
        assert.equal(where?.line, 4, 'esbuild reports the missing operand where the next token is')
        assert.equal(where?.fileLine, BANK.split('\n').indexOf('```ts #step') + 1 + 4)
        // The old code runs on.
        const { event } = await rig.client.call('step', {})
        assert.equal(event?.outputs.tty, 'alice → bob: 30\n')
        assert.equal((await rig.client.call('notebook', {})).problems[0]?.where?.cell, 'step')
      } finally {
        await rig.close()
      }
    })

    test('an edit whose code does not load is refused with a typed error at the cell and line where it failed, in the answer and in the notebook view', async () => {
      const rig = await open(BANK)
      try {
        const { notebook } = await rig.client.call('hello', {})
        const source = notebook.cells.find((c) => c.id === 'state')!.source
        const lines = source.split('\n')
        const r = await rig.client.call('editCell', { cell: 'state', source: `${source}\nconst again = state.var('accounts', 0)` })
        assert.equal(r.ok, false)
        const error = !r.ok ? r.problems[0]! : null
        assert.equal(error?.code, 'load')
        assert.match(error!.message, /^state 'accounts' is declared twice: first at .*\(cell #state, line \d+\); give each state its own name$/)
        assert.deepEqual({ cell: error?.where?.cell, line: error?.where?.line }, { cell: 'state', line: lines.length + 1 })
        assert.deepEqual((await rig.client.call('notebook', {})).problems, !r.ok ? r.problems : [])
        // Back as it was, the code is the running code: no new code event, no error.
        const back = await rig.client.call('editCell', { cell: 'state', source })
        assert.deepEqual(back, { ok: true, codeHash: (await rig.client.call('status', {})).codeHash, seq: null })
        assert.deepEqual((await rig.client.call('notebook', {})).problems, [])
      } finally {
        await rig.close()
      }
    })

    test('save writes the file byte-identical except for the edited cell', async () => {
      const text = BANK.replace(/\n/g, '\r\n') // the file's own line endings survive too
      const rig = await open(text)
      try {
        const { notebook } = await rig.client.call('hello', {})
        const source = notebook.cells.find((c) => c.id === 'state')!.source
        const r = await rig.client.call('editCell', { cell: 'state', source: source.replace('carol: 0', 'carol: 10') })
        assert.equal(r.ok, true)
        const saved = await rig.client.call('save', {})
        assert.equal(saved.path, rig.path)
        const written = readFileSync(rig.path, 'utf8')
        assert.equal(written, text.replace('carol: 0', 'carol: 10'))
        assert.equal(saved.bytes, Buffer.byteLength(written))
      } finally {
        await rig.close()
      }
    })

    test('cells can be added, moved and deleted, and the notebook stays one the app runs', async () => {
      const rig = await open(BANK)
      try {
        const added = await rig.client.call('addCell', { after: 'state', kind: 'code', source: "const bonus = state.var('bonus', 5)" })
        assert.equal(added.ok, true)
        assert.equal(added.cell, 'bonus', 'named after the state it declares, in its fence, so it keeps its id when cells move')
        const cells = () => rig.client.call('notebook', {}).then((n) => n.cells.map((c) => c.id))
        assert.deepEqual(await cells(), ['prose-1', 'state', added.cell, 'prose-2', 'step', 'prose-3', 'teller'])
        assert.equal((await rig.client.call('state', {})).values.bonus?.value, 5)
        const moved = await rig.client.call('moveCell', { cell: 'step', to: 0 })
        assert.equal(moved.ok, true)
        assert.deepEqual(await cells(), ['step', 'prose-1', 'state', added.cell, 'prose-2', 'teller'], 'the prose around the moved cell is one block now')
        assert.equal((await rig.client.call('step', {})).event?.outputs.tty, 'alice → bob: 30\n')
        const removed = await rig.client.call('deleteCell', { cell: 'step' })
        assert.equal(removed.ok, true)
        assert.equal((await rig.client.call('notebook', {})).cells.some((c) => c.id === 'step'), false)
        await assert.rejects(rig.client.call('deleteCell', { cell: 'step' }), /there is no cell 'step'/)
      } finally {
        await rig.close()
      }
    })

    test('ttyInput reaches sys.tty.read, and the output comes back as tty notices', async () => {
      const rig = await open(ECHO)
      try {
        await rig.client.call('hello', {})
        const echoed = next(rig.client, 'tty', (n) => n.text.includes('HI'))
        await rig.client.call('ttyInput', { text: 'hi\n' })
        await rig.client.call('run', {})
        assert.equal((await echoed).text, 'HI\n')
        const parked = await rig.client.call('pause', {})
        assert.equal(parked.head, 4, 'three reads and the code event')
        // Pause works while a step waits: the app is paused (it will not wake on input), and says what waits.
        assert.equal(parked.state, 'paused')
        assert.match(parked.waiting ?? '', /waiting for 1 character of input/)
        const waits = next(rig.client, 'status', (n) => n.status.state === 'parked')
        await rig.client.call('run', {})
        assert.match((await waits).status.waiting ?? '', /waiting for 1 character of input/)
        assert.equal((await rig.client.call('evaluate', { expr: 'lines.get()' })).value, 1)
      } finally {
        await rig.close()
      }
    })

    test('evaluate answers expressions over the state at a moment, and refuses to change it or reach the host', async () => {
      const rig = await open(BANK)
      try {
        await rig.client.call('step', {})
        assert.equal((await rig.client.call('evaluate', { expr: "accounts.get('alice')" })).value, 70)
        assert.equal((await rig.client.call('evaluate', { expr: "accounts.get('alice')", at: 1 })).value, 100)
        assert.deepEqual((await rig.client.call('evaluate', { expr: 'transfers.items().map((t) => t.amount)' })).value, [60, 100, 45])
        await assert.rejects(rig.client.call('evaluate', { expr: "accounts.set('alice', 0)" }), /accounts\.set\(\) would change state, and the REPL is read-only/)
        await assert.rejects(rig.client.call('evaluate', { expr: 'transfers.take()' }), /read-only/)
        await assert.rejects(rig.client.call('evaluate', { expr: 'transfers.peek().amount = 1' }), /read-only/)
        await assert.rejects(rig.client.call('evaluate', { expr: 'accounts = null' }), /read-only/)
        assert.equal((await rig.client.call('evaluate', { expr: 'typeof process + typeof require' })).value, 'undefinedundefined')
        // sys reads the moment, as a cell would have: its event's time; no clock or randomness of the REPL's own.
        const events = (await rig.client.call('log', {})).events
        assert.equal((await rig.client.call('evaluate', { expr: 'sys.time.now()', at: 1 })).value, events[0]!.time)
        assert.equal((await rig.client.call('evaluate', { expr: 'new Date(sys.time.now()).getTime()' })).value, events[events.length - 1]!.time)
        await assert.rejects(rig.client.call('evaluate', { expr: 'Date.now()' }), /Date\.now\(\) is not available in the REPL: use sys\.time\.now\(\)/)
        await assert.rejects(rig.client.call('evaluate', { expr: 'Math.random()' }), /Math\.random\(\) is not available in the REPL/)
        await assert.rejects(rig.client.call('evaluate', { expr: 'sys.fork(2)' }), /sys\.fork\(\) is not available in the REPL: it belongs to a transaction/)
        await assert.rejects(rig.client.call('evaluate', { expr: "this.constructor.constructor('return process')().exit()" }), /process is not defined/)
        await assert.rejects(rig.client.call('evaluate', { expr: 'accounts.get(' }), /does not parse/)
        assert.equal((await rig.client.call('state', {})).values.accounts?.value && (await rig.client.call('evaluate', { expr: "accounts.get('alice')" })).value, 70)
      } finally {
        await rig.close()
      }
    })

    test('malformed messages are answered with errors, and the connection keeps working', async () => {
      const rig = await open(BANK)
      try {
        const { client, raw } = await rig.connect()
        const unknown = await rawCall(raw, { kind: 'request', id: 7, op: 'launch', params: {} })
        assert.equal(unknown.id, 7)
        assert.ok(!unknown.ok && /there is no op "launch"; the ops are hello, /.test(unknown.error.message))
        const badType = await rawCall(raw, { kind: 'request', id: 8, op: 'log', params: { limit: 'ten' } })
        assert.ok(!badType.ok && badType.id === 8 && /log: 'limit' must be a whole number/.test(badType.error.message))
        const missing = await rawCall(raw, { kind: 'request', id: 9, op: 'editCell', params: { cell: 'step' } })
        assert.ok(!missing.ok && /editCell needs 'source'/.test(missing.error.message))
        const typo = await rawCall(raw, { kind: 'request', id: 10, op: 'log', params: { limt: 5 } })
        assert.ok(!typo.ok && /log takes no parameter 'limt'/.test(typo.error.message))
        const shapeless = await rawCall(raw, { hello: 'there' })
        assert.ok(!shapeless.ok && shapeless.id === 0 && /requests only/.test(shapeless.error.message))
        const notObject = await rawCall(raw, [1, 2, 3])
        assert.ok(!notObject.ok && notObject.id === 0)
        assert.equal((await client.call('status', {})).state, 'ready')
      } finally {
        await rig.close()
      }
    })

    test('a notebook that does not parse opens with the parse error at its line, and its file is never written', async () => {
      const rig = await open(BROKEN)
      try {
        const hello = await rig.client.call('hello', {})
        assert.deepEqual(hello.notebook.cells, [])
        assert.equal(hello.notebook.text, BROKEN)
        assert.equal(hello.notebook.parseError?.where?.fileLine, 5)
        assert.match(hello.notebook.parseError!.message, /never closed/)
        assert.match(hello.status.waiting ?? '', /does not parse \(line 5\)/)
        await assert.rejects(rig.client.call('save', {}), /will not overwrite it/)
        await assert.rejects(rig.client.call('editCell', { cell: 'state', source: 'x' }), /does not parse/)
        await assert.rejects(rig.client.call('step', {}), /does not parse/)
        await assert.rejects(rig.client.call('log', {}), /no history yet/)
        assert.equal(readFileSync(rig.path, 'utf8'), BROKEN)
        assert.equal(existsSync(rig.path.replace(/\.md$/, '.db')), false, 'no log is made for it')
      } finally {
        await rig.close()
      }
      assert.equal(readFileSync(rig.path, 'utf8'), BROKEN)
    })

    test('fork at a past moment and promote it: the app continues on the fork from its head, and every UI hears of the branches', async () => {
      const rig = await open(BANK)
      try {
        await rig.client.call('step', {})
        await rig.client.call('step', {})
        const other = (await rig.connect()).client
        const heard = next(other, 'branches')
        const alt = await rig.client.call('fork', { name: 'alt', at: 2 })
        assert.deepEqual(alt, { name: 'alt', head: 2, parent: 'main', forkedAt: 2, live: false })
        assert.deepEqual((await heard).branches.map((b) => [b.name, b.live]), [['main', true], ['alt', false]])
        assert.deepEqual((await rig.client.call('state', { branch: 'alt' })).values.accounts?.value, { alice: 70, bob: 80, carol: 0 })

        const promotedHeard = next(other, 'branches', (n) => n.branches.some((b) => b.name === 'alt' && b.live))
        const promoted = await rig.client.call('promote', { name: 'alt' })
        assert.equal(promoted.status.branch, 'alt')
        assert.equal(promoted.status.head, 2)
        assert.deepEqual(promoted.branches.filter((b) => b.live).map((b) => b.name), ['alt'])
        await promotedHeard
        const { event } = await rig.client.call('step', {})
        assert.equal(event?.branch, 'alt')
        assert.equal(event?.seq, 3)
        assert.equal(event?.outputs.tty, 'bob → carol: 60\n', 'the fork replays what main did next, from its own state')
        assert.equal((await rig.client.call('log', { branch: 'main' })).head, 3, 'main is as it was')
        assert.equal((await rig.client.call('status', {})).branch, 'alt')

        await assert.rejects(rig.client.call('fork', { name: 'alt', at: 1 }), /branch 'alt' already exists/)
        await assert.rejects(rig.client.call('fork', { name: 'x', from: 'nope', at: 1 }), /there is no branch 'nope'; the branches are main, alt/)
        await assert.rejects(rig.client.call('fork', { name: 'x', at: 9 }), /branch 'alt' has events 1..3; there is no event 9/)
        await assert.rejects(rig.client.call('fork', { name: 'no good!', at: 1 }), /'no good!' is not a branch name/)
        await assert.rejects(rig.client.call('fork', { name: 'x', at: -1 }), /fork: 'at' must be an event number/)
        await assert.rejects(rig.client.call('promote', { name: 'nope' }), /there is no branch 'nope'; the branches are main, alt/)
        assert.deepEqual((await rig.client.call('branches', {})).map((b) => b.name), ['main', 'alt'])
      } finally {
        await rig.close()
      }
    })

    test('promote while the app runs: it keeps running, on the promoted branch', async () => {
      const rig = await open(COUNTER)
      try {
        await rig.client.call('run', {})
        await next(rig.client, 'events')
        await rig.client.call('fork', { name: 'again', at: 1 })
        const onFork = next(rig.client, 'events', (n) => n.events.some((e) => e.branch === 'again'))
        const promoted = await rig.client.call('promote', { name: 'again' })
        assert.equal(promoted.status.branch, 'again')
        await onFork
        const paused = await rig.client.call('pause', {})
        assert.equal(paused.branch, 'again')
        assert.ok(paused.head > 1)
        assert.equal((await rig.client.call('state', {})).values.count?.value, paused.head - 1, 'one step per event after the code event')
      } finally {
        await rig.close()
      }
    })

    test('a branch exported as text imports as a new branch with the same events, and a changed or foreign text is refused with its line', async () => {
      const rig = await open(BANK)
      try {
        await rig.client.call('step', {})
        await rig.client.call('step', {})
        const { text } = await rig.client.call('exportBranch', { branch: 'main' })
        assert.equal(JSON.parse(text.split('\n')[0]!).format, 'loom-branch')
        const heard = next(rig.client, 'branches')
        const copy = await rig.client.call('importBranch', { text, name: 'copy' })
        assert.deepEqual(copy, { name: 'copy', head: 3, parent: null, forkedAt: null, live: false })
        assert.deepEqual((await heard).branches.map((b) => b.name), ['main', 'copy'])
        const hashes = async (branch: string) => (await rig.client.call('log', { branch })).events.map((e) => e.hash)
        assert.deepEqual(await hashes('copy'), await hashes('main'))

        await assert.rejects(rig.client.call('importBranch', { text: 'hello\n' }), /not imported: line 1: not JSON/)
        await assert.rejects(rig.client.call('importBranch', { text: text.replace('alice → bob: 30', 'alice → bob: 31'), name: 'forged' }), /not imported: line \d+: event 2 does not match its hash/)
        await assert.rejects(rig.client.call('importBranch', { text }), /branch 'main' already exists .*import it under another name with 'name'/)
        await assert.rejects(rig.client.call('exportBranch', { branch: 'nope' }), /there is no branch 'nope'/)
        assert.deepEqual((await rig.client.call('branches', {})).map((b) => b.name), ['main', 'copy'], 'nothing half-imported stays')
        assert.equal((await rig.client.call('step', {})).event?.seq, 4, 'the app runs on')
      } finally {
        await rig.close()
      }
    })

    test('verify re-executes a range of a branch, telling every UI how far it has got', async () => {
      const rig = await open(BANK)
      try {
        for (let i = 0; i < 4; i++) await rig.client.call('step', {})
        const progress: Extract<Notice, { type: 'progress' }>[] = []
        rig.client.on('progress', (n) => progress.push(n))
        const r = await rig.client.call('verify', {})
        assert.deepEqual({ ok: r.ok, events: r.events, failure: r.failure }, { ok: true, events: 5, failure: null })
        const mine = progress.filter((n) => n.job === r.job)
        assert.equal(mine[0]?.done, 0)
        assert.deepEqual([mine.at(-1)?.done, mine.at(-1)?.total, mine.at(-1)?.op], [5, 5, 'verify'])
        assert.match(mine[0]!.what, /verifying events 1..5 of branch 'main'/)
        const part = await rig.client.call('verify', { from: 2, to: 3 })
        assert.equal(part.ok, true)
        assert.notEqual(part.job, r.job)
        await assert.rejects(rig.client.call('verify', { to: 9 }), /has events 1..5; there is no event 9/)
        await assert.rejects(rig.client.call('verify', { from: 4, to: 2 }), /empty range/)
        await assert.rejects(rig.client.call('verify', { branch: 'nope' }), /there is no branch 'nope'/)
      } finally {
        await rig.close()
      }
    })

    test('rerun replays a branch with the current code onto a new branch and lists where the outcomes diverge', async () => {
      const rig = await open(BANK)
      try {
        await rig.client.call('step', {})
        await rig.client.call('step', {})
        const { notebook } = await rig.client.call('hello', {})
        const step = notebook.cells.find((c) => c.id === 'step')!.source
        await rig.client.call('editCell', { cell: 'step', source: step.replace('sys.tty.write(`${t.from} → ${t.to}: ${t.amount}\\n`)', 'sys.tty.write(`moved ${t.amount}\\n`)') })
        const heard = next(rig.client, 'branches')
        const r = await rig.client.call('rerun', { onto: 'new-code' })
        assert.deepEqual(r.branch, { name: 'new-code', head: 3, parent: 'main', forkedAt: 0, live: false })
        assert.equal(r.inputs, 2, 'two steps; code events are not inputs')
        assert.deepEqual(r.divergences.map((d) => d.seq), [2, 3])
        assert.equal(r.divergences[0]!.what, 'printed "moved 30\\n" instead of "alice → bob: 30\\n"')
        assert.deepEqual(r.divergences.map((d) => d.now), [2, 3], 'each at its event on the new branch')
        assert.ok((await heard).branches.some((b) => b.name === 'new-code'))
        assert.deepEqual((await rig.client.call('log', { branch: 'new-code' })).events.map((e) => e.outputs.tty ?? null), [null, 'moved 30\n', 'moved 60\n'])
        await assert.rejects(rig.client.call('rerun', { onto: 'new-code' }), /cannot re-run branch 'main' onto 'new-code': branch 'new-code' already exists/)
        await assert.rejects(rig.client.call('rerun', { branch: 'nope', onto: 'x' }), /there is no branch 'nope'/)
      } finally {
        await rig.close()
      }
    })

    test('editState commits an edit event on the live head; a missing state or an edit that does not fit is refused at its cell', async () => {
      const rig = await open(BANK)
      try {
        const other = (await rig.connect()).client
        const heard = next(other, 'events', (n) => n.events.some((e) => e.kind === 'edit'))
        const { event } = await rig.client.call('editState', { edits: [{ state: 'accounts', key: 'dave', set: 25 }, { state: 'refused', add: 2 }, { state: 'transfers', push: { from: 'dave', to: 'alice', amount: 5 } }] })
        assert.equal(event.kind, 'edit')
        assert.equal(event.seq, 2)
        assert.equal((await heard).events[0]!.seq, 2)
        const now = await rig.client.call('state', {})
        assert.equal((now.values.accounts!.value as Record<string, number>).dave, 25)
        assert.equal(now.values.refused!.value, 2)
        assert.equal((now.values.transfers!.value as unknown[]).length, 5)

        const refused = async (edits: unknown, message: RegExp, cell?: string) => {
          await assert.rejects(rig.client.call('editState', { edits } as never), (err: ProtocolError) => {
            assert.match(err.message, message)
            assert.equal(err.where?.cell, cell)
            return true
          })
        }
        await refused([{ state: 'accounts', set: 1 }], /cannot edit: state 'accounts' is a map: its value is an object of entries/, 'state')
        await refused([{ state: 'refused', push: 1 }], /state 'refused' is a counter: only a queue takes push/, 'state')
        await refused([{ state: 'nope', set: 1 }], /cannot edit: there is no state 'nope'; the states are accounts, transfers, refused/)
        await refused([], /'edits' must be a list of 1 to 1000 edits/)
        await refused([{ state: 'refused', add: 'x' }], /edit 1 adds something that is not a finite number/)
        await refused([{ state: 'refused', add: 1 }, { state: 'accounts', key: 'a', set: 1, delete: true }], /edit 2 has set and delete: give one action/)
        await refused([{ state: 'accounts', key: 'a', delete: false }], /edit 1 deletes, and that needs 'key' and delete: true/)
        await assert.rejects(rig.client.call('editState', { edits: [{ state: 'refused', add: 1 }], at: 1 } as never), /editState takes no parameter 'at'/)
        assert.equal((await rig.client.call('status', {})).head, 2, 'nothing refused was committed')
      } finally {
        await rig.close()
      }
    })

    test('editState replaces a whole state and removes queue items by place; an undo (expect) is refused once the state changed since', async () => {
      const rig = await open(BANK)
      try {
        const state = async () => (await rig.client.call('state', {})).values
        const queued = (await state()).transfers!.value as unknown[]
        assert.ok(queued.length >= 3)
        // The middle item goes; the rest keep their order. The answer has the state after the edit.
        const removed = await rig.client.call('editState', { edits: [{ state: 'transfers', remove: 1 }] })
        assert.deepEqual(removed.after, { transfers: [queued[0], ...queued.slice(2)] })
        assert.deepEqual((await state()).transfers!.value, [queued[0], ...queued.slice(2)])
        await assert.rejects(rig.client.call('editState', { edits: [{ state: 'transfers', remove: 99 }] }), /state 'transfers' is a queue: it has no item 99 \(it holds \d+\)/)
        await assert.rejects(rig.client.call('editState', { edits: [{ state: 'transfers', remove: -1 }] } as never), /removes, and that needs the item's place/)
        await assert.rejects(rig.client.call('editState', { edits: [{ state: 'accounts', remove: 0 }] }), /state 'accounts' is a map: only a queue or bag item can be removed/)
        // Whole states: a map's entries (keys not given are deleted), a queue's items, a counter's count.
        const whole = await rig.client.call('editState', { edits: [{ state: 'accounts', set: { zoe: 7 } }, { state: 'transfers', set: [] }, { state: 'refused', set: 3 }] })
        assert.deepEqual(whole.after, { accounts: { zoe: 7 }, transfers: [], refused: 3 })
        // Undo: put back what the edit changed, expecting what it left. Accepted, as an edit event.
        const undo = await rig.client.call('editState', { edits: [{ state: 'refused', set: 0 }], expect: { refused: 3 } })
        assert.equal(undo.event.kind, 'edit')
        assert.equal((await state()).refused!.value, 0)
        // The state changed since (here by that undo): undoing again would overwrite it. Refused, nothing committed.
        const head = (await rig.client.call('status', {})).head
        await assert.rejects(rig.client.call('editState', { edits: [{ state: 'refused', set: 3 }], expect: { refused: 3 } }), /state 'refused' changed since that edit: undoing it would overwrite the change/)
        await assert.rejects(rig.client.call('editState', { edits: [{ state: 'refused', add: 1 }], expect: 3 } as never), /editState: 'expect' must be an object of state values by name/)
        assert.equal((await rig.client.call('status', {})).head, head)
        // The history re-executes: verify replays these edits like any other event.
        assert.equal((await rig.client.call('verify', {})).ok, true)
      } finally {
        await rig.close()
      }
    })

    test('timeline counts events by kind in equal ranges, through a fork into its parent; series samples numbers for sparklines', async () => {
      const rig = await open(BANK)
      try {
        for (let i = 0; i < 4; i++) await rig.client.call('step', {})
        await rig.client.call('editState', { edits: [{ state: 'accounts', key: 'dave', set: 1 }] })
        const t = await rig.client.call('timeline', { bins: 2 })
        assert.equal(t.head, 6)
        assert.deepEqual(t.bins, [
          { from: 1, to: 3, kinds: { code: 1, step: 2 }, outputs: 2 },
          { from: 4, to: 6, kinds: { step: 2, edit: 1 }, outputs: 2 },
        ])
        assert.equal((await rig.client.call('timeline', { bins: 50 })).bins.length, 6, 'no more bins than events')
        await rig.client.call('fork', { name: 'f', at: 3 })
        assert.deepEqual((await rig.client.call('timeline', { branch: 'f', bins: 1 })).bins, [{ from: 1, to: 3, kinds: { code: 1, step: 2 }, outputs: 2 }])
        assert.deepEqual((await rig.client.call('timeline', { from: 5, to: 6, bins: 1 })).bins, [{ from: 5, to: 6, kinds: { step: 1, edit: 1 }, outputs: 1 }])
        await assert.rejects(rig.client.call('timeline', { bins: 0 }), /timeline: 'bins' must be a whole number ≥ 1/)
        await assert.rejects(rig.client.call('timeline', { bins: 2, to: 99 }), /has events 1..6; there is no event 99/)
        await assert.rejects(rig.client.call('timeline', { bins: 2, from: 5, to: 2 }), /empty range/)
        await assert.rejects(rig.client.call('timeline', { bins: 2, branch: 'nope' }), /there is no branch 'nope'/)

        const s = await rig.client.call('series', { states: ['refused', 'accounts', 'nope'], points: 10 })
        assert.deepEqual(s.at, [1, 2, 3, 4, 5, 6])
        assert.deepEqual(s.values.refused, [0, 0, 0, 1, 1, 1], 'the third transfer is refused')
        assert.deepEqual(s.values.accounts, [null, null, null, null, null, null], 'a map is not a number')
        assert.deepEqual(s.values.nope, [null, null, null, null, null, null])
        assert.deepEqual(await rig.client.call('series', { states: ['refused'], from: 2, to: 6, points: 3 }), { at: [2, 4, 6], values: { refused: [0, 1, 1] } })
        await assert.rejects(rig.client.call('series', { states: 'refused', points: 3 } as never), /series: 'states' must be a list of at most 1000 strings/)
      } finally {
        await rig.close()
      }
    })

    test('explore from the live head finds the race with its shortest trace, and the counterexample opens as a branch', async () => {
      const rig = await open(RACE)
      try {
        const progress: Extract<Notice, { type: 'progress' }>[] = []
        rig.client.on('progress', (n) => progress.push(n))
        const r = await rig.client.call('explore', {})
        assert.equal(r.exhausted, true)
        assert.equal(r.violations.length, 1)
        const v = r.violations[0]!
        assert.equal(v.kind, 'test')
        assert.equal(v.test, 'no ticket is sold twice')
        assert.equal(v.where?.cell, 'step')
        assert.equal(v.trace.length, 4, 'Ann looks, Bob looks, Ann buys, Bob buys')
        assert.deepEqual(v.trace.map((m) => m.method), ['step', 'step', 'step', 'step'])
        const mine = progress.filter((n) => n.job === r.job)
        assert.ok(mine.length >= 2)
        assert.equal(mine.at(-1)?.done, r.states)

        const heard = next(rig.client, 'branches')
        const race = await rig.client.call('saveCounterexample', { job: r.job, violation: 0, name: 'race' })
        assert.deepEqual(race, { name: 'race', head: 5, parent: 'main', forkedAt: 1, live: false })
        assert.ok((await heard).branches.some((b) => b.name === 'race'))
        assert.equal((await rig.client.call('state', { branch: 'race' })).values.sold?.value, 2)
        assert.deepEqual((await rig.client.call('log', { branch: 'race', from: 2 })).events.map((e) => e.choices.map((c) => c.value)), v.trace.map((m) => m.choices))
        assert.equal((await rig.client.call('verify', { branch: 'race' })).ok, true, 'a counterexample is history like any other')

        await assert.rejects(rig.client.call('saveCounterexample', { job: 999, violation: 0, name: 'x' }), /there is no exploration 999/)
        await assert.rejects(rig.client.call('saveCounterexample', { job: r.job, violation: 3, name: 'x' }), /found 1 violation; there is no violation 3/)
        await assert.rejects(rig.client.call('saveCounterexample', { job: r.job, violation: 0, name: 'race' }), /already has a branch 'race'/)
        await assert.rejects(rig.client.call('explore', { at: 7 }), /has events 1..1; there is no event 7/)
        await assert.rejects(rig.client.call('explore', { depth: 0 }), /explore: 'depth' must be a whole number ≥ 1/)
        const bounded = await rig.client.call('explore', { maxStates: 3 })
        assert.deepEqual([bounded.exhausted, bounded.stoppedBy], [false, 'states'])
        // From event 0 (before anything happened): from the start of main, with what main recorded; its counterexample forks main at 0.
        const fromStart = await rig.client.call('explore', { at: 0 })
        assert.deepEqual([fromStart.exhausted, fromStart.violations.length], [true, 1])
        const root = await rig.client.call('saveCounterexample', { job: fromStart.job, violation: 0, name: 'race-from-start' })
        assert.deepEqual([root.parent, root.forkedAt], ['main', 0])
        assert.equal((await rig.client.call('verify', { branch: 'race-from-start' })).ok, true)
      } finally {
        await rig.close()
      }
    })

    test('preview a step with each sys.fork answer: different writes, nothing committed until one is', async () => {
      const rig = await open(RACE)
      try {
        const bob = await rig.client.call('preview', { method: 'step', choices: [1] })
        assert.deepEqual(bob.choices, [{ n: 2, value: 1 }])
        assert.deepEqual(bob.writes, [{ state: 'visits', op: 'set', key: 'bob', value: 'saw a free ticket' }])
        assert.equal(bob.committed, true)
        assert.equal(bob.outcomes.length, 2, 'Ann looks, or Bob looks')
        const ann = await rig.client.call('preview', { method: 'step', choices: [0] })
        assert.deepEqual(ann.writes, [{ state: 'visits', op: 'set', key: 'ann', value: 'saw a free ticket' }])
        assert.equal((await rig.client.call('status', {})).head, 1, 'previews commit nothing')
        const done = await rig.client.call('commitPreview', { id: ann.id })
        assert.ok('event' in done)
        assert.deepEqual([done.event.seq, done.event.kind, done.event.choices], [2, 'step', [{ n: 2, value: 0 }]])
        await assert.rejects(rig.client.call('commitPreview', { id: ann.id }), /there is no open preview \d+ \(it was committed or discarded\)/)
        await rig.client.call('discardPreview', { id: bob.id })
        await assert.rejects(rig.client.call('discardPreview', { id: bob.id }), /there is no open preview/)
        await assert.rejects(rig.client.call('preview', { method: 'http' }), /cannot preview http\(\): the app has no http\(\)/)
        await assert.rejects(rig.client.call('preview', { method: 'launch' } as never), /preview: 'method' must be "step", "http" or "gui"/)
        await assert.rejects(rig.client.call('preview', { method: 'step', choices: [-1] }), /'choices' must be a list of at most 1000 whole numbers/)
      } finally {
        await rig.close()
      }
    })

    test("gui(agent) previews with the person's answers, commits as a gui event, and forks off as a what-if branch", async () => {
      const rig = await open(BANK)
      try {
        const whatIf = await rig.client.call('preview', { method: 'gui', answers: { from: 'alice', to: 'carol', amount: 10 } })
        assert.deepEqual(whatIf.questions.map((q) => [q.key, q.answer]), [['from', 'alice'], ['to', 'carol'], ['amount', 10]])
        assert.equal(whatIf.committed, true)
        const heard = next(rig.client, 'branches')
        const branch = await rig.client.call('forkPreview', { id: whatIf.id, name: 'what-if' })
        assert.deepEqual(branch, { name: 'what-if', head: 2, parent: 'main', forkedAt: 1, live: false })
        assert.ok((await heard).branches.some((b) => b.name === 'what-if'))
        const forked = (await rig.client.call('log', { branch: 'what-if', from: 2 })).events[0]!
        assert.deepEqual([forked.kind, forked.input], ['gui', { answers: { from: 'alice', to: 'carol', amount: 10 } }])
        assert.equal((await rig.client.call('status', {})).head, 1, 'the live branch is as it was')
        await assert.rejects(rig.client.call('commitPreview', { id: whatIf.id }), /there is no open preview/)

        const real = await rig.client.call('preview', { method: 'gui', answers: { from: 'bob', to: 'alice', amount: 5 } })
        const done = await rig.client.call('commitPreview', { id: real.id })
        assert.ok('event' in done && done.event.kind === 'gui' && done.event.seq === 2)
        assert.equal(((await rig.client.call('state', {})).values.transfers!.value as unknown[]).length, 5)
        const broken = await rig.client.call('preview', { method: 'gui', answers: { from: 'bob', to: 'alice', amount: -1 } })
        assert.equal(broken.committed, false)
        await assert.rejects(rig.client.call('forkPreview', { id: broken.id, name: 'nope' }), /the preview does not commit, so there is nothing to fork: the amount is a number above 0/)
        assert.equal((await rig.client.call('branches', {})).some((b) => b.name === 'nope'), false, 'no empty branch is left behind')
        await assert.rejects(rig.client.call('forkPreview', { id: 999, name: 'x' }), /there is no open preview 999/)
      } finally {
        await rig.close()
      }
    })

    test('timeline bins a 1,000,000-event history by kind, the bins add up to the head, and series samples it', { timeout: 300_000 }, async () => {
      const rig = await open(COUNTER, await millionEventLog())
      try {
        const expected = (from: number, to: number) => {
          const kinds: Record<string, number> = {}
          let outputs = 0
          for (let s = from; s <= to; s++) {
            kinds[kindAt(s)] = (kinds[kindAt(s)] ?? 0) + 1
            if (printsAt(s)) outputs++
          }
          return { kinds, outputs }
        }
        const whole = await rig.client.call('timeline', { bins: 300 })
        assert.equal(whole.head, 1_000_000, 'the host resumed the history without a code event of its own')
        assert.equal(whole.bins.length, 300)
        let total = 0
        whole.bins.forEach((bin, i) => {
          assert.equal(bin.from, i === 0 ? 1 : whole.bins[i - 1]!.to + 1, 'bins follow one another')
          assert.ok(bin.to - bin.from === 3332 || bin.to - bin.from === 3333, 'bins are equal to within one event')
          assert.deepEqual(bin.kinds, expected(bin.from, bin.to).kinds, `bin ${i}`)
          assert.equal(bin.outputs, null, 'too long a range to count outputs')
          for (const n of Object.values(bin.kinds)) total += n
        })
        assert.equal(whole.bins.at(-1)!.to, 1_000_000)
        assert.equal(total, whole.head)

        const zoomed = await rig.client.call('timeline', { from: 123_457, to: 135_001, bins: 7 })
        for (const bin of zoomed.bins) assert.deepEqual({ kinds: bin.kinds, outputs: bin.outputs }, expected(bin.from, bin.to))

        await rig.client.call('fork', { name: 'f', at: 600_001 })
        const f = await rig.client.call('timeline', { branch: 'f', bins: 4 })
        assert.equal(f.head, 600_001)
        assert.deepEqual(f.bins.map((b) => b.kinds), f.bins.map((b) => expected(b.from, b.to).kinds))

        const s = await rig.client.call('series', { states: ['count'], points: 100 })
        assert.equal(s.at.length, 100)
        assert.equal(s.at.at(-1), 1_000_000)
        assert.deepEqual(s.values.count, s.at.map((seq) => (seq === 1 ? 0 : seq)), 'every event sets the count to its seq')
      } finally {
        await rig.close()
      }
    })
  })
}

describe('the WebSocket itself', () => {
  let rig: Rig
  const ready = overWebSocket(BANK).then((r) => (rig = r))
  after(() => rig?.close())

  /** A bare socket, as a page or a hostile client would open it. */
  function socket(origin: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${rig.origin!.replace('http:', 'ws:')}/engine`, { origin })
      ws.once('open', () => resolve(ws))
      ws.once('error', reject)
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)))
    })
  }
  const reply = (ws: WebSocket) => new Promise<Message>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))))

  test('a garbled or binary frame is answered with an error and the connection stays open', async () => {
    await ready
    const ws = await socket(rig.origin!)
    const answer = reply(ws)
    ws.send('{"kind": "request", "id": 1, "op": ')
    const m = await answer
    assert.ok(m.kind === 'response' && !m.ok && m.id === 0 && /not JSON/.test(m.error.message))
    const binary = reply(ws)
    ws.send(Buffer.from([1, 2, 3]))
    const b = await binary
    assert.ok(b.kind === 'response' && !b.ok && /JSON text frame/.test(b.error.message))
    const hello = reply(ws)
    ws.send(JSON.stringify({ kind: 'request', id: 2, op: 'hello', params: { token: rig.token } }))
    const h = await hello
    assert.ok(h.kind === 'response' && h.ok && h.id === 2)
    ws.close()
  })

  test('a frame over 16 MiB closes that connection (1009) and the engine serves everyone else', async () => {
    await ready
    const ws = await socket(rig.origin!)
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.on('error', () => {})
    ws.send(JSON.stringify({ kind: 'request', id: 1, op: 'ttyInput', params: { text: 'x'.repeat(17 * 1024 * 1024) } }))
    assert.equal(await closed, 1009)
    assert.equal((await rig.client.call('status', {})).branch, 'main')
  })

  test('a page from another origin, or a client that sends none, cannot connect', async () => {
    await ready
    await assert.rejects(socket('http://evil.example'), /refused with 403/)
    await assert.rejects(socket(rig.origin!.replace('127.0.0.1', 'attacker.127.0.0.1.nip.io')), /refused with 403/)
    await assert.rejects(connectEngine(`${rig.origin!.replace('http:', 'ws:')}/engine`, ''), /403/)
    await assert.rejects(connectEngine(`${rig.origin!.replace('http:', 'ws:')}/elsewhere`, rig.origin!), /404/)
  })
})

test('kill -9 of the engine process under loom serve: every UI is told, calls work again, and every event committed before is in the log', { timeout: 60_000 }, async () => {
  const rig = await overWebSocket(`# Ticks

\`\`\`ts #tick
const n = state.var('n', 0)
const last = state.var('last', 0)
export function step() {
  sys.time.await(last.get() + 2)
  last.set(sys.time.now())
  n.set(n.get() + 1)
}
\`\`\`
`)
  try {
    const other = (await rig.connect()).client
    const heard: { seq: number; hash: string }[] = []
    rig.client.on('events', (n) => heard.push(...n.events.map((e) => ({ seq: e.seq, hash: e.hash }))))
    const enough = next(rig.client, 'events', () => heard.length >= 20)
    await rig.client.call('run', {})
    await enough
    const crashed = [next(rig.client, 'engineCrashed'), next(other, 'engineCrashed')]
    const pid = Number(/engine process (\d+)/.exec(rig.stderr!())![1])
    process.kill(pid, 'SIGKILL')
    for (const n of await Promise.all(crashed)) assert.match(n.reason, /the engine process stopped \(signal SIGKILL\)/)

    // The next calls reach the new engine process, which continues the same log.
    const status = await rig.client.call('status', {})
    assert.match(status.restarted ?? '', /SIGKILL/)
    assert.ok(status.head >= heard.at(-1)!.seq)
    const log = await other.call('log', { limit: 1000 })
    const bySeq = new Map(log.events.map((e) => [e.seq, e.hash]))
    for (const e of heard) assert.equal(bySeq.get(e.seq), e.hash, `event ${e.seq}, committed and announced before the kill, is in the log`)
    const { event } = await rig.client.call('step', {})
    assert.equal(event?.seq, status.head + 1)
    assert.match(rig.stderr!(), /restarted it on the same log \(engine process \d+\)/)
  } finally {
    await rig.close()
  }
})

test('loom serve refuses a log that is not a Loom log (exit 2) and leaves it alone', async () => {
  const path = notebookFile(BANK)
  const db = path.replace(/\.md$/, '.db')
  writeFileSync(db, 'not a database at all')
  const serve = spawn(process.execPath, ['bin/loom.js', 'serve', path], { env: { ...process.env, LOOM_RENDERER_DIR: RENDERER }, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  serve.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const code = await new Promise<number | null>((resolve) => serve.on('exit', (c) => resolve(c)))
  assert.equal(code, 2)
  assert.match(err, /is not a Loom log/)
  assert.equal(readFileSync(db, 'utf8'), 'not a database at all')
})
