// The supervisor's promises, with a stand-in engine process: a crash is
// told to every UI, what the dead process never answered is answered with
// an error, what arrives during the restart is delivered after it, and a
// process that keeps dying is given up on with a reason instead of looping.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EngineSupervisor } from '../engine/host/EngineSupervisor.ts'
import type { EngineProcess, FromEngine, ToEngine } from '../engine/host/engineLink.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import type { Notice } from '../engine/protocol/messages.ts'

/** A pretend engine process: answers `status` with how it was started, never answers `log`. */
class FakeProcess implements EngineProcess {
  static started: FakeProcess[] = []
  readonly pid = 1000 + FakeProcess.started.length
  restarted: string | undefined
  private listeners: ((m: FromEngine) => void)[] = []
  private exits: ((reason: string) => void)[] = []
  private held: ToEngine[] = []
  /** While false, the process is still starting: it holds what it is sent. */
  ready = false
  constructor(private readonly startAtOnce: boolean) {
    FakeProcess.started.push(this)
  }
  send(m: ToEngine): void {
    queueMicrotask(() => this.receive(m))
  }
  private receive(m: ToEngine): void {
    if ('start' in m) {
      this.restarted = m.start.restarted
      if (this.startAtOnce) this.becomeReady()
      return
    }
    if (!this.ready) return void this.held.push(m)
    if ('message' in m) {
      const r = m.message as { id: number; op: string }
      if (r.op === 'status') this.emit({ conn: m.conn, message: { kind: 'response', id: r.id, ok: true, result: { pid: this.pid, restarted: this.restarted ?? null } } })
    }
  }
  becomeReady(): void {
    this.ready = true
    this.emit({ ready: { pid: this.pid } })
    for (const m of this.held.splice(0)) this.receive(m)
  }
  private emit(m: FromEngine): void {
    for (const fn of this.listeners) fn(m)
  }
  onMessage(fn: (m: FromEngine) => void): void {
    this.listeners.push(fn)
  }
  onExit(fn: (reason: string) => void): void {
    this.exits.push(fn)
  }
  kill(): void {
    this.die('signal SIGKILL')
  }
  die(how: string): void {
    for (const fn of this.exits) fn(how)
  }
}

function setup(startAtOnce = () => true) {
  FakeProcess.started = []
  const crashes: string[] = []
  const supervisor = new EngineSupervisor(() => new FakeProcess(startAtOnce()), { notebook: 'x.loom.md' }, { crashed: (r) => crashes.push(r) })
  const connect = () => {
    const [ui, engine] = memoryPair()
    supervisor.connect(engine)
    const client = new EngineClient(ui)
    const notices: Notice[] = []
    client.on('engineCrashed', (n) => notices.push(n))
    return { client, notices }
  }
  return { supervisor, connect, crashes, current: () => FakeProcess.started.at(-1)! }
}

const status = (client: EngineClient) => client.call('status', {}) as unknown as Promise<{ pid: number; restarted: string | null }>

test('a crash is told to every UI, unanswered requests fail with why, and the restarted engine answers the same connections', async () => {
  const { supervisor, connect, crashes, current } = setup()
  await supervisor.start()
  const a = connect()
  const b = connect()
  assert.equal((await status(a.client)).pid, 1000)
  const unanswered = a.client.call('log', {})
  await new Promise((r) => setImmediate(r))
  current().die('signal SIGKILL')
  await assert.rejects(unanswered, /the engine process stopped \(signal SIGKILL\) before it answered; it is being restarted on the same log — try again/)
  assert.deepEqual(crashes, ['the engine process stopped (signal SIGKILL)'])
  for (const ui of [a, b]) assert.deepEqual(ui.notices, [{ type: 'engineCrashed', reason: 'the engine process stopped (signal SIGKILL)' }])
  assert.deepEqual(await status(a.client), { pid: 1001, restarted: 'the engine process stopped (signal SIGKILL)' })
  assert.equal((await status(b.client)).pid, 1001)
})

test('what a UI sends while the engine restarts is delivered once it is ready', async () => {
  let startAtOnce = true
  const { supervisor, connect, current } = setup(() => startAtOnce)
  await supervisor.start()
  const a = connect()
  startAtOnce = false
  current().die('exit code 70')
  const during = status(a.client)
  await new Promise((r) => setImmediate(r))
  current().becomeReady()
  assert.equal((await during).pid, 1001)
})

test('an engine that keeps dying is given up on, and every request then says why', async () => {
  const { supervisor, connect, current } = setup()
  await supervisor.start()
  const a = connect()
  for (let i = 0; i < 6; i++) {
    await status(a.client)
    current().die('exit code 70')
  }
  await new Promise((r) => setImmediate(r))
  assert.equal(FakeProcess.started.length, 6, 'five restarts, then no more')
  assert.equal(a.notices.length, 6, 'one notice per crash')
  assert.match((a.notices.at(-1) as { reason: string }).reason, /6 times within a minute; Loom stopped restarting it/)
  await assert.rejects(status(a.client), /stopped restarting it/)
})

test('an engine that cannot open the notebook fails the start with its reason, and is not restarted', async () => {
  FakeProcess.started = []
  const supervisor = new EngineSupervisor(() => {
    const p = new FakeProcess(false)
    p.send = () => queueMicrotask(() => (p as unknown as { listeners: ((m: FromEngine) => void)[] }).listeners.forEach((fn) => fn({ fatal: 'x.loom.db is not a Loom log' })))
    return p
  }, { notebook: 'x.loom.md' })
  await assert.rejects(supervisor.start(), /x\.loom\.db is not a Loom log/)
  assert.equal(FakeProcess.started.length, 1)
})
