// An evaluator process (the REPL's and the queries') closed while it is still
// starting leaves nothing behind: under bubblewrap, killing bwrap before it
// had set the sandbox up left the sandbox's first process waiting for ever,
// an orphan that ignores SIGTERM (killConfined.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { spawnedEvaluator } from '../engine/host/evaluatorSpawn.ts'
import { osSandbox } from '../engine/host/osSandbox.ts'

const REPO = resolve(import.meta.dirname, '..')

/** This checkout's evaluator processes whose parent is neither bwrap nor Node: orphans (their parent died, they did not). */
function orphans(): string[] {
  const cmd = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    } catch {
      return null
    }
  }
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    const args = cmd(pid)
    if (!args || !args.includes(`${REPO}/dist/engine/evaluatorProcess.js`)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue
    }
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!
    const parent = cmd(ppid)?.[0] ?? ''
    if (!/(^|\/)(bwrap|node|prlimit)$/.test(parent)) found.push(`${pid} (parent ${ppid} ${parent || 'gone'})`)
  }
  return found
}

test('evaluator processes closed as they start leave no process behind', { skip: osSandbox().kind === 'bwrap' ? false : 'no bubblewrap here: nothing starts in two steps' }, async () => {
  const before = new Set(orphans())
  // Closed at once, and a few milliseconds later: bwrap is somewhere in its setup for some of them.
  for (let i = 0; i < 24; i++) {
    const e = spawnedEvaluator()
    await new Promise((r) => setTimeout(r, (i % 8) * 3))
    e.end()
  }
  // The kills take effect in a moment (bounded: 10 s).
  let left: string[] = []
  for (let i = 0; i < 100; i++) {
    left = orphans().filter((o) => !before.has(o))
    if (!left.length) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.deepEqual(left, [], 'processes left behind')
})
