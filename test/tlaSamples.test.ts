// The ports of specifications from the TLA+ examples (samples/*.loom.md):
// exploration finds exactly the distinct states TLC publishes for each
// model's .cfg (tlaplus/Examples, each specification's manifest.json).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })
const explored = (args: string[]) => {
  const r = loom(['explore', ...args, '--json'])
  return { status: r.status, report: JSON.parse(r.stdout || '{}'), stderr: r.stderr }
}

// The depth TLC publishes (manifest.json's stateDepth) is one more than Loom's, which counts transactions.
for (const [sample, states, depth, args] of [
  ['diehard', 16, 7, []],
  ['tcommit', 34, 6, ['--no-deadlock']],
  ['twophase', 288, 10, []],
  ['ewd840', 302, 9, ['--no-deadlock']],
] as const) {
  test(`samples/${sample}.loom.md has the ${states} distinct states TLC publishes, at depth ${depth}, every invariant holding, on one thread and on two`, () => {
    for (const workers of ['1', '2']) {
      const { status, report, stderr } = explored([`samples/${sample}.loom.md`, ...args, '--workers', workers])
      // EWD 840's liveness property is checked on one thread: with two, it says so and exits 3.
      assert.equal(status, sample === 'ewd840' && workers === '2' ? 3 : 0, stderr)
      assert.deepEqual([report.states, report.depth, report.exhausted, report.violations], [states, depth, true, []], `--workers ${workers}`)
    }
  })
}

test("EWD 840's initial states are the 192 that start() commits under every answer to its choices: the app before start() is no extra state", () => {
  // N = 1: active or not, white or black, the token at node 0: 4 initial states; then only the token and deactivation move.
  const one = explored(['samples/ewd840.loom.md', '--no-deadlock', '--env', 'N=1', '--depth', '1'])
  assert.equal(one.report.states, 4, 'start() commits four states; the one before it is not counted')
  const three = explored(['samples/ewd840.loom.md', '--no-deadlock', '--depth', '1'])
  assert.equal(three.report.states, 192, '2^3 activity × 2^3 colours × 3 token places')
})

test('DieHard: with the goal of 4 gallons, exploration prints the shortest way there, the six pours TLC prints', () => {
  const { status, report } = explored(['samples/diehard.loom.md', '--env', 'GOAL=4'])
  assert.equal(status, 1)
  assert.equal(report.violations[0].test, 'NotSolved: the big jug never holds 4 gallons')
  const jugs = report.violations[0].trace.map((s: { changes: { state: string; after: number }[] }) => s.changes.map((c) => `${c.state}=${c.after}`).join(' '))
  assert.deepEqual(jugs, ['big=5', 'big=2 small=3', 'small=0', 'big=0 small=2', 'big=5', 'big=4 small=3'])
})

test('TCommit: without --no-deadlock the states where every RM has decided are deadlocks; TwoPhase has none', () => {
  const { status, report } = explored(['samples/tcommit.loom.md'])
  assert.equal(status, 1)
  assert.deepEqual([report.states, report.deadlocks, report.violations[0].kind], [34, 2, 'deadlock'])
  assert.equal(explored(['samples/twophase.loom.md']).report.deadlocks, 0)
  assert.equal(explored(['samples/tcommit.loom.md', '--no-deadlock', '--env', 'RM=r1']).report.states, 4, 'one RM: working, prepared, committed, aborted')
})
