// `loom explore` as a terminal drives it: Ctrl-C goes to the whole foreground
// process group (the confined process that explores too), and --workers is a
// number a person types without knowing the machine's cores.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-explore-signals-'))
// Two counters with no end: more states than the test waits for.
const ENDLESS = join(dir, 'endless.loom.md')
writeFileSync(ENDLESS, notebook({ s: "const n = state.var('n', 0)\nconst m = state.var('m', 0)\nexport function step() {\n  if (sys.fork(2)) n.set(n.get() + 1)\n  else m.set(m.get() + 1)\n}" }))

test('Ctrl-C from a terminal (SIGINT to the whole process group) stops an exploration with its report of what it found so far, exit 3', async () => {
  // A group of its own, as a shell gives a foreground job; the signal goes to the group.
  const child = spawn(process.execPath, ['bin/loom.js', 'explore', ENDLESS], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t))
  const progressed = new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (t: string) => {
    stderr += t
    if (/loom: exploring: [\d,]+ states/.test(stderr)) resolve()
  }))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const guard = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000)
  await Promise.race([progressed, exited])
  process.kill(-child.pid!, 'SIGINT')
  const status = await exited
  clearTimeout(guard)
  await new Promise((r) => setImmediate(r))
  assert.doesNotMatch(stderr, /the confined process ended|at async/, 'no stack trace')
  assert.equal(status, 3, stdout + stderr)
  assert.match(stdout, /^explored .*endless\.loom\.md from the start: [\d,]+ states, .* — stopped before the end \(Ctrl-C or SIGTERM\)/m)
})

test('--workers beyond the machine\'s cores explores on one thread per core and says so', () => {
  const cores = availableParallelism()
  const r = spawnSync(process.execPath, ['bin/loom.js', 'explore', ENDLESS, '--workers', '999', '--max-states', '500', '--json'], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(r.status, 3, r.stderr)
  assert.match(r.stderr, new RegExp(`loom: --workers 999: this machine runs ${cores} threads? at once; exploring on ${cores}`))
  assert.ok(JSON.parse(r.stdout).states >= 500)
})
