// A machine too busy to run exploration for the length of its time limit (here:
// every process of it stopped, as a loaded or suspended machine stops them)
// can make a batch of work stop part-way through Loom's own bookkeeping. The
// count that comes out then is exactly the count of a run nobody stopped: the
// piece of work cut off is undone and done again, and a transaction the stop
// caught is run again rather than blamed for the time the machine stood still.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'

const dir = mkdtempSync(join(tmpdir(), 'loom-explore-busy-'))
const nb = join(dir, 'philosophers.loom.md')
copyFileSync('samples/philosophers.loom.md', nb)
const args = ['bin/loom.js', 'explore', nb, '--env', 'N=6', '--max-states', '600000', '--json']
const CERTAINTY = /^certainty — the machine was too busy: \d+ batch(es)? of exploration ran past the time limit/

test("an exploration whose processes are stopped longer than the time limit, twice, gives exactly the undisturbed count, with no doubt and no runaway", { skip: process.platform !== 'linux' && 'pgrep and SIGSTOP as on Linux' }, async (t) => {
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const undisturbed = JSON.parse(spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 }).stdout) as { states: number; transitions: number; unexplored: string[] }
  assert.equal(undisturbed.unexplored.some((u) => CERTAINTY.test(u)), false)
  // Once it is exploring (its first progress line), everything of it is stopped for 2 s, twice.
  const r = await stopped(args, nb, 2, 2000)
  assert.deepEqual(r.violations, [], 'a stopped machine is no runaway transaction')
  // Every piece of the search the stops cut off was undone and done again (test/exploreUndo.test.ts cuts each phase of one, and shows the doubt line where undoing cannot be done).
  assert.deepEqual(r.unexplored.filter((u) => CERTAINTY.test(u)), [])
  assert.deepEqual([r.states, r.transitions], [undisturbed.states, undisturbed.transitions])
})

/** Stops every process of an exploration of `file` for `ms`, `times` times, once it has shown its progress; returns its --json report. */
async function stopped(argv: string[], file: string, times: number, ms: number): Promise<{ states: number; transitions: number; unexplored: string[]; violations: { message: string }[] }> {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  const guard = setTimeout(() => child.kill('SIGKILL'), 300_000)
  let ended = false
  // Its first progress line, or its end: a search that ended first was never stopped, which the test must say.
  await Promise.race([
    exited.then(() => (ended = true)),
    new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), /loom: exploring: /.test(stderr) && resolve()))),
  ])
  assert.ok(!ended, `the exploration ended before it could be stopped: ${stderr}`)
  // Every process of it (the launcher, the sandbox, the engine): their command lines name the notebook.
  const mine = () => spawnSync('pgrep', ['-f', file], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)
  for (let i = 0; i < times; i++) {
    const pids = mine()
    for (const pid of pids) process.kill(pid, 'SIGSTOP')
    await new Promise((r) => setTimeout(r, ms))
    for (const pid of pids) process.kill(pid, 'SIGCONT')
    await new Promise((r) => setTimeout(r, 200))
  }
  await exited
  clearTimeout(guard)
  return JSON.parse(stdout)
}

/** Rounds of arithmetic that take about `ms` here now (measured, so the test adapts to the machine's load). */
function rounds(ms: number): number {
  let k = 1e5
  for (;;) {
    // The fastest of three: a loaded machine only ever makes a round look slower, and too few rounds end the search before it is stopped.
    let took = Infinity
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now()
      let x = 0
      for (let i = 0; i < k; i++) x = (x * 31 + i) | 0
      if (x !== 0.5) took = Math.min(took, performance.now() - t0)
    }
    if (took > 20) return Math.max(1, Math.round((k * ms) / took))
    k *= 4
  }
}

test('a transaction running while the machine is stopped for longer than its time limit is run again, not reported as a runaway; a real runaway still is', { skip: process.platform !== 'linux' && 'pgrep and SIGSTOP as on Linux' }, async (t) => {
  const own = mkdtempSync(join(tmpdir(), 'loom-explore-slow-'))
  const slow = join(own, 'slow.loom.md')
  // Sixty steps of about 100 ms each: long enough that a step is under way whenever the machine is stopped, even
  // if the machine got faster than it measured (a search over before its first progress line is never stopped).
  const k = rounds(100)
  const cell = (body: string) => `Each step is long but well within its limit.\n\n\`\`\`ts #slow\nconst n = state.var('n', 0)\nexport function step() {\n  let x = 0\n  ${body}\n  if (n.get() < 60) n.set(n.get() + 1 + (x & 0))\n  else sys.halt()\n}\n\`\`\`\n`
  writeFileSync(slow, cell(`for (let i = 0; i < ${k}; i++) x = (x * 31 + i) | 0`))
  t.after(() => rmSync(own, { recursive: true, force: true }))
  // Almost all of its time is spent in a step: a stop lands in one.
  const r = await stopped(['bin/loom.js', 'explore', slow, '--time-limit', '1000', '--json'], slow, 2, 1500)
  assert.deepEqual(r.violations, [], 'a stopped machine is no runaway transaction')
  assert.equal(r.states, 62)
  assert.deepEqual(r.unexplored.filter((u) => CERTAINTY.test(u)), [])
  writeFileSync(slow, cell('while (n.get() === 3) x++'))
  const runaway = JSON.parse(spawnSync(process.execPath, ['bin/loom.js', 'explore', slow, '--time-limit', '300', '--no-deadlock', '--json'], { encoding: 'utf8', timeout: 120_000 }).stdout) as { violations: { message: string }[] }
  assert.deepEqual(runaway.violations.map((v) => v.message), ['step() ran past its time limit of 300 ms'])
})
