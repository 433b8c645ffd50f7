// The log link of `loom serve`'s engine process (fd 4) as a broken engine
// would use it (DESIGN §9): the supervisor holds the SQLite log and answers
// only what logHost.ts lists. Garbage, an unknown method, a huge or deeply
// nested frame, bad arguments or a handle that is not open end that engine
// process — the supervisor starts another on the same log and goes on; a
// forged commit for another branch, or the deletion of a branch that engine
// process did not make, is refused with nothing changed.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { EngineSupervisor } from '../../engine/host/EngineSupervisor.ts'
import { forkEngine } from '../../engine/host/forkEngine.ts'
import { memoryPair } from '../../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../../engine/protocol/client.ts'
import { SqliteLog } from '../../engine/replay/sqliteLog.ts'

const REPO = resolve(import.meta.dirname, '..', '..')
const PROBE = join(REPO, 'test', 'fixtures', 'logLinkProbe.js')
const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

// The supervisor stops restarting after 5 crashes a minute (a crash loop): at most 4 per supervisor here.
const ROUNDS = [['garbage', 'huge', 'unknown', 'db'], ['nested', 'badArgs', 'handle']]

for (const [i, kinds] of ROUNDS.entries()) {
  test(`a broken engine process that abuses its log link (${kinds.join(', ')}) is ended and replaced; loom serve and the log carry on`, { timeout: 180_000 }, () => hostile(kinds!, i === ROUNDS.length - 1))
}

async function hostile(kinds: string[], forge: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-loglink-'))
  dirs.push(dir)
  const notebook = join(dir, 'counter.loom.md')
  copyFileSync(join(REPO, 'samples', 'counter.loom.md'), notebook)
  const crashes: string[] = []
  const starts: (string | null)[] = []
  const supervisor = new EngineSupervisor((o) => forkEngine(o, { preload: PROBE }), { notebook }, {
    crashed: (r) => crashes.push(r),
    started: (_pid, why) => starts.push(why),
  })
  await supervisor.start()
  const [mine, theirs] = memoryPair()
  supervisor.connect(theirs)
  const client = new EngineClient(mine)
  await client.call('hello', {})
  const restarted = (n: number) =>
    new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no restart: crashes ${crashes.join('; ')}`)), 30_000)
      const poll = setInterval(() => {
        if (starts.length > n) {
          clearInterval(poll)
          clearTimeout(timer)
          done()
        }
      }, 20)
    })
  try {
    let head = (await client.call('step', {})).event!.seq
    // A branch made by this engine process, which the next ones may not delete.
    if (forge) await client.call('fork', { name: 'keep', at: 1 })
    // Each of these breaks the link's rules: that engine goes, another starts on the same log.
    for (const kind of kinds) {
      const n = starts.length
      // The request that carries the order may be answered, or cut off by the restart: either is fine.
      await client.call('evaluate', { expr: `hostile:${kind}` }).catch(() => {})
      await restarted(n)
      const { event } = await client.call('step', {})
      assert.equal(event!.seq, head + 1, `after '${kind}' the log goes on where it was`)
      head = event!.seq
    }
    assert.equal(crashes.length, kinds.length, crashes.join('\n'))
    if (forge) {
      // A forged commit for another branch is refused (answered with an error, which this engine ignores: it sent
      // no such commit). The next step's commit is answered after it, in order, and this engine carries on.
      await client.call('evaluate', { expr: 'hostile:forgeCommit' }).catch(() => {})
      const { event } = await client.call('step', {})
      assert.equal(crashes.length, kinds.length, 'a refused commit is answered, not a crash')
      assert.equal(event!.seq, head + 1)
      // Deleting a branch another engine process made is refused.
      await client.call('evaluate', { expr: 'hostile:deleteBranch' }).catch(() => {})
      assert.equal((await client.call('step', {})).event!.seq, head + 2)
      assert.equal(crashes.length, kinds.length)
      const branches = await client.call('branches', {})
      assert.deepEqual(branches.map((b: { name: string }) => b.name), ['main', 'keep'], 'a forged commit made a branch, or a forged delete took one')
    }
  } finally {
    client.close?.()
    await supervisor.stop()
  }
  // The history is whole: every event readable and chained.
  const log = SqliteLog.open(notebook.replace(/\.md$/, '.db'), { create: false })
  try {
    assert.deepEqual(log.branches().map((b) => b.name), forge ? ['main', 'keep'] : ['main'])
    const events = log.eventsOf('main')
    assert.equal(events.length, log.head)
    assert.equal(events.some((e) => e.branch !== 'main'), false)
  } finally {
    log.close()
  }
}
