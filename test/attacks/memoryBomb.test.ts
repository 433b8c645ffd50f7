// A cell that allocates without end ends the process that runs cells at its
// heap limit (LOOM_ENGINE_MEMORY_MB, 64 MB here so that it dies in about a
// second): `loom run` says so with the last committed event and exits 1,
// `loom serve` restarts its engine saying why, and nothing acknowledged is
// lost — the log verifies with every event before the bomb.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectEngine } from '../../engine/host/socketTransport.ts'
import { EngineClient } from '../../engine/protocol/client.ts'
import { emptyRenderer, honest, serveShared, until } from './sharedServe.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-memory-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const SMALL_HEAP = { LOOM_ENGINE_MEMORY_MB: '64' }

/** Counts; the sixth step keeps every array it makes. */
const BOMB = `# Bomb

\`\`\`ts #grow
const count = state.var('count', 0)
export function step() {
  count.set(count.get() + 1)
  if (count.get() === 6) {
    const kept: number[][] = []
    for (;;) kept.push(new Array(1000).fill(count.get()))
  }
}
\`\`\`
`

const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...SMALL_HEAP } })

test('a cell that exhausts memory under loom run: exit 1, the limit and the last committed event said, every earlier event verifies', () => {
  const nb = join(dir, 'bomb.loom.md')
  writeFileSync(nb, BOMB)
  const db = join(dir, 'bomb.loom.db')
  const first = loom('run', nb, '--steps', '5')
  assert.equal(first.status, 0, first.stderr)
  const bombed = loom('run', nb, '--steps', '20')
  assert.equal(bombed.status, 1, bombed.stderr)
  assert.match(bombed.stderr, /the app ran out of memory at its limit of 64 MB in a transaction after event 6 of branch 'main': nothing after event 6 was committed, and every event up to it is in the log .*; LOOM_ENGINE_MEMORY_MB=N sets the limit\. A cell keeps more than fits/)
  assert.doesNotMatch(bombed.stderr, /Last few GCs|FATAL ERROR|Native stack/, "V8's own report is held back")
  const verify = loom('replay', db, '--verify', '--json')
  assert.equal(verify.status, 0, verify.stderr)
  const log = loom('log', db, '--json')
  assert.deepEqual(JSON.parse(log.stdout).map((e: { seq: number }) => e.seq), [1, 2, 3, 4, 5, 6])
})

test('a cell that exhausts memory under loom serve: the engine is restarted saying it ran out of memory, and the log keeps every committed event', async () => {
  const nb = join(dir, 'served.loom.md')
  writeFileSync(nb, BOMB)
  Object.assign(process.env, SMALL_HEAP)
  const renderer = emptyRenderer()
  const s = await serveShared(nb, renderer)
  try {
    const owner = () => connectEngine(`ws://127.0.0.1:${s.ownerPort}/engine`, `http://127.0.0.1:${s.ownerPort}`).then(async (t) => {
      const client = new EngineClient(t)
      await client.call('hello', { token: s.owner })
      return client
    })
    const client = await owner()
    await client.call('run', {}).catch(() => {})
    client.close()
    let restarted = ''
    await until('the engine was restarted after running out of memory', async () => {
      const c = await owner().catch(() => null)
      if (!c) return false
      try {
        restarted = (await c.call('status', {}).catch(() => ({ restarted: '' }))).restarted ?? ''
      } finally {
        c.close()
      }
      return restarted !== ''
    }, 60_000)
    assert.match(restarted, /the engine process stopped \(it ran out of memory at its limit of 64 MB; LOOM_ENGINE_MEMORY_MB=N sets the limit\)/)
    assert.doesNotMatch(s.stderr(), /Last few GCs|FATAL ERROR/)
    const c = await owner()
    try {
      const page = await c.call('log', { limit: 100 })
      const seqs = page.events.map((e: { seq: number }) => e.seq)
      assert.ok(seqs.length >= 1 && seqs.every((seq: number, i: number) => seq === i + 1), `the events are 1..N with none missing: ${seqs}`)
    } finally {
      c.close()
    }
    await honest(s)
    assert.ok(s.alive())
  } finally {
    delete process.env.LOOM_ENGINE_MEMORY_MB
    await s.stop()
    rmSync(renderer, { recursive: true, force: true })
  }
})
