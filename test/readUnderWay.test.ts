// A safe read under way in `loom serve`'s engine process: the log host performs
// it and answers when the world does, not in turn. Meanwhile the window's
// other requests (the history, which makes the log durable first) are answered,
// the app shows it waits for the read, and the read's response is the world's
// (it once waited behind the read, cut the log link after 60 s and recorded
// that as the response: the run pill said Running for good).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EngineSupervisor } from '../engine/host/EngineSupervisor.ts'
import { forkEngine } from '../engine/host/forkEngine.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import type { StatusView } from '../engine/protocol/statusViews.ts'
import { allowEffects } from './helpers.ts'

test('while a safe read is under way, the history is answered, the app is parked waiting for the read, and the response recorded is the one the world gave', { timeout: 180_000 }, async (t) => {
  // The service holds its answer until released (at most a minute: a failing test does not hang it).
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  let hits = 0
  const srv: Server = createServer((_req, res) => {
    hits++
    void Promise.race([held, new Promise((r) => setTimeout(r, 60_000).unref())]).then(() => res.end('12 in stock'))
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  t.after(() => {
    release()
    srv.closeAllConnections()
    srv.close()
  })
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/stock`
  const dir = await mkdtemp(join(tmpdir(), 'loom-read-under-way-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const notebook = join(dir, 'shop.loom.md')
  await writeFile(notebook, `---
effects:
  http: ['http://127.0.0.1:*']
---
# Shop

\`\`\`ts #shop
const stock = state.var<string>('stock', '')

export function step() {
  const r = sys.http.get('${url}', { timeoutMs: 120000 })
  if (stock.get() === r.body) sys.abort('nothing new')
  stock.set(r.body)
}
\`\`\`
`)
  await allowEffects(notebook)
  const supervisor = new EngineSupervisor((o) => forkEngine(o), { notebook }, {})
  await supervisor.start()
  t.after(() => supervisor.stop())
  const [mine, theirs] = memoryPair()
  supervisor.connect(theirs)
  const client = new EngineClient(mine)
  t.after(() => client.close?.())
  await client.call('hello', {})
  await client.call('run', {})
  // Bounded polls (a loaded machine is slow, never wrong).
  const until = async (what: string, ok: (s: StatusView) => boolean): Promise<StatusView> => {
    for (let i = 0; i < 600; i++) {
      const s = await client.call('status', {})
      if (ok(s)) return s
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`no status ${what} within a minute`)
  }
  await until('with the read under way', (s) => (s.reading ?? []).length === 1)
  // The history makes the log durable first: nothing to commit, so it waits only for what is answered in turn.
  const { events } = await client.call('log', {})
  assert.deepEqual(events.map((e) => e.kind), ['code'], 'the history while the read is under way: the code, nothing read yet')
  const parked = await until('parked', (s) => s.state === 'parked')
  assert.equal(parked.waiting, `waiting for sys.http.get("${url}")`)
  // Under way is sent, not yet received: the request reaches the service a moment later on a busy machine.
  for (let i = 0; i < 600 && hits === 0; i++) await new Promise((r) => setTimeout(r, 100))
  assert.equal(hits, 1, 'the service got the read once')
  release()
  await until('with the read done', (s) => s.state === 'parked' && !s.reading && s.head >= 3)
  const { values } = await client.call('state', {})
  assert.equal(values.stock?.value, '12 in stock', 'the response recorded is the service\'s')
})
