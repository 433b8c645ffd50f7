import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-cli-'))
const loom = (args: string[], input = '') => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', input })
// The engine process's bundle is (re)built on first use after a source changed, and says so on stderr:
// done once here, so the tests that read stderr whole see only what they are about.
loom(['run', 'samples/counter.loom.md', '--db', join(dir, 'warm-up.loom.db'), '--steps', '1'])
function file(name: string, cells: Record<string, string>): string {
  const path = join(dir, name)
  writeFileSync(path, notebook(cells))
  return path
}

test('loom run prints the app\'s tty output as it commits, then a one-line summary', () => {
  const r = loom(['run', 'samples/echo.loom.md', '--db', join(dir, 'echo.loom.db')], 'abc\nxyz\n')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'ABC\nXYZ\n')
  assert.match(r.stderr, /^loom: 9 events committed, \d+ attempts? aborted, waiting for 1 character of input\n$/)
})

test('loom run --steps N --json gives a machine-readable summary with the final state', () => {
  const r = loom(['run', 'samples/counter.loom.md', '--steps', '25', '--json', '--db', join(dir, 'counter.loom.db')])
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  assert.equal(out.steps, 25)
  assert.equal(out.events, 26)
  assert.deepEqual(out.state, { count: 25 })
  assert.match(out.codeHash, /^[0-9a-f]{64}$/)
})

test('loom run passes --env and the arguments after -- to sys.env', () => {
  const nb = file('env.loom.md', { s: "const out = state.var<unknown>('out', null)\nexport function step() { out.set({ who: sys.env.get('WHO') ?? null, args: sys.env.args }); sys.halt() }" })
  const r = loom(['run', nb, '--env', 'WHO=ann', '--json', '--', 'a', '--b'])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout).state.out, { who: 'ann', args: ['a', '--b'] })
})

test('loom test exits 1 naming the failed test, the event after which it failed, and the state it saw', () => {
  const nb = file('fails.loom.md', {
    s: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }\ntest('n stays small', () => n.get() < 3)",
  })
  const r = loom(['test', nb, '--steps', '10'])
  assert.equal(r.status, 1)
  assert.match(r.stderr, /^loom: test 'n stays small' failed after event 4 \(step\): returned false\n/)
  assert.match(r.stderr, /at .*fails\.loom\.md:6 \(cell #s, line 3\)\n/)
  assert.match(r.stderr, /it saw n = 3\n/)
  const json = JSON.parse(loom(['test', nb, '--steps', '10', '--json']).stdout)
  assert.equal(json.ok, false)
  assert.equal(json.failures[0].seq, 4)
})

test('loom test passes when every test holds, and counts them', () => {
  const r = loom(['test', 'samples/bank.loom.md', '--steps', '10'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'loom: 2 tests passed after 5 events\n')
  assert.equal(r.stderr, "loom: then the app was waiting (queue 'transfers' is empty)\n", 'fewer steps than asked ran: it says why')
})

test('loom test on an app whose step reads another system says the read waits (loom test performs no effects) instead of passing in silence', () => {
  const nb = join(dir, 'reads.loom.md')
  writeFileSync(nb, "---\neffects: { http: ['http://127.0.0.1:*'] }\n---\n```ts\nconst rate = state.var('rate', 0)\nexport function step() {\n  rate.set(Number(sys.http.get('http://127.0.0.1:9/rate').body))\n}\n```\n")
  const r = loom(['test', nb, '--steps', '2'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'loom: 0 tests passed after 1 event\n')
  assert.match(r.stderr, /^loom: then the app was waiting for sys\.http\.get\("http:\/\/127\.0\.0\.1:9\/rate"\): no response is recorded and this runner performs no effects$/m)
})

test('bad input exits 2 with the file, cell and line', () => {
  const nb = file('broken.loom.md', { a: 'const x = 1', b: 'export function step() {\n  x +\n}' })
  const r = loom(['run', nb])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /broken\.loom\.md:12 \(cell #b, line 3\): Unexpected "}"/)
  const dup = join(dir, 'dup.loom.md')
  writeFileSync(dup, '```ts #a\n```\n\n```ts #a\n```\n')
  const d = loom(['test', dup])
  assert.equal(d.status, 2)
  assert.match(d.stderr, /dup\.loom\.md:4: duplicate cell id #a \(first used at line 1\)/)
})

test('bad usage exits 2 and says what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['run'], /'loom run' needs a notebook/],
    [['run', 'x.loom.md', '--steps', 'many'], /--steps takes a whole number ≥ 0, got 'many'/],
    [['log'], /'loom log' needs a log \(a \.loom\.db file\)/],
    [['log', join(dir, 'nothing.loom.db')], /nothing\.loom\.db: no such log/],
    [['promote', 'x.loom.db', 'a', 'b'], /'loom promote' takes db and name; got also 'b'/],
    [['run', 'x.loom.md', '--fast'], /unknown option '--fast' for 'loom run'/],
    [['run', join(dir, 'missing.loom.md')], /cannot read .*missing\.loom\.md: no such file/],
    // Past what a timer or a socket can take: said here, not a RangeError's stack from deep in a run.
    [['run', 'samples/counter.loom.md', '--time-limit', '99999999999'], /--time-limit takes a whole number of ms from 1 to 2147482647 \(about 24 days\), got 99999999999/],
    [['explore', 'samples/counter.loom.md', '--time-limit', '4294967296'], /--time-limit takes a whole number of ms from 1/],
    [['run', 'samples/todo.loom.md', '--port', '99999'], /--port takes a port number from 0 to 65535 \(0: any free port\), got 99999/],
    [['serve', 'samples/todo.loom.md', '--app-port', '65536'], /--app-port takes a port number from 0 to 65535/],
  ]
  for (const [args, message] of cases) {
    const r = loom(args)
    assert.equal(r.status, 2, args.join(' '))
    assert.match(r.stderr, message)
  }
  assert.equal(loom(['help']).status, 0)
})

test('a port in use is a clear error (exit 2), not a stack trace', async () => {
  const { createServer } = await import('node:net')
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  const port = (blocker.address() as { port: number }).port
  const r = spawnSync(process.execPath, ['bin/loom.js', 'run', 'samples/todo.loom.md', '--port', String(port), '--db', join(dir, 'busy.loom.db')], { encoding: 'utf8' })
  blocker.close()
  assert.equal(r.status, 2)
  assert.match(r.stderr, new RegExp(`port ${port} is in use; stop what uses it, or pick another with --port`))
})

test('loom run --no-fsync logs the same history, and a second run continues it', () => {
  const db = join(dir, 'nofsync.loom.db')
  const first = loom(['run', 'samples/counter.loom.md', '--steps', '10', '--no-fsync', '--json', '--db', db])
  assert.equal(first.status, 0, first.stderr)
  const again = loom(['run', 'samples/counter.loom.md', '--steps', '5', '--json', '--db', db])
  assert.deepEqual(JSON.parse(again.stdout).state, { count: 15 })
  assert.equal(loom(['replay', db, '--verify']).status, 0)
})

test('loom run --watch keeps the old code while a shell empties the file before writing it, then runs the new code', async () => {
  const { spawn } = await import('node:child_process')
  const nb = file('watched.loom.md', { s: "const v = state.var('v', 'old')\nexport function step() { v.set('old'); sys.time.await(sys.time.now() + 60_000) }" })
  const db = join(dir, 'watched.loom.db')
  const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--db', db, '--watch'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
  const until = async (what: RegExp) => {
    for (let i = 0; i < 200 && !what.test(err); i++) await new Promise((r) => setTimeout(r, 50))
    assert.match(err, what)
  }
  try {
    await until(/watching/)
    writeFileSync(nb, '')
    await until(/has no code cells now \(a save in progress\?\); the old code keeps running/)
    writeFileSync(nb, notebook({ s: "const v = state.var('v', 'old')\nexport function step() { v.set('new'); sys.halt() }" }))
    await until(/new code running from event/)
    assert.doesNotMatch(err, /refused/)
    // The new step halts the app, which ends the run by itself.
    if (child.exitCode === null) await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 20_000))])
    assert.notEqual(child.exitCode, null, `the new code did not halt the app: ${err}`)
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
  }
  const state = loom(['state', db, '--json'])
  assert.equal(JSON.parse(state.stdout).v ?? JSON.parse(state.stdout).state?.v, 'new', state.stdout + state.stderr)
  // Exactly two code events: the first code and the new one; the empty file never ran.
  const events = loom(['log', db, '--json']).stdout
  assert.equal((events.match(/"kind":\s*"code"/g) ?? []).length, 2, events)
})

test('loom run --until-idle of an app with an http export stops once no step can run and no request is in flight, and exits 0', () => {
  for (const sample of ['todo', 'jobs']) {
    const r = spawnSync(process.execPath, ['bin/loom.js', 'run', `samples/${sample}.loom.md`, '--port', '0', '--until-idle', '--json', '--db', join(dir, `${sample}-idle.loom.db`)], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(r.signal, null, `${sample}: loom run --until-idle did not return by itself: ${r.stderr}`)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /serving http:/)
    assert.ok(JSON.parse(r.stdout).events >= 1, r.stdout)
  }
})

test('a reader that stops early (loom export DB | head -1) ends loom quietly, with no stack trace', async () => {
  const db = join(dir, 'pipe.loom.db')
  assert.equal(loom(['run', 'samples/counter.loom.md', '--steps', '20000', '--db', db]).status, 0)
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['bin/loom.js', 'export', db], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
  // Read the first chunk, then stop reading, as head -1 does.
  await new Promise<void>((resolve) => child.stdout.once('data', () => (child.stdout.destroy(), resolve())))
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  assert.equal(code, 0, err)
  assert.doesNotMatch(err, /EPIPE|at /)
})

test('loom run --fresh starts the app again from its initial state on a new live branch; the old branch keeps its history; log and state say which branch', () => {
  const db = join(dir, 'fresh.loom.db')
  assert.equal(loom(['run', 'samples/counter.loom.md', '--steps', '5', '--db', db]).status, 0)
  const again = loom(['run', 'samples/counter.loom.md', '--steps', '2', '--db', db, '--fresh', '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.match(again.stderr, /--fresh: branch 'main-fresh' starts from the app's initial state and is now the live branch; 'main' keeps its 6 events/)
  assert.deepEqual(JSON.parse(again.stdout).state, { count: 2 })
  const branches = loom(['branches', db, '--json'])
  assert.deepEqual(JSON.parse(branches.stdout).map((b: { name: string; head: number; live: boolean }) => [b.name, b.head, b.live]), [['main', 6, false], ['main-fresh', 3, true]])
  // A plain run continues the live (fresh) branch; the old one is still there to read.
  assert.deepEqual(JSON.parse(loom(['run', 'samples/counter.loom.md', '--steps', '1', '--db', db, '--json']).stdout).state, { count: 3 })
  const old = loom(['state', db, '--branch', 'main'])
  assert.equal(old.stdout, 'count (var) = 5\n')
  assert.equal(old.stderr, "loom: branch 'main' after event 6\n")
  assert.match(loom(['log', db, '--limit', '1']).stderr, /^loom: branch 'main-fresh' \(live\), events 4–4 of 4\n$/)
  // A name that exists is refused: --fresh never continues or overwrites a branch.
  const taken = loom(['run', 'samples/counter.loom.md', '--db', db, '--fresh', '--branch', 'main'])
  assert.equal(taken.status, 2)
  assert.match(taken.stderr, /--fresh starts a new branch, and 'main' exists already/)
})

test('Ctrl-C from a terminal (SIGINT to the whole process group) stops loom run normally: its summary, exit 0, everything durable', async () => {
  const db = join(dir, 'ctrlc.loom.db')
  const { spawn } = await import('node:child_process')
  // A group of its own, as a shell gives a foreground job; the signal goes to the group.
  const child = spawn(process.execPath, ['bin/loom.js', 'run', 'samples/counter.loom.md', '--db', db], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  // Once it runs (the log has events), Ctrl-C.
  for (let i = 0; i < 300 && !/committed|events/.test(err); i++) {
    const r = spawnSync(process.execPath, ['bin/loom.js', 'log', db, '--limit', '1', '--json'], { encoding: 'utf8' })
    if (r.status === 0 && JSON.parse(r.stdout).length) break
    await new Promise((r) => setTimeout(r, 100))
  }
  process.kill(-child.pid!, 'SIGINT')
  assert.equal(await exited, 0, err)
  assert.match(err, /loom: \d+ events committed, \d+ attempts? aborted, paused/)
  assert.doesNotMatch(err, /ended by SIGINT/)
  assert.equal(loom(['replay', db, '--verify']).status, 0)
})

test('one writer per log: a second loom run is refused at once naming the first; after the first is killed (-9) its stale lock is taken over', async () => {
  const db = join(dir, 'one-writer.loom.db')
  const { spawn } = await import('node:child_process')
  const first = spawn(process.execPath, ['bin/loom.js', 'run', 'samples/counter.loom.md', '--db', db], { stdio: 'ignore', detached: true })
  const gone = new Promise((resolve) => first.on('exit', resolve))
  try {
    for (let i = 0; i < 300; i++) {
      const r = spawnSync(process.execPath, ['bin/loom.js', 'log', db, '--limit', '1', '--json'], { encoding: 'utf8' })
      if (r.status === 0 && JSON.parse(r.stdout).length) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const second = loom(['run', 'samples/counter.loom.md', '--db', db, '--steps', '1'])
    assert.equal(second.status, 2, second.stderr)
    assert.match(second.stderr, new RegExp(`is being written by another Loom \\(pid ${first.pid}: loom run samples/counter\\.loom\\.md --db .*\\): one process writes a log at a time`))
    assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace')
    // Reading goes on meanwhile.
    assert.equal(loom(['state', db]).status, 0)
  } finally {
    process.kill(-first.pid!, 'SIGKILL')
    await gone
  }
  // The lock names a process that is gone: taken over, and the run continues the log, which verifies.
  const third = loom(['run', 'samples/counter.loom.md', '--db', db, '--steps', '2', '--json'])
  assert.equal(third.status, 0, third.stderr)
  assert.equal(loom(['replay', db, '--verify']).status, 0)
})

test('while a run writes the log, the commands that change its branches (fork, promote, import, branches --rename/--delete, replay --onto, explore --save-branch) are refused naming it and change nothing', async () => {
  const db = join(dir, 'held.loom.db')
  assert.equal(loom(['run', 'samples/counter.loom.md', '--db', db, '--steps', '3']).status, 0)
  const exported = join(dir, 'held-main.jsonl')
  assert.equal(loom(['export', db, '--out', exported]).status, 0)
  assert.equal(loom(['fork', db, '--at', '2', '--name', 'before']).status, 0)
  const { spawn } = await import('node:child_process')
  const first = spawn(process.execPath, ['bin/loom.js', 'run', 'samples/counter.loom.md', '--db', db], { stdio: 'ignore', detached: true })
  const gone = new Promise((resolve) => first.on('exit', resolve))
  try {
    for (let i = 0; i < 300 && !existsSync(`${db}.lock`); i++) await new Promise((r) => setTimeout(r, 100))
    // Their names, labels and which is live (the running app's head moves on meanwhile).
    const branches = () => (JSON.parse(loom(['branches', db, '--json']).stdout) as { name: string; label?: string; live: boolean }[]).map((b) => `${b.name}:${b.label ?? ''}:${b.live}`)
    const was = branches()
    for (const args of [['fork', db, '--at', '2', '--name', 'what-if'], ['promote', db, 'before'], ['import', db, exported, '--name', 'copy'],
      ['branches', db, '--rename', 'before', 'after'], ['branches', db, '--delete', 'before'], ['replay', db, '--code', 'samples/counter.loom.md', '--onto', 'again'],
      ['explore', 'samples/counter.loom.md', '--from', db, '--save-branch', 'found']]) {
      const r = loom(args)
      assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`is being written by another Loom \\(pid ${first.pid}: loom run samples/counter\\.loom\\.md`), args[0])
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
    // A replay with code not kept is a question: re-run in memory, answered while the log is written, writing nothing.
    const asked = loom(['replay', db, '--code', 'samples/counter.loom.md'])
    assert.equal(asked.status, 0, asked.stderr)
    assert.match(asked.stdout, /re-ran \d+ recorded transactions of 'main'/)
    assert.deepEqual(branches(), was, 'no branch was added, renamed, deleted or promoted')
    // Reading goes on meanwhile.
    assert.equal(loom(['branches', db]).status, 0)
  } finally {
    process.kill(-first.pid!, 'SIGINT')
    await gone
  }
  // Once the run has stopped, they work, and leave no lock behind.
  assert.equal(loom(['fork', db, '--at', '2', '--name', 'what-if']).status, 0)
  assert.equal(existsSync(`${db}.lock`), false)
})

test('one writer per log across surfaces: loom run on a log that loom serve writes is refused naming it, and loom serve on a log a run writes exits 2 saying so', async () => {
  const { spawn } = await import('node:child_process')
  const { copyFileSync } = await import('node:fs')
  const nb = join(dir, 'served.loom.md')
  copyFileSync('samples/counter.loom.md', nb)
  const serve = spawn(process.execPath, ['bin/loom.js', 'serve', nb, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const gone = new Promise((resolve) => serve.on('exit', resolve))
  try {
    let out = ''
    serve.stdout.setEncoding('utf8').on('data', (t: string) => (out += t))
    for (let i = 0; i < 300 && !(out.includes('serving') && existsLock(nb)); i++) await new Promise((r) => setTimeout(r, 100))
    const run = loom(['run', nb, '--steps', '1'])
    assert.equal(run.status, 2, run.stderr)
    assert.match(run.stderr, new RegExp(`being written by another Loom \\(pid ${serve.pid}: loom serve `))
  } finally {
    process.kill(-serve.pid!, 'SIGTERM')
    await gone
  }
  const run = spawn(process.execPath, ['bin/loom.js', 'run', nb], { stdio: 'ignore', detached: true })
  const ended = new Promise((resolve) => run.on('exit', resolve))
  try {
    // The run's own lock (the serve above, ended while it started, may have left one a new writer takes over).
    for (let i = 0; i < 300 && lockHolder(nb) !== run.pid; i++) await new Promise((r) => setTimeout(r, 100))
    const second = spawnSync(process.execPath, ['bin/loom.js', 'serve', nb, '--port', '0'], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(second.status, 2, second.stderr)
    assert.match(second.stderr, new RegExp(`being written by another Loom \\(pid ${run.pid}: loom run `))
  } finally {
    process.kill(-run.pid!, 'SIGINT')
    await ended
  }
})

function existsLock(nb: string): boolean {
  return existsSync(nb.replace(/\.md$/, '.db') + '.lock')
}

function lockHolder(nb: string): number | null {
  try {
    return JSON.parse(readFileSync(nb.replace(/\.md$/, '.db') + '.lock', 'utf8')).pid
  } catch {
    return null
  }
}

test('loom state --at 0 says event 0 is the start of the log, before the code event that declares the states, and where to see their initial values', () => {
  const db = join(dir, 'at0.loom.db')
  assert.equal(loom(['run', 'samples/counter.loom.md', '--steps', '2', '--db', db]).status, 0)
  const start = loom(['state', db, '--at', '0'])
  assert.equal(start.status, 0, start.stderr)
  assert.equal(start.stderr, "loom: branch 'main' (live) at its start, before event 1\n")
  assert.equal(start.stdout, `(no state: event 0 is the start of the log, before anything ran; event 1 is the code event that declares the states, with their initial values — loom state ${db} --at 1 shows the state after it)\n`)
  assert.deepEqual(JSON.parse(loom(['state', db, '--at', '0', '--json']).stdout), {})
  // And what it points at is the initial state.
  assert.equal(loom(['state', db, '--at', '1']).stdout, 'count (var) = 0\n')
})
