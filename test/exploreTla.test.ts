// What a TLA+/TLC user expects of `loom explore` (issue 18): deadlock checking
// that can be switched off, constants from the command line, progress while it
// runs, and a partial report when it is stopped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const dir = mkdtempSync(join(tmpdir(), 'loom-explore-tla-'))
const file = (name: string, cells: Record<string, string>) => {
  const path = join(dir, name)
  writeFileSync(path, notebook(cells))
  return path
}

// Counts to N (a constant, 3 unless --env N=… says otherwise) and then has nothing to do: 4 states, the last one where nothing can move.
const COUNTER = file('counter.loom.md', {
  s: `const N = Number(sys.env.get('N') ?? 3)
const n = state.var('n', 0)
export function step() {
  if (n.get() >= N) sys.abort('counted to ' + N)
  n.set(n.get() + 1)
}
test('n stays below 5', () => n.get() < 5)`,
})

test('a state where nothing can move is a deadlock whose message points at sys.halt(), and --no-deadlock does not report it', () => {
  const checked = loom(['explore', COUNTER])
  assert.equal(checked.status, 1, checked.stderr)
  assert.match(checked.stdout, /✗ deadlock after 3 transactions: every way step\(\) can go waits, and nothing outside the app can change that \(an app that is simply finished calls sys\.halt\(\); --no-deadlock/)
  const unchecked = loom(['explore', COUNTER, '--no-deadlock'])
  assert.equal(unchecked.status, 0, unchecked.stdout + unchecked.stderr)
  assert.match(unchecked.stdout, /4 states, 3 transitions, depth 3 — every reachable state .*; no violation/)
  const json = JSON.parse(loom(['explore', COUNTER, '--no-deadlock', '--json']).stdout)
  assert.deepEqual([json.states, json.violations.length, json.deadlocks], [4, 0, 1], 'the state is still counted, not reported')
  const parallel = loom(['explore', COUNTER, '--no-deadlock', '--workers', '2', '--json'])
  assert.equal(parallel.status, 0, parallel.stderr)
  assert.deepEqual(JSON.parse(parallel.stdout).violations, [])
})

test('an app that halts when it is finished is no deadlock', () => {
  const nb = file('halts.loom.md', { s: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() >= 3) return sys.halt()\n  n.set(n.get() + 1)\n}" })
  const r = loom(['explore', nb, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual([JSON.parse(r.stdout).deadlocks, JSON.parse(r.stdout).violations], [0, []])
})

test('explore --env K=V sets the constants the cells read with sys.env.get, as loom run does', () => {
  const big = JSON.parse(loom(['explore', COUNTER, '--no-deadlock', '--env', 'N=7', '--json']).stdout)
  assert.equal(big.states, 8, 'N=7: n from 0 to 7')
  assert.equal(big.violations[0].test, 'n stays below 5')
  const two = loom(['explore', COUNTER, '--no-deadlock', '--env', 'N=2', '--workers', '2', '--json'])
  assert.equal(JSON.parse(two.stdout).states, 3, two.stderr)
  const bad = loom(['explore', COUNTER, '--env', 'N'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /--env takes KEY=VALUE, got 'N'/)
})

// Two counters with no end: more states than any test waits for.
const ENDLESS = file('endless.loom.md', {
  s: `const n = state.var('n', 0)
const m = state.var('m', 0)
export function step() {
  if (sys.fork(2)) n.set(n.get() + 1)
  else m.set(m.get() + 1)
}`,
})

/** `loom explore` in a child process, stopped by `signal` once its progress has said something: its exit code and output. */
async function stoppedHalfWay(args: string[], signal: NodeJS.Signals): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/loom.js', 'explore', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t))
  const progressed = new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (t: string) => {
    stderr += t
    if (/loom: exploring: [\d,]+ states/.test(stderr)) resolve()
  }))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  // Bounded: a child that never says anything is ended, and the test fails on what it printed.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000)
  await Promise.race([progressed, exited])
  child.kill(signal)
  const status = await exited
  clearTimeout(guard)
  await new Promise((r) => setImmediate(r))
  return { status, stdout, stderr }
}

test('Ctrl-C (SIGINT) in the middle of an exploration prints what it found so far, marked incomplete, exit 3', async () => {
  const r = await stoppedHalfWay([ENDLESS], 'SIGINT')
  assert.equal(r.status, 3, r.stdout + r.stderr)
  assert.match(r.stderr, /^loom: exploring: [\d,]+ states, [\d,]+ transitions, depth \d+, [\d,]+ states\/s, [\d,]+ MB$/m, 'progress: plain lines when stderr is no terminal')
  assert.match(r.stderr, /loom: stopping the exploration \(Ctrl-C again ends it at once\); its report of what it found so far follows/)
  assert.match(r.stdout, /^explored .*endless\.loom\.md from the start: [\d,]+ states, .* — stopped before the end \(Ctrl-C or SIGTERM\): this is what it found so far, not every state was explored .*; no violation$/m)
})

test('SIGTERM to an exploration with --json and two workers still gives its partial report as JSON on stdout, progress only on stderr', async () => {
  const r = await stoppedHalfWay([ENDLESS, '--json', '--workers', '2'], 'SIGTERM')
  assert.equal(r.status, 3, r.stdout + r.stderr)
  const json = JSON.parse(r.stdout)
  assert.deepEqual([json.stoppedBy, json.exhausted, json.violations], ['stopped', false, []])
  assert.ok(json.states > 1, `${json.states} states`)
  assert.match(r.stderr, /loom: exploring: /)
})

// A deep bug in a wide space: x grows on one answer of eleven, the others flip one of ten bits. Reaching
// x = 12 takes at least 12 transactions, and breadth first meets every combination of bits before it.
const DEEP = file('deep.loom.md', {
  s: `const x = state.var('x', 0)
const bits = state.var('bits', 0)
export function step() {
  const c = sys.fork(11)
  if (c === 10) x.set(x.get() + 1)
  else bits.set(bits.get() ^ (1 << c))
}
test('x stays below 12', () => x.get() < 12)`,
})

test('--simulate: seeded random walks find a deep bug that a bounded breadth-first search misses, the same trace for the same seed', () => {
  const bounded = loom(['explore', DEEP, '--max-states', '5000', '--json'])
  assert.equal(bounded.status, 3, bounded.stderr)
  assert.deepEqual(JSON.parse(bounded.stdout).violations, [])
  const args = ['explore', DEEP, '--simulate', '--seed', '7', '--walks', '5', '--depth', '300', '--json']
  const walked = loom(args)
  assert.equal(walked.status, 1, walked.stderr)
  const r = JSON.parse(walked.stdout)
  assert.deepEqual([r.stoppedBy, r.exhausted, r.walks], ['walks', false, { walks: 5, depth: 300, seed: 7 }])
  assert.equal(r.violations[0].test, 'x stays below 12')
  const trace = r.violations[0].trace
  assert.equal(trace.filter((m: { choices: { value: number }[] }) => m.choices[0]!.value === 10).length, 12, 'x grew twelve times along it')
  assert.deepEqual(JSON.parse(loom(args).stdout).violations, r.violations, 'a seed repeats its walks')
  const words = loom(['explore', DEEP, '--simulate', '--seed', '7', '--walks', '5', '--depth', '300', '--save-branch', 'walked', '--db', join(dir, 'deep.loom.db')])
  assert.match(words.stdout, /5 random walks of at most 300 moves \(--seed 7 repeats them\): a sample, not every state/)
  assert.match(words.stdout, /✗ test 'x stays below 12' fails after \d+ transactions/)
  const verify = loom(['replay', join(dir, 'deep.loom.db'), '--branch', 'walked', '--verify'])
  assert.equal(verify.status, 0, verify.stdout + verify.stderr)
})

test('--simulate with nothing to find exits 3, and its options are checked', () => {
  const quiet = loom(['explore', COUNTER, '--simulate', '--walks', '3', '--no-deadlock', '--json'])
  assert.equal(quiet.status, 3, quiet.stderr)
  assert.deepEqual([JSON.parse(quiet.stdout).walks, JSON.parse(quiet.stdout).violations], [{ walks: 3, depth: 100, seed: 1 }, []])
  for (const [args, says] of [
    [['--seed', '3'], /--seed and --walks go with --simulate/],
    [['--simulate', '--workers', '2'], /leave out --workers/],
    [['--simulate', '--walks', '0'], /--walks 0: give a whole number of at least 1/],
    [['--simulate', '--depth', '0'], /--depth 0: give a whole number of at least 1/],
    [['--max-states', '0'], /--max-states 0: give a whole number of at least 1/],
    [['--walks', '99999999999999999999', '--simulate'], /--walks 100000000000000000000: give a whole number of at least 1/],
    [['--simulate', '--seed', '99999999999'], /--seed takes a whole number below 2\^32/],
    [['--simulate', '--seed', '-1'], /--seed takes a whole number ≥ 0, got '-1'/],
  ] as const) {
    const r = loom(['explore', COUNTER, ...args])
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, says)
  }
})

test('exploring from a recorded moment keeps the recorded sys.env unless --env replaces it, and a saved trace records the new one', () => {
  const nb = COUNTER
  const db = join(dir, 'limit.loom.db')
  const run = loom(['run', nb, '--db', db, '--env', 'N=2', '--steps', '1'])
  assert.equal(run.status, 0, run.stderr)
  const kept = loom(['explore', nb, '--from', db, '--no-deadlock', '--json'])
  assert.equal(kept.status, 0, kept.stdout + kept.stderr)
  assert.equal(JSON.parse(kept.stdout).states, 2, 'N=2 as recorded: n is 1, then 2')
  const given = loom(['explore', nb, '--from', db, '--no-deadlock', '--env', 'N=9', '--save-branch', 'nine', '--json'])
  assert.equal(given.status, 1, given.stderr)
  const r = JSON.parse(given.stdout)
  assert.deepEqual([r.violations[0].test, r.violations[0].trace.length], ['n stays below 5', 4])
  const events = loom(['log', db, '--branch', 'nine', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l))
  const code = [events].flat(2).find((e: { kind: string; seq: number }) => e.kind === 'code' && e.seq > 2)
  assert.deepEqual(code?.input?.env, { N: '9' }, 'the saved branch starts with a code event that records N=9')
  const verify = loom(['replay', db, '--branch', 'nine', '--verify'])
  assert.equal(verify.status, 0, verify.stdout + verify.stderr)
})

// Ever wider levels of ever longer lists: exploration keeps a level of states in memory, and these fill it
// (ENDLESS's two counters no longer do: its million states fit in 100 MB as fingerprints).
const WIDE = file('wide.loom.md', {
  s: `const seen = state.var<string[]>('seen', [])
export function step() {
  seen.set([...seen.get(), 'a long enough line to take some memory '.repeat(4) + sys.fork(50)])
}`,
})

test('an exploration that comes near its memory limit stops with the report of what it found (exit 3), not an out-of-memory crash', () => {
  const r = spawnSync(process.execPath, ['bin/loom.js', 'explore', WIDE, '--json'], { encoding: 'utf8', env: { ...process.env, LOOM_ENGINE_MEMORY_MB: '100' } })
  assert.equal(r.status, 3, r.stderr)
  const json = JSON.parse(r.stdout)
  assert.deepEqual([json.stoppedBy, json.exhausted], ['memory', false])
  assert.ok(json.states > 1000, `${json.states} states`)
  assert.match(r.stderr, /loom: the exploration is near its memory limit; stopping it; its report of what it found so far follows/)
  const words = spawnSync(process.execPath, ['bin/loom.js', 'explore', WIDE], { encoding: 'utf8', env: { ...process.env, LOOM_ENGINE_MEMORY_MB: '100' } })
  assert.match(words.stdout, /stopped near its memory limit of 100 MB \(LOOM_ENGINE_MEMORY_MB=N raises it; --max-states N stops sooner\): this is what it found so far/)
})
