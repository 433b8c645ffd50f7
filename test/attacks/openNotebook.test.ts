// Attacks on switching the notebook of `loom serve` (openNotebook,
// recentNotebooks; engine/host/NotebookSwitch.ts, recentNotebooks.ts) with
// the owner's own link, where a path can name anything on the machine: a
// link to /dev/zero, a FIFO, a huge or binary .md, two opens at once; and a
// recent.json that is a link to /dev/zero or a FIFO when serve starts. Each
// is refused or reported; serve never hangs or exits and the notebook open
// before still answers.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { connectEngine } from '../../engine/host/socketTransport.ts'
import { EngineClient } from '../../engine/protocol/client.ts'
import { serveCopy } from '../browser.ts'
import { emptyRenderer } from './sharedServe.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-open-'))
const renderer = emptyRenderer()
after(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(renderer, { recursive: true, force: true })
})

/** Within `ms`, or a failure naming what hung. */
/** The owner's client of a served session: connected, and said hello with the token it printed. */
async function ownerOf(server: { origin: string; token: string }): Promise<EngineClient> {
  const owner = new EngineClient(await connectEngine(`${server.origin.replace('http', 'ws')}/engine`, server.origin))
  await owner.call('hello', { token: server.token })
  return owner
}

async function within<T>(what: string, p: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

test('a recent.json that is a link to /dev/zero or a FIFO does not hang loom serve: it starts and lists nothing', async () => {
  for (const kind of ['zero', 'fifo']) {
    const config = join(dir, `config-${kind}`)
    mkdirSync(join(config, 'loom'), { recursive: true })
    const file = join(config, 'loom', 'recent.json')
    if (kind === 'zero') symlinkSync('/dev/zero', file)
    else execFileSync('mkfifo', [file])
    process.env.XDG_CONFIG_HOME = config
    const server = await within(`serve with recent.json a ${kind}`, serveCopy('samples/counter.loom.md', renderer))
    try {
      const owner = await ownerOf(server)
      try {
        const recent = (await within('recentNotebooks', owner.call('recentNotebooks', {}))) as { recent: unknown[] }
        assert.ok(Array.isArray(recent.recent))
      } finally {
        owner.close()
      }
    } finally {
      await server.stop()
      delete process.env.XDG_CONFIG_HOME
    }
  }
})

test('opening devices, FIFOs, huge and binary files, and two notebooks at once: each refused or reported, and the notebook before still answers', async () => {
  process.env.XDG_CONFIG_HOME = join(dir, 'config-open')
  const files = join(dir, 'files')
  mkdirSync(files)
  symlinkSync('/dev/zero', join(files, 'zero.loom.md'))
  symlinkSync('/dev/urandom', join(files, 'random.loom.md'))
  execFileSync('mkfifo', [join(files, 'fifo.loom.md')])
  writeFileSync(join(files, 'huge.loom.md'), Buffer.alloc(17 * 1024 * 1024, 0x61))
  writeFileSync(join(files, 'binary.loom.md'), randomBytes(64 * 1024))
  writeFileSync(join(files, 'fences.loom.md'), '```ts #a\n'.repeat(20_000))
  copyFileSync('samples/bank.loom.md', join(files, 'bank.loom.md'))
  copyFileSync('samples/todo.loom.md', join(files, 'todo.loom.md'))
  const server = await serveCopy('samples/counter.loom.md', renderer)
  try {
    const connect = () => ownerOf(server)
    const cases: [string, RegExp][] = [
      ['zero.loom.md', /is not a file/],
      ['random.loom.md', /is not a file/],
      ['fifo.loom.md', /is not a file/],
      ['huge.loom.md', /17 MB; a notebook that large is not opened from the window/],
    ]
    let owner = await connect()
    for (const [name, said] of cases) {
      const err = await within(name, owner.call('openNotebook', { path: join(files, name) }).then(() => null, (e: Error) => e))
      assert.match(String(err?.message), said, name)
    }
    // A file that is there but not a notebook Loom can run: either opened (no cells) or refused with the old one open again.
    for (const name of ['binary.loom.md', 'fences.loom.md']) {
      const answer = await within(name, owner.call('openNotebook', { path: join(files, name) }).then((r) => r, (e: Error) => e))
      if (!(answer instanceof Error)) owner = await within(`reconnect after ${name}`, connect())
      else assert.match(answer.message, /cannot open|is open again/, name)
      // Answered, with the log or with why there is none (a notebook that does not parse has not run).
      assert.ok(await within(`a log read after ${name}`, owner.call('log', { limit: 1 }).then(() => true, (e: Error) => /no history yet/.test(e.message))))
    }
    // Two opens at once: one switches, the other is refused (not a second engine on the first one's log).
    const both = await within('two opens at once', Promise.all([
      owner.call('openNotebook', { path: join(files, 'bank.loom.md') }).then(() => 'opened', (e: Error) => e.message),
      owner.call('openNotebook', { path: join(files, 'todo.loom.md') }).then(() => 'opened', (e: Error) => e.message),
    ]))
    assert.equal(both.filter((b) => b === 'opened').length, 1, JSON.stringify(both))
    assert.match(both.find((b) => b !== 'opened')!, /another notebook is being opened/)
    owner.close()
    const after = await within('reconnect after the switch', connect())
    assert.ok(await within('a log read after the switch', after.call('log', { limit: 1 })))
    after.close()
  } finally {
    await server.stop()
    delete process.env.XDG_CONFIG_HOME
  }
})

test('switching away while the app commits loses no acknowledged event: the old log verifies and holds all that was told', async () => {
  process.env.XDG_CONFIG_HOME = join(dir, 'config-race')
  const other = join(dir, 'race-bank.loom.md')
  copyFileSync('samples/bank.loom.md', other)
  const server = await serveCopy('samples/counter.loom.md', renderer)
  try {
    const owner = await ownerOf(server)
    // The counter steps as fast as it can; what the log says it holds is acknowledged.
    await owner.call('run', {})
    let told = 0
    const end = Date.now() + 10_000
    while (told < 200 && Date.now() < end) {
      told = ((await owner.call('log', { limit: 1 })) as { head: number }).head
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.ok(told >= 200, `the counter committed only ${told} events`)
    await within('the switch', owner.call('openNotebook', { path: other }))
    owner.close()
    const db = server.notebook.replace(/\.md$/, '.db')
    const verify = spawnSync(process.execPath, ['bin/loom.js', 'replay', db, '--verify'], { encoding: 'utf8', timeout: 120_000 })
    assert.equal(verify.status, 0, verify.stderr)
    const heads = spawnSync(process.execPath, ['bin/loom.js', 'branches', db, '--json'], { encoding: 'utf8' })
    const head = (JSON.parse(heads.stdout) as { name: string; head: number }[]).find((b) => b.name === 'main')!.head
    assert.ok(head >= told, `the log holds ${head} events; ${told} were acknowledged`)
  } finally {
    await server.stop()
    delete process.env.XDG_CONFIG_HOME
  }
})
