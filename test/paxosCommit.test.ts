// The PaxosCommit sample (a port of tlaplus/Examples' PaxosCommit.tla) finds
// exactly the states an independent search of the TLA+ finds, on
// configurations small enough for `npm test` (the published one, 1,321,761
// states, is in the bench beside SPIN).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { paxosCommitBfs } from '../bench/paxosCommitBfs.ts'

const text = readFileSync('samples/paxos-commit.loom.md', 'utf8')
const configs = [
  { rms: 1, acceptors: 3, ballots: 1 },
  { rms: 2, acceptors: 3, ballots: 1 },
  { rms: 1, acceptors: 3, ballots: 2 },
  { rms: 1, acceptors: 1, ballots: 2 },
]

for (const c of configs) {
  test(`PaxosCommit with ${c.rms} RM, ${c.acceptors} acceptors, ballots 0..${c.ballots - 1}: as many states, transitions and levels as a hand-written search of the TLA+`, async () => {
    const env = { RMS: String(c.rms), ACCEPTORS: String(c.acceptors), BALLOTS: String(c.ballots) }
    const r = explore(await Model.create(text, { path: 'paxos-commit.loom.md', env }), { deadlock: false })
    const expected = paxosCommitBfs(c)
    assert.deepEqual([r.states, r.transitions, r.depth, r.exhausted, r.violations], [expected.states, expected.transitions, expected.depth, true, []])
  })
}

test('the hand-written search itself gives the small counts computed by hand', () => {
  // One RM, one acceptor, ballot 0 only: working → prepared/aborted (2a sent), the acceptor votes (2b), Decide, the RM receives it.
  // States: init; P; A; P+2b; A+2b; P+2b+Commit; A+2b+Abort; P+2b+Commit+committed = 8.
  assert.equal(paxosCommitBfs({ rms: 1, acceptors: 1, ballots: 1 }).states, 8)
})

test('loom explore takes the constants from --env, and PaxosCommit keeps TCConsistent', () => {
  const r = spawnSync(process.execPath, ['bin/loom.js', 'explore', 'samples/paxos-commit.loom.md', '--no-deadlock', '--env', 'RMS=2', '--env', 'BALLOTS=1', '--json'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const json = JSON.parse(r.stdout)
  assert.deepEqual([json.states, json.violations], [545, []])
})

test('a leader that commits once any RM is decided prepared breaks TCConsistent, and exploration gives the shortest trace', async () => {
  const broken = text.replace("RM.every((rm) => decided(rm, 'prepared'))", "RM.some((rm) => decided(rm, 'prepared'))")
  assert.notEqual(broken, text)
  const r = explore(await Model.create(broken, { path: 'paxos-commit.loom.md', env: { RMS: '2', BALLOTS: '1' } }), { deadlock: false })
  const v = r.violations.find((x) => x.test === 'TCConsistent')
  assert.ok(v, JSON.stringify(r.violations))
  // r1 prepares, r2 aborts, a majority votes r1 prepared, Decide commits, r1 commits: 2 + 2 + 1 + 1 = 6 steps.
  assert.equal(v.trace.length, 6)
})
