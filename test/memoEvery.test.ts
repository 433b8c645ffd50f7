// Exploration settles a transaction whose outcomes in a state are all
// remembered from one walk of its memo (Memo.every) instead of one lookup per
// choice sequence: the outcomes must be exactly those, in exactly the order,
// that running it under every sequence of answers gives — or none at all.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Model } from '../engine/replay/model.ts'
import { Search } from '../engine/replay/search.ts'
import { runLevel } from '../engine/replay/levelBatches.ts'
import { EveryChoiceAgent } from '../engine/runtime/agent.ts'
import type { Outcome } from '../engine/replay/memo.ts'
import type { World } from '../engine/replay/worlds.ts'

test("a state's remembered outcomes, found in one walk, are those every choice sequence finds one by one, in the same order; more than the bound, none", async () => {
  const model = await Model.create(readFileSync('samples/paxos-commit.loom.md', 'utf8'), { path: 'paxos-commit.loom.md', env: { RMS: '1' } })
  const worlds: World[] = []
  const search = new Search(model, 10_000, 1_000_000, { deadlock: false, observer: { state: (_id, world) => void worlds.push(world), edge: () => {}, outside: () => {} } })
  search.seed()
  for (;;) {
    runLevel(search, model)
    if (!search.frontier) break
    search.nextLevel()
  }
  search.close()
  assert.equal(search.states, 1_461, "PaxosCommit with one RM: the sample's count")
  const agent = new EveryChoiceAgent()
  let compared = 0
  for (let i = 1; i < worlds.length; i += 7) {
    const world = worlds[i]!
    const action = model.actionsAt(world)[0]!
    const all = model.remembered(world, action, 10_000)
    assert.ok(all, `state ${i}: explored, every outcome of its step is remembered`)
    const walked = all.list.slice(0, all.count)
    const oneByOne: Outcome[] = []
    const ran = model.exec.run(() => {
      agent.reset()
      for (;;) {
        const o = model.outcome(world, action, agent)
        oneByOne.push(o)
        if (!agent.next(o.choices.length)) break
      }
    }, { overran: () => false })
    assert.ok(ran.ok)
    assert.deepEqual(walked.map((o) => o.choices.map((c) => c.value).join('.')), oneByOne.map((o) => o.choices.map((c) => c.value).join('.')), `state ${i}: the same sequences in the same order`)
    assert.ok(walked.every((o, k) => o === oneByOne[k]), `state ${i}: the same outcomes`)
    assert.ok(walked.some((o) => !o.failure) && walked.some((o) => o.failure?.aborted), `state ${i}: steps that commit and steps that wait`)
    assert.equal(model.remembered(world, action, walked.length - 1), null, `state ${i}: more outcomes than the bound: none (then they are tried one by one, and cut)`)
    compared++
  }
  assert.ok(compared > 200, `${compared} states compared`)
})
