// Assume breach (DESIGN §9): the node:vm sandbox is taken to be broken. A
// test-only switch (LOOM_TEST_BREACH=1 in the launcher's own environment,
// honoured only from a source checkout, see engineLaunch.ts testBreach) hands
// cell code the engine process's real `process` and `require`; the notebook
// test/attacks/attacker.loom.md then tries to write outside the session, read
// the user's environment and files, start a process, load native code and
// reach the host's network. Every attempt must fail because of the process
// the cells run in, not because of the sandbox.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { osSandbox } from '../../engine/host/osSandbox.ts'

const REPO = resolve(import.meta.dirname, '..', '..')
const LOOM = join(REPO, 'bin', 'loom.js')
const require = createRequire(import.meta.url)
const SQLITE_ADDON = require.resolve('better-sqlite3/build/Release/better_sqlite3.node')
const SQLITE_PACKAGE = dirname(require.resolve('better-sqlite3/package.json'))

const dirs: string[] = []
let server: Server
let port = 0
const connections: string[] = []
after(() => {
  server?.close()
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})
before(async () => {
  server = createServer((socket) => {
    connections.push(String(socket.remoteAddress))
    socket.destroy()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as { port: number }).port
})

interface Setup {
  dir: string
  notebook: string
  db: string
  outside: string
  secret: string
  home: string
  planted: string
  marker: string
}

/** A session folder with the attacker notebook, a secret and a fake home elsewhere, and a native library planted beside the notebook. */
function setup(): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'loom-attack-'))
  const elsewhere = mkdtempSync(join(tmpdir(), 'loom-victim-'))
  dirs.push(dir, elsewhere)
  const notebook = join(dir, 'attacker.loom.md')
  copyFileSync(join(REPO, 'test', 'attacks', 'attacker.loom.md'), notebook)
  const secret = join(elsewhere, 'secret.txt')
  writeFileSync(secret, 'the user secret')
  const home = join(elsewhere, 'home')
  mkdirSync(join(home, '.ssh'), { recursive: true })
  writeFileSync(join(home, '.ssh', 'id_ed25519'), 'PRIVATE KEY')
  // Native code an attacker got into the session folder: if it is ever loaded, its constructor leaves a marker.
  const marker = join(elsewhere, 'native-code-ran')
  const planted = join(dir, 'planted.so')
  const source = join(elsewhere, 'planted.c')
  writeFileSync(source, `#include <stdio.h>\n__attribute__((constructor)) static void ran(void) { FILE *f = fopen("${marker}", "w"); if (f) { fputs("ran", f); fclose(f); } }\n`)
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', planted, source])
  if (cc.status !== 0) copyFileSync(SQLITE_ADDON, planted) // no compiler: a real addon stands in
  return { dir, notebook, db: join(dir, 'attacker.loom.db'), outside: join(elsewhere, 'outside.txt'), secret, home, planted, marker }
}

function attack(s: Setup, env: NodeJS.ProcessEnv, extra: string[] = [], command: 'run' | 'test' = 'run'): Promise<{ code: number | null; report: Record<string, unknown>; stderr: string }> {
  const config = { OUTSIDE: s.outside, DIR: s.dir, DB: s.db, SECRET: s.secret, HOME_DIR: s.home, PLANTED: s.planted, SQLITE_ADDON, SQLITE_PACKAGE, PORT: String(port) }
  const args = [LOOM, command, s.notebook, '--steps', '3000', '--json', ...Object.entries(config).flatMap(([k, v]) => ['--env', `${k}=${v}`]), ...extra]
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, LOOM_CANARY: 'canary-value', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', fail)
    child.on('exit', (code) => {
      try {
        const line = out.split('\n').find((l) => l.startsWith('REPORT '))
        const report = command === 'test' ? JSON.parse(line!.slice('REPORT '.length)) : JSON.parse((JSON.parse(out.trim().split('\n').pop()!) as { tty: string }).tty.trim())
        done({ code, report: report as Record<string, unknown>, stderr: err })
      } catch {
        fail(new Error(`loom run gave no report (exit ${code}):\n${out}\n${err}`))
      }
    })
  })
}

function replayVerify(db: string): string {
  const r = spawnSync(process.execPath, [LOOM, 'replay', db, '--verify'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  return r.stdout + r.stderr
}

function assertContained(s: Setup, r: Record<string, unknown>, stderr: string, network = true): void {
  assert.equal(r.breached, true, 'the breach switch did not take: the test would prove nothing')
  for (const name of ['writeOutside', 'writeNotebookFolder', 'writeLog', 'writeTmp', 'writeDevShm', 'writeRoot', 'readSecret', 'readNotebookFolder', 'readSsh', 'spawn', 'spawnViaBinding', 'worker', 'dlopenPlanted', 'dlopenSqlite', 'betterSqlite3']) {
    assert.match(String(r[name]), /^denied: /, `${name}: ${String(r[name])}`)
  }
  assert.equal(r.canary, null, 'the cell read the user environment')
  assert.equal(r.envKeys, '', `the engine process has an environment: ${String(r.envKeys)}`)
  assert.ok(!existsSync(s.outside), 'a file was written outside the session')
  assert.ok(!existsSync(join(s.dir, 'dropped.txt')), 'a file was written in the notebook folder')
  assert.ok(!existsSync(s.marker), 'planted native code ran')
  if (network) assert.doesNotMatch(stderr, /ATTACK: connected/)
}

test('loom run: a broken sandbox gets nothing (Node permission model + OS sandbox)', async (t) => {
  const os = osSandbox()
  if (os.kind !== 'bwrap') t.diagnostic(`no OS sandbox here: ${os.notice}`)
  const s = setup()
  const before = connections.length
  const { code, report, stderr } = await attack(s, { LOOM_TEST_BREACH: '1' })
  assert.equal(code, 0, stderr)
  assertContained(s, report, stderr)
  // Let a connection that was started complete before counting.
  await new Promise((r) => setTimeout(r, 300))
  if (os.kind === 'bwrap') assert.equal(connections.length, before, 'the engine process reached a port on the host')
  // A forged commit sent straight down the log link was refused by the launcher: one branch, the app's own events.
  assert.equal(report.forgeCommit, 'ALLOWED: sent', 'the forged commit did not even reach the launcher: this proves nothing')
  const branches = spawnSync(process.execPath, [LOOM, 'branches', s.db, '--json'], { encoding: 'utf8' })
  assert.deepEqual((JSON.parse(branches.stdout) as { name: string }[]).map((b) => b.name), ['main'])
  const events = spawnSync(process.execPath, [LOOM, 'log', s.db, '--json'], { encoding: 'utf8' })
  assert.ok(!events.stdout.includes('"branch":"evil"'))
  // The log was written by the launcher and is whole: re-executed without the breach, the start event's
  // output is the first (and only) difference.
  const replay = spawnSync(process.execPath, [LOOM, 'replay', s.db, '--verify'], { encoding: 'utf8' })
  assert.equal(replay.status, 1)
  assert.match(replay.stderr + replay.stdout, /verify failed at event 2 \(start\)[^]*re-executed \{"tty":"\{\\"breached\\":false\}/)
})

test('loom run: without the OS sandbox, Node\'s permission model alone still stops all but the network (the documented gap)', async (t) => {
  const s = setup()
  const before = connections.length
  const { code, report, stderr } = await attack(s, { LOOM_TEST_BREACH: '1', LOOM_NO_OS_SANDBOX: '1' })
  assert.equal(code, 0, stderr)
  assertContained(s, report, stderr, false)
  assert.match(stderr, /LOOM_NO_OS_SANDBOX/, 'the run said what is not enforced')
  await new Promise((r) => setTimeout(r, 300))
  // Node 20's permission model does not restrict the network: this is what the OS sandbox is for.
  t.diagnostic(`without the OS sandbox the engine process reached the host's 127.0.0.1: ${connections.length > before}`)
})

test('loom test: a broken sandbox gets nothing either', async (t) => {
  const os = osSandbox()
  if (os.kind !== 'bwrap') t.diagnostic(`no OS sandbox here: ${os.notice}`)
  const s = setup()
  const before = connections.length
  const { code, report, stderr } = await attack(s, { LOOM_TEST_BREACH: '1' }, [], 'test')
  assert.equal(code, 0, stderr)
  assertContained(s, report, stderr)
  await new Promise((r) => setTimeout(r, 300))
  if (os.kind === 'bwrap') assert.equal(connections.length, before, 'the engine process reached a port on the host')
  assert.ok(!existsSync(s.db), 'loom test wrote a log')
})

test('loom replay --verify: re-execution runs confined too, and a broken sandbox gets nothing there either', async (t) => {
  const os = osSandbox()
  if (os.kind !== 'bwrap') t.diagnostic(`no OS sandbox here: ${os.notice}`)
  const s = setup()
  // A history recorded with the attacks' configuration (their paths reach sys.env from its code event).
  const recorded = await attack(s, { LOOM_TEST_BREACH: '1' })
  assert.equal(recorded.code, 0, recorded.stderr)
  const before = connections.length
  const replay = spawnSync(process.execPath, [LOOM, 'replay', s.db, '--verify'], { encoding: 'utf8', env: { ...process.env, LOOM_CANARY: 'canary-value', LOOM_TEST_BREACH: '1' } })
  const line = replay.stdout.split('\n').find((l) => l.startsWith('REPORT '))
  assert.ok(line, `the replay ran no attack: ${replay.stdout}${replay.stderr}`)
  assertContained(s, JSON.parse(line.slice('REPORT '.length)) as Record<string, unknown>, replay.stderr)
  await new Promise((r) => setTimeout(r, 300))
  if (os.kind === 'bwrap') assert.equal(connections.length, before, 'the replaying process reached a port on the host')
  assert.match(replay.stderr + replay.stdout, /hash chain intact|verify failed/)
})

test('the breach switch cannot be turned on by the notebook configuration', async () => {
  const s = setup()
  const { report } = await attack(s, {}, ['--env', 'LOOM_TEST_BREACH=1'])
  assert.equal(report.breached, false)
})

test('a confined run resumes its log and replays exactly', () => {
  const s = setup()
  const run = (steps: number) => JSON.parse(execFileSync(process.execPath, [LOOM, 'run', join(REPO, 'samples', 'counter.loom.md'), '--db', s.db.replace('attacker', 'counter'), '--steps', String(steps), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { events: number; state: { count: number } }
  assert.deepEqual([run(1500).state.count, run(700).state.count], [1500, 2200])
  assert.match(replayVerify(s.db.replace('attacker', 'counter')), /2201 events.*hash chain intact/)
  assert.ok(readFileSync(s.db.replace('attacker', 'counter')).length > 0)
})

test('loom run --watch, confined: a save live-codes the app, and Ctrl-C ends it normally with everything durable', async () => {
  const s = setup()
  const notebook = join(s.dir, 'counter.loom.md')
  copyFileSync(join(REPO, 'samples', 'counter.loom.md'), notebook)
  const child = spawn(process.execPath, [LOOM, 'run', notebook, '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  const saw = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      const look = () => pattern.test(err) && (child.stderr.off('data', look), resolve())
      child.stderr.on('data', look)
      look()
    })
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | null>((r) => child.on('exit', r))
  await saw(/watching/)
  await new Promise((r) => setTimeout(r, 500))
  writeFileSync(notebook, readFileSync(notebook, 'utf8').replace('count.get() + 1', 'count.get() + 2'))
  await saw(/new code running from event \d+/)
  child.kill('SIGINT')
  assert.equal(await exited, 0, err)
  assert.match(err, /events committed, 0 attempts aborted, paused/)
  assert.match(replayVerify(join(s.dir, 'counter.loom.db')), /hash chain intact/)
})

test('loom serve: a broken sandbox in its engine process finds no environment, no files outside the session, no native code, no way to start a process or write its log and, under bubblewrap, no network', { timeout: 120_000 }, async (t) => {
  const os = osSandbox()
  if (os.kind !== 'bwrap') t.diagnostic(`no OS sandbox here: ${os.notice}`)
  const s = setup()
  const before = connections.length
  // serve takes no --env: the attack's paths are written into the notebook instead.
  const config = { OUTSIDE: s.outside, DIR: s.dir, DB: s.db, SECRET: s.secret, HOME_DIR: s.home, PLANTED: s.planted, SQLITE_ADDON, SQLITE_PACKAGE, PORT: String(port), LINK_FD: '4' }
  const text = readFileSync(s.notebook, 'utf8')
  const proxied = 'const env = new Proxy({}, { get: (_, k) => sys.env.get(k) })'
  assert.ok(text.includes(proxied))
  writeFileSync(s.notebook, text.replace(proxied, `const env = ${JSON.stringify(config)}`))
  const serve = spawn(process.execPath, [LOOM, 'serve', s.notebook, '--port', '0'], { env: { ...process.env, LOOM_CANARY: 'canary-value', LOOM_TEST_BREACH: '1', LOOM_RENDERER_DIR: s.dir }, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  serve.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  try {
    const { origin, token } = await new Promise<{ origin: string; token: string }>((done, fail) => {
      let out = ''
      serve.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\/\?token=([\w-]+)/.exec(out)
        if (m) done({ origin: m[1]!, token: m[2]! })
      })
      serve.on('exit', (code) => fail(new Error(`loom serve ended (${code}): ${err}`)))
    })
    const { connectEngine } = await import('../../engine/host/socketTransport.ts')
    const { EngineClient } = await import('../../engine/protocol/client.ts')
    const client = new EngineClient(await connectEngine(`${origin.replace('http:', 'ws:')}/engine`, origin))
    await client.call('hello', { token })
    let tty = ''
    const reported = new Promise<Record<string, unknown>>((done) => {
      client.on('tty', (n) => {
        tty += n.text
        const line = tty.split('\n').find((l) => l.startsWith('{"breached"'))
        if (line) done(JSON.parse(line) as Record<string, unknown>)
      })
    })
    await client.call('step', {}).catch((e: Error) => assert.fail(`${e.message}; serve said: ${err}`))
    const r = await Promise.race([reported, new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`no report: ${tty}${err}`)), 30_000))])
    client.close()
    assert.equal(r.breached, true, 'the breach switch did not take: the test would prove nothing')
    assert.equal(r.canary, null, 'the engine read the user environment')
    assert.equal(r.envKeys, '', `the engine process has an environment: ${String(r.envKeys)}`)
    // No native code (the log is the supervisor's: forkEngine.ts), no threads, and no write to the log's files.
    for (const name of ['writeOutside', 'writeNotebookFolder', 'writeLog', 'writeTmp', 'writeDevShm', 'writeRoot', 'readSecret', 'readNotebookFolder', 'readSsh', 'spawn', 'spawnViaBinding', 'worker', 'dlopenPlanted', 'dlopenSqlite', 'betterSqlite3']) {
      assert.match(String(r[name]), /^denied: /, `${name}: ${String(r[name])}`)
    }
    assert.ok(!existsSync(s.marker), 'planted native code ran')
    // A forged commit for another branch, sent straight down the log link (fd 4), was refused by the supervisor.
    assert.equal(r.forgeCommit, 'ALLOWED: sent', 'the forged commit did not even reach the supervisor: this proves nothing')
    const again = new EngineClient(await connectEngine(`${origin.replace('http:', 'ws:')}/engine`, origin))
    await again.call('hello', { token })
    assert.deepEqual((await again.call('branches', {})).map((b: { name: string }) => b.name), ['main'])
    const { events } = await again.call('log', {})
    assert.equal(events.some((e: { branch: string }) => e.branch !== 'main'), false)
    again.close()
    assert.ok(!existsSync(s.outside), 'a file was written outside the session')
    assert.ok(!existsSync(join(s.dir, 'dropped.txt')), 'a file was written in the notebook folder')
    await new Promise((done) => setTimeout(done, 300))
    if (os.kind === 'bwrap') {
      assert.equal(connections.length, before, 'the engine process reached a port on the host')
      // Native code it loads sees only the session's folders: the marker elsewhere is not even there to write.
      assert.ok(!existsSync(s.marker), 'planted native code wrote outside the session')
    }
    assert.equal(serve.exitCode, null, `serve ended: ${err}`)
  } finally {
    serve.kill('SIGKILL')
  }
})

/** A loom command with the breach switch on; every report the attacked cells gave (one per run of `start`). */
function breached(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; reports: Record<string, unknown>[]; out: string } {
  const r = spawnSync(process.execPath, [LOOM, ...args], { encoding: 'utf8', env: { ...process.env, LOOM_CANARY: 'canary-value', LOOM_TEST_BREACH: '1', ...env } })
  const reports = r.stdout.split('\n').filter((l) => l.startsWith('REPORT ')).map((l) => JSON.parse(l.slice('REPORT '.length)) as Record<string, unknown>)
  return { status: r.status, reports, out: r.stdout + r.stderr }
}

/** The log holds only the branches named, no forged one, and each re-executes exactly but for the breached start's output. */
function assertWhole(db: string, branches: string[]): void {
  const list = spawnSync(process.execPath, [LOOM, 'branches', db, '--json'], { encoding: 'utf8' })
  assert.deepEqual((JSON.parse(list.stdout) as { name: string }[]).map((b) => b.name).sort(), [...branches].sort())
  for (const branch of branches) {
    const events = spawnSync(process.execPath, [LOOM, 'log', db, '--branch', branch, '--json', '--limit', '100000'], { encoding: 'utf8' })
    assert.ok(!events.stdout.includes('"branch":"evil"'), `a forged event on ${branch}`)
    const replay = spawnSync(process.execPath, [LOOM, 'replay', db, '--branch', branch, '--verify'], { encoding: 'utf8' })
    assert.equal(replay.status, 1, replay.stdout + replay.stderr)
    assert.match(replay.stderr + replay.stdout, /verify failed at event \d+ \(start\)[^]*re-executed \{"tty":"\{\\"breached\\":false\}/, `${branch}: ${replay.stderr}`)
  }
}

test('loom explore, one thread and two: the search runs confined, a broken sandbox gets nothing, and a saved trace is checked by the launcher', { timeout: 120_000 }, async (t) => {
  const os = osSandbox()
  if (os.kind !== 'bwrap') t.diagnostic(`no OS sandbox here: ${os.notice}`)
  const s = setup()
  // A history recorded with the attacks' configuration: exploring from its code event (1) runs `start` again, with
  // the paths in sys.env; a test that fails after two tries gives a trace to save (`start`, then steps).
  const recorded = await attack(s, { LOOM_TEST_BREACH: '1' })
  assert.equal(recorded.code, 0, recorded.stderr)
  const explored = join(s.dir, 'explored.loom.md')
  writeFileSync(explored, readFileSync(s.notebook, 'utf8') + "\n```ts #bound\ntest('a few tries', () => tries.get() < 2)\n```\n")
  for (const workers of ['1', '2']) {
    const before = connections.length
    // The launcher's temporary folder, where it makes the exploring process's own.
    const tmp = mkdtempSync(join(tmpdir(), 'loom-attack-tmp-'))
    dirs.push(tmp)
    const r = breached(['explore', explored, '--from', s.db, '--at', '1', '--max-states', '20', '--workers', workers, '--save-branch', `found-${workers}`], { TMPDIR: tmp })
    assert.equal(r.status, 1, r.out)
    assert.match(r.out, /test 'a few tries' fails after 3 transactions/)
    assert.match(r.out, new RegExp(`saved violation 1 of 1 as branch 'found-${workers}'`))
    // `start` attacked three times: in the search, describing the trace, and in the process that commits it.
    assert.equal(r.reports.length, 3, r.out)
    // That last one is started without threads, whatever --workers says.
    assert.match(String(r.reports[2]!.worker), /^denied: /)
    for (const report of r.reports.slice(0, 2)) {
      if (workers === '2') {
        // The shards are threads of the confined process: it may start threads, each as confined as itself.
        t.diagnostic(`--workers 2: a thread from the breached shard: ${String(report.worker).slice(0, 40)}`)
        report.worker = 'denied: (threads allowed for the shards)'
      }
    }
    for (const report of r.reports) assertContained(s, report, r.out)
    // The exploring process writes in its own folder and nowhere beside it; the process that commits the trace has none.
    assert.deepEqual(r.reports.map((x) => [x.scratch, x.writeScratch]), [['given', 'ALLOWED: written'], ['given', 'ALLOWED: written'], ['none', undefined]])
    for (const report of r.reports.slice(0, 2)) for (const name of ['writeBesideScratch', 'writeScratchParent']) assert.match(String(report[name]), /^denied: /, `${name}: ${String(report[name])}`)
    assert.deepEqual(readdirSync(tmp), [], 'the folder, and what was written in it, is gone')
    await new Promise((done) => setTimeout(done, 300))
    if (os.kind === 'bwrap') assert.equal(connections.length, before, 'the exploring process reached a port on the host')
  }
  // The forged commits (one per run of start with the log on the link) were refused: only the real branches.
  assertWhole(s.db, ['main', 'found-1', 'found-2'])
})

test('loom replay --code: the re-run is confined, a broken sandbox gets nothing, and the new branch is written by the launcher', { timeout: 120_000 }, async (t) => {
  const os = osSandbox()
  if (os.kind !== 'bwrap') t.diagnostic(`no OS sandbox here: ${os.notice}`)
  const s = setup()
  const recorded = await attack(s, { LOOM_TEST_BREACH: '1' })
  assert.equal(recorded.code, 0, recorded.stderr)
  // The new code runs with no configuration (as before): the attack's paths are written into it.
  const config = { OUTSIDE: s.outside, DIR: s.dir, DB: s.db, SECRET: s.secret, HOME_DIR: s.home, PLANTED: s.planted, SQLITE_ADDON, SQLITE_PACKAGE, PORT: String(port) }
  const code = join(s.dir, 'newcode.loom.md')
  writeFileSync(code, readFileSync(s.notebook, 'utf8').replace('const env = new Proxy({}, { get: (_, k) => sys.env.get(k) })', `const env = ${JSON.stringify(config)}`))
  const before = connections.length
  const r = breached(['replay', s.db, '--code', code, '--onto', 'rerun'])
  assert.equal(r.status, 0, r.out)
  assert.match(r.out, /re-ran 3001 recorded transactions of 'main' with .* onto branch 'rerun': every outcome is the same/)
  assert.equal(r.reports.length, 1, r.out)
  assertContained(s, r.reports[0]!, r.out)
  await new Promise((done) => setTimeout(done, 300))
  if (os.kind === 'bwrap') assert.equal(connections.length, before, 'the re-running process reached a port on the host')
  assertWhole(s.db, ['main', 'rerun'])
})

test('loom import runs no cell code: it checks the hash chain and writes the events as exported', () => {
  const s = setup()
  const recorded = spawnSync(process.execPath, [LOOM, 'run', s.notebook, '--steps', '10'], { encoding: 'utf8', env: { ...process.env, LOOM_TEST_BREACH: '1' } })
  assert.equal(recorded.status, 0, recorded.stderr)
  const file = join(s.dir, 'main.branch.jsonl')
  assert.equal(spawnSync(process.execPath, [LOOM, 'export', s.db, '--out', file]).status, 0)
  const r = breached(['import', s.db, file, '--name', 'theirs'])
  assert.equal(r.status, 0, r.out)
  assert.equal(r.reports.length, 0, 'import ran cell code')
  assert.match(r.out, /imported branch 'theirs' \(12 events, every hash checked\)/)
})
