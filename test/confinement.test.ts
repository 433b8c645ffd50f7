// The engine process is confined by Node's permission model (DESIGN §9): a
// real `loom serve` says so in hello and still saves and imports; code run
// inside a real engine process cannot write outside the session, read
// elsewhere or start a process; and the confined engine's compiler (esbuild
// as WebAssembly) gives the same code, byte for byte, as native esbuild.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { transform } from 'esbuild'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { forkEngine } from '../engine/host/forkEngine.ts'
import type { FromEngine } from '../engine/host/engineLink.ts'
import type { Message } from '../engine/protocol/messages.ts'
import { parseNotebook } from '../engine/runtime/notebook.ts'
import { compileNotebook } from '../engine/runtime/compile.ts'
import { wasmTransform } from '../engine/runtime/esbuildWasm.ts'
import { ensureEngineBundle } from '../scripts/build-engine.ts'
import { serveNotebook } from './browser.ts'

const REPO = resolve(import.meta.dirname, '..')
const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

function copySample(name: string): { dir: string; notebook: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loom-confined-'))
  dirs.push(dir)
  const notebook = join(dir, name)
  copyFileSync(join(REPO, 'samples', name), notebook)
  return { dir, notebook }
}

/** A forked engine process spoken to directly: one connection, requests by op. */
function engineOn(notebook: string, preload?: string) {
  const child = forkEngine({ notebook }, preload ? { preload } : {})
  const listeners = new Set<(m: FromEngine) => void>()
  child.onMessage((m) => listeners.forEach((fn) => fn(m)))
  const next = <T>(pick: (m: FromEngine) => T | undefined): Promise<T> =>
    new Promise((ok, fail) => {
      const fn = (m: FromEngine) => {
        const got = pick(m)
        if (got === undefined) return
        listeners.delete(fn)
        ok(got)
      }
      listeners.add(fn)
      child.onExit((reason) => fail(new Error(`the engine process stopped (${reason})`)))
    })
  const ready = next((m) => ('ready' in m ? m : 'fatal' in m ? (() => { throw new Error(m.fatal) })() : undefined))
  child.send({ start: { notebook } })
  child.send({ conn: 1, open: true })
  let id = 0
  return {
    child,
    ready,
    next,
    async call(op: string, params: unknown = {}): Promise<any> {
      const mine = ++id
      child.send({ conn: 1, message: { kind: 'request', id: mine, op, params } })
      const res = await next((m) => ('conn' in m && m.message.kind === 'response' && m.message.id === mine ? (m.message as Message & { kind: 'response' }) : undefined))
      if (!res.ok) throw new Error(res.error.message)
      return res.result
    },
    stop: (): Promise<void> => new Promise((ok) => { child.onExit(() => ok()); child.send({ stop: true }) }),
  }
}

test('loom serve runs the engine confined: hello says so, and saving and importing a branch still work', async () => {
  const { dir, notebook } = copySample('bank.loom.md')
  const server = await serveNotebook(notebook, undefined)
  try {
    const origin = server.origin
    const client = new EngineClient(await connectEngine(`${origin.replace('http', 'ws')}/engine`, origin))
    const hello = await client.call('hello', { token: server.token })
    // No addons, no threads, and no file writes: the supervisor holds the log and writes the notebook (forkEngine.ts).
    assert.deepEqual(hello.confined, {
      childProcess: false,
      worker: false,
      addons: false,
      fsWriteAnywhere: false,
      fsWrite: [],
    })

    // Save, by the supervisor: a temp file beside the notebook, renamed over it.
    const text = hello.notebook.text.replace('# ', '# Confined: ')
    assert.notEqual(text, hello.notebook.text)
    await client.call('save', { text })
    assert.equal(readFileSync(notebook, 'utf8'), text)
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.saving')), [])
    // Save As elsewhere is refused, saying why, and the notebook is untouched.
    const elsewhere = join(tmpdir(), `loom-elsewhere-${process.pid}.loom.md`)
    await assert.rejects(client.call('save', { path: elsewhere }), /may write only its own notebook/)
    assert.equal(existsSync(elsewhere), false)
    assert.equal(readFileSync(notebook, 'utf8'), text)

    // Import is checked and written by the supervisor, which holds the log.
    await client.call('step', {})
    const { text: exported } = await client.call('exportBranch', { branch: hello.status.branch })
    const imported = await client.call('importBranch', { text: exported, name: 'copy' })
    assert.equal(imported.name, 'copy')
    client.close()
  } finally {
    await server.stop()
  }
  assert.match(server.stderr(), /loom: engine process \d+/)
})

test('inside the engine process, writing any file (even beside the notebook), reading elsewhere and spawning a process are refused', async () => {
  const { dir, notebook } = copySample('counter.loom.md')
  const outside = join(dir, 'escaped.js')
  const secret = join(mkdtempSync(join(tmpdir(), 'loom-secret-')), 'secret.txt')
  dirs.push(resolve(secret, '..'))
  copyFileSync(notebook, secret)
  const engine = engineOn(notebook, join(REPO, 'test', 'fixtures', 'confinementProbe.js'))
  try {
    await engine.ready
    engine.child.send({ probe: { outside, inside: join(dir, '.counter.loom.md.probe'), read: secret } } as never)
    const result = await engine.next((m) => (m as { probe?: Record<string, string> }).probe)
    // Not even beside the notebook, nor in a temp folder: the engine process writes no file.
    assert.deepEqual(result, { writeOutside: 'ERR_ACCESS_DENIED', writeInside: 'ERR_ACCESS_DENIED', writeTemp: 'ERR_ACCESS_DENIED', readOutside: 'ERR_ACCESS_DENIED', spawn: 'ERR_ACCESS_DENIED' })
    assert.equal(existsSync(outside), false)
    // The engine still runs its app, its log written by the supervisor.
    const { event } = await engine.call('step')
    assert.equal(event.seq > 0, true)
  } finally {
    await engine.stop()
  }
})

test('the confined engine compiles every sample to the same code as native esbuild', async () => {
  const samples = readdirSync(join(REPO, 'samples')).filter((f) => f.endsWith('.loom.md')).sort()
  for (const name of samples) {
    const text = readFileSync(join(REPO, 'samples', name), 'utf8')
    const nb = parseNotebook(text, name)
    // Cell by cell, with compile.ts's options: the same text and the same source map.
    for (const cell of nb.cells) {
      const options = { loader: 'ts', format: 'esm', target: 'esnext', sourcemap: 'external', sourcefile: cell.id } as const
      const [native, wasm] = await Promise.all([transform(cell.source, options), wasmTransform(cell.source, options)])
      assert.equal(wasm.code, native.code, `${name} cell ${cell.id}`)
      assert.equal(wasm.map, native.map, `${name} cell ${cell.id}: source map`)
    }
  }
  // End to end: the code hash a confined engine process runs is the one compiled here, natively.
  for (const name of ['bank.loom.md', 'tickets-race.loom.md']) {
    const { notebook } = copySample(name)
    const expected = (await compileNotebook(parseNotebook(readFileSync(notebook, 'utf8'), notebook))).codeHash
    const engine = engineOn(notebook)
    try {
      await engine.ready
      const hello = await engine.call('hello')
      assert.ok(hello.confined, 'the engine is confined, so it compiled with esbuild-wasm')
      assert.equal(hello.status.codeHash, expected, name)
    } finally {
      await engine.stop()
    }
  }
})

test('the loom command runs bundled, with no TypeScript loader: its commands work as from source', () => {
  ensureEngineBundle(() => {})
  const cli = pathToFileURL(join(REPO, 'dist', 'engine', 'cli.js')).href
  const run = (args: string[]) =>
    execFileSync(process.execPath, ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(${JSON.stringify(args)})`], { cwd: REPO, encoding: 'utf8' })
  assert.match(run(['test', 'samples/bank.loom.md']), /2 tests passed/)
  assert.match(run(['--help']), /loom serve NB/)
})

test('the bundle is built when missing and rebuilt when older than a source, saying so', async () => {
  const outdir = mkdtempSync(join(tmpdir(), 'loom-bundle-'))
  dirs.push(outdir)
  rmSync(outdir, { recursive: true })
  const said: string[] = []
  const entry = ensureEngineBundle((l) => said.push(l), outdir)
  assert.equal(entry, join(outdir, 'engineProcess.js'))
  const entries = readdirSync(outdir).filter((f) => f.endsWith('.js') && !f.startsWith('chunk-')).sort()
  assert.deepEqual(entries, ['cli.js', 'engineProcess.js', 'evaluatorProcess.js', 'exploreWorker.boot.js', 'logWriter.boot.js', 'runProcess.js'])
  assert.match(said.join('\n'), /building the engine process .* for the first time/)
  ensureEngineBundle((l) => said.push(l), outdir)
  assert.equal(said.length, 1, 'fresh: not built again')
  utimesSync(join(outdir, 'logWriter.boot.js'), new Date(0), new Date(0))
  ensureEngineBundle((l) => said.push(l), outdir)
  assert.match(said[1] ?? '', /its sources changed/)
})
