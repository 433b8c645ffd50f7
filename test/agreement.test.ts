// Exploration and the live engine share one state model, so they must agree:
// from the same state, with the same choices, a step that exploration says
// leads to a state is the step the live engine commits, to that same state.
// Seeded random notebooks over every kind of state; a failure names its seed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Model } from '../engine/replay/model.ts'
import type { World } from '../engine/replay/worlds.ts'
import { explore } from '../engine/replay/explore.ts'
import { EveryChoiceAgent } from '../engine/runtime/agent.ts'
import type { Outcome } from '../engine/replay/memo.ts'
import { canonicalJson } from '../engine/runtime/values.ts'
import { notebook, open, plain, seededRandom } from './helpers.ts'

const STATE = `const v = state.var('v', 0)
const m = state.map<number>('m', { k1: 1 })
const q = state.queue<number>('q', [])
const b = state.bag<string>('b', ['z'])
const c = state.counter('c')
const out = state.var<unknown>('out', null)`

/** Statements a step is made of: each uses one kind of state, most make a choice. */
const STATEMENTS = [
  `v.set((v.get() + sys.fork(2)) % 3)`,
  `m.set('k' + sys.fork(3), sys.fork(2))`,
  `m.delete('k' + sys.fork(3))`,
  `out.set(m.keys())`,
  `if (q.size() < 3) q.push(sys.fork(3))`,
  `out.set(q.take() ?? null)`,
  `if (q.size() > 1) out.set(q.peek() ?? null)`,
  `if (b.size() < 3) b.put(['x', 'y', 'z'][sys.fork(3)]!)`,
  // The same two items put in either order.
  `if (b.size() < 2) { const o = sys.fork(2); b.put(o ? 'x' : 'y'); b.put(o ? 'y' : 'x') }`,
  `if (b.size() > 0) out.set(b.take() ?? null)`,
  `out.set(b.items())`,
  `if (c.get() < 4) c.add(sys.fork(2) + 1)`,
  `if (c.get() >= 4 && sys.fork(2) === 0) sys.abort('the counter is full')`,
  `sys.tty.write(String(v.get()))`,
]

function randomNotebook(seed: number): string {
  const random = seededRandom(seed)
  const pick = () => STATEMENTS[Math.floor(random() * STATEMENTS.length)]!
  const body = Array.from({ length: 2 + Math.floor(random() * 3) }, pick)
  // Every notebook takes from a bag it may have filled in another order.
  body.push(STATEMENTS[9]!)
  return notebook({ state: STATE, step: `export function step() {\n  ${body.join('\n  ')}\n}` })
}

/** Exploration's outcomes of a step in `world`, one per choice sequence, as its search gets them (remembered ones included). */
function exploredOutcomes(model: Model, world: World): Outcome[] {
  const agent = new EveryChoiceAgent()
  const found: Outcome[] = []
  const ran = model.exec.run(() => {
    do found.push(model.outcome(world, 'step', agent))
    while (agent.next(found.at(-1)!.choices.length))
  }, { overran: () => false })
  assert.ok(ran.ok, 'a step ran past its time limit')
  return found
}

const SEEDS = 16
const STEPS = 8

test('from the same state with the same choices, exploration reaches exactly what the live engine commits, on random notebooks over every kind of state', async () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const text = randomNotebook(seed)
    const fail = (what: string) => `seed ${seed}: ${what}\n${text}`
    const model = await Model.create(text, { path: 'agreement.loom.md' })
    // Explored first, so what the walk below gets is mostly remembered from other states.
    explore(model, { maxStates: 3000 })
    const engine = await open({ state: STATE, step: text.split('```ts #step\n')[1]!.split('\n```')[0]! })
    const random = seededRandom(seed * 7919)
    let world = model.root
    const byKey = new Map<number, string>()
    for (let step = 0; step < STEPS; step++) {
      assert.deepEqual(plain(engine.state()), model.values(world), fail(`step ${step}: the live state and exploration's differ`))
      const committed: { outcome: Outcome; next: World }[] = []
      for (const outcome of exploredOutcomes(model, world)) {
        const choices = outcome.choices.map((ch) => ch.value)
        const preview = engine.preview({ method: 'step', choices })
        assert.equal(preview.committed, outcome.committed, fail(`step ${step}, choices ${choices}: commits?`))
        if (!outcome.committed) {
          engine.discardPreview(preview.id)
          continue
        }
        assert.equal(canonicalJson(plain(preview.writes)), canonicalJson(plain(outcome.writes)), fail(`step ${step}, choices ${choices}: the writes`))
        const next = model.after(world, outcome, 'step')
        assert.equal(model.nextKey(world, outcome, 'step'), model.key(next), fail(`step ${step}, choices ${choices}: the successor's key`))
        for (const change of preview.changes) {
          assert.deepEqual(change.after, model.values(next)[change.state]!.value, fail(`step ${step}, choices ${choices}: '${change.state}' after`))
        }
        // Equal keys are states no transaction can tell apart.
        const values = canonicalJson(model.values(next))
        assert.equal(byKey.get(model.key(next)) ?? values, values, fail(`step ${step}, choices ${choices}: two different states share a key`))
        byKey.set(model.key(next), values)
        engine.discardPreview(preview.id)
        committed.push({ outcome, next })
      }
      if (!committed.length) break
      // One of them is committed for real, and the walk goes on from there.
      const { outcome, next } = committed[Math.floor(random() * committed.length)]!
      const preview = engine.preview({ method: 'step', choices: outcome.choices.map((ch) => ch.value) })
      const result = engine.commitPreview(preview.id)
      assert.ok('event' in result, fail(`step ${step}: the commit re-previewed`))
      assert.deepEqual(plain(result.event.choices), plain(outcome.choices), fail(`step ${step}: the committed choices`))
      world = next
    }
    assert.deepEqual(plain(engine.state()), model.values(world), fail('the last live state and exploration\'s differ'))
  }
})
