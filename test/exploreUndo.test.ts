// The time limit that guards a batch of exploration can cut the search off
// anywhere once the machine stalls, half-way through its own bookkeeping too
// (test/exploreBusy.test.ts does it with SIGSTOP). Here the cut is made where
// it can be chosen: at the n-th call from the search into the model, in
// every phase of a piece of work (before a transaction, after it, between
// "seen" and "added", while a level is written to or read from disk). Every
// piece cut off is undone and done again: the counts, the depth and the
// violations are exactly those of a search nobody cut.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Model } from '../engine/replay/model.ts'
import { Search, type SearchObserver } from '../engine/replay/search.ts'
import { runLevel } from '../engine/replay/levelBatches.ts'
import { unexploredBy } from '../engine/replay/explore.ts'

const text = readFileSync('samples/paxos-commit.loom.md', 'utf8')
// A broken test, so that violations are found (and reported once) while cuts happen.
const broken = text.replace("RM.every((rm) => decided(rm, 'prepared'))", "RM.some((rm) => decided(rm, 'prepared'))")
const env = { RMS: '2', BALLOTS: '1' }
/** What the search calls of the model between the marks of its pieces of work (slotJson: writing a level to disk). */
const CUT_IN = ['outcome', 'situationAfter', 'nextKey', 'after', 'key', 'clockMoved', 'brokenTests', 'actionsAt', 'slotJson', 'loadSlot'] as const
const CUT = new Error('cut')

interface Run { states: number; transitions: number; deadlocks: number; depth: number; found: string[]; interrupted: number; cuts: number }

/** Explores to the end, throwing at about every `every`-th call into the model from `offset` on, and resuming (as levelBatches does when the limit cuts a batch). */
async function run(options: { every?: number; offset?: number; frontierBytes?: number; observer?: SearchObserver }): Promise<Run> {
  const model = await Model.create(broken, { path: 'paxos-commit.loom.md', env })
  let calls = 0
  let cuts = 0
  let armed = false
  let next = (options.offset ?? 0) + 1
  if (options.every) {
    const target = model as unknown as Record<string, (...a: unknown[]) => unknown>
    for (const name of CUT_IN) {
      const real = target[name]!.bind(model)
      target[name] = (...a: unknown[]) => {
        // The gap between cuts varies: a piece done again is not cut at the same call every time (four in a row is a piece that never fits).
        if (armed && ++calls === next) throw ((next += options.every! + (cuts++ % 3)), CUT)
        return real(...a)
      }
    }
  }
  const search = new Search(model, 10_000, 1_000_000, { deadlock: false, frontierBytes: options.frontierBytes, observer: options.observer })
  search.seed()
  armed = true
  try {
    for (;;) {
      for (;;) {
        try {
          runLevel(search, model)
          break
        } catch (err) {
          if (err !== CUT) throw err
          search.resume()
        }
      }
      if (!search.frontier) break
      search.nextLevel()
    }
  } finally {
    search.close()
  }
  return { states: search.states, transitions: search.transitions, deadlocks: search.deadlocks, depth: search.depth, found: search.found.map((f) => `${f.key}@${f.at.id}/${f.depth}`), interrupted: search.interrupted, cuts }
}

const counts = (r: Run) => [r.states, r.transitions, r.deadlocks, r.depth, r.found]

test('a search cut off at any point of its own work, again and again, undoes the piece and finds exactly the states, transitions and violations of an undisturbed one', async () => {
  const undisturbed = await run({})
  assert.equal(undisturbed.states, 1153)
  assert.ok(undisturbed.found.length > 0)
  for (let offset = 0; offset < 13; offset++) {
    const r = await run({ every: 13, offset })
    assert.ok(r.cuts > 100, `cut ${r.cuts} times`)
    assert.deepEqual(counts(r), counts(undisturbed), `cut at about every 13th call from ${offset}`)
    assert.equal(r.interrupted, 0, 'every piece cut off was undone')
  }
})

test('levels written to and read from disk are rewound too', async () => {
  const undisturbed = await run({ frontierBytes: 200 })
  for (const offset of [0, 3, 6]) {
    const r = await run({ every: 7, offset, frontierBytes: 200 })
    assert.ok(r.cuts > 100)
    assert.deepEqual(counts(r), counts(undisturbed), `cut at about every 7th call from ${offset}`)
    assert.equal(r.interrupted, 0)
  }
})

test('a piece the state graph was told of cannot be undone: the report says the count is in doubt', async () => {
  // The graph is told of each state once its tests are checked; here a cut comes right after that.
  let told = 0
  const observer: SearchObserver = { state() { if (++told % 5 === 0) throw CUT }, edge() {}, outside() {} }
  const r = await run({ observer })
  assert.ok(r.interrupted > 0)
  const model = await Model.create(broken, { path: 'paxos-commit.loom.md', env })
  assert.match(unexploredBy(model, { ttyUnfed: false, budgetReached: false, outside: 0, interrupted: r.interrupted }).join('\n'), /^certainty — the machine was too busy/m)
})
