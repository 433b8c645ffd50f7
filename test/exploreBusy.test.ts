// A machine too busy to run exploration for the length of its time limit (here:
// every process of it stopped, as a loaded or suspended machine stops them)
// can make a batch of work stop part-way through Loom's own bookkeeping. The
// count that comes out then is never given as a proof in silence: either it
// is the count of a run nobody stopped, or the report says it is in doubt.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'

const dir = mkdtempSync(join(tmpdir(), 'loom-explore-busy-'))
const nb = join(dir, 'philosophers.loom.md')
copyFileSync('samples/philosophers.loom.md', nb)
const args = ['bin/loom.js', 'explore', nb, '--env', 'N=6', '--max-states', '600000', '--json']
const CERTAINTY = /^certainty — the machine was too busy: \d+ batch(es)? of exploration ran past the time limit/

/** Every process of this exploration (the launcher, the sandbox, the engine): their command lines name the notebook. */
const processes = () => spawnSync('pgrep', ['-f', nb], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)

test("an exploration whose processes are stopped longer than the time limit, twice, gives the undisturbed count or says the count is in doubt, never a wrong one in silence", { skip: process.platform !== 'linux' && 'pgrep and SIGSTOP as on Linux' }, async (t) => {
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const undisturbed = JSON.parse(spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 }).stdout) as { states: number; transitions: number; unexplored: string[] }
  assert.equal(undisturbed.unexplored.some((u) => CERTAINTY.test(u)), false)
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  const guard = setTimeout(() => child.kill('SIGKILL'), 300_000)
  // Once it is exploring (its first progress line), everything of it is stopped for 2 s, twice.
  await new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), /loom: exploring: /.test(stderr) && resolve())))
  for (let i = 0; i < 2; i++) {
    const stopped = processes()
    for (const pid of stopped) process.kill(pid, 'SIGSTOP')
    await new Promise((r) => setTimeout(r, 2000))
    for (const pid of stopped) process.kill(pid, 'SIGCONT')
    await new Promise((r) => setTimeout(r, 300))
  }
  await exited
  clearTimeout(guard)
  const r = JSON.parse(stdout) as { states: number; transitions: number; unexplored: string[]; violations: unknown[] }
  const doubted = r.unexplored.some((u) => CERTAINTY.test(u))
  assert.deepEqual(r.violations, [], 'a stopped machine is no runaway transaction')
  if (!doubted) assert.deepEqual([r.states, r.transitions], [undisturbed.states, undisturbed.transitions], 'a count that differs is said to be in doubt')
})
