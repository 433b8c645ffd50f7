// A state.set's slots (state/set.ts): has(x) of one of the first distinct
// elements a process meets is one bit of the slot, of the others a search
// of its items; a slot made from another copies its items only when a write
// changes them. Whatever the mix, every slot must hold exactly the elements
// its writes leave, and a slot someone keeps never changes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SetCell } from '../engine/runtime/store.ts'
import { elementHashOf, hasElement, type SetSlot } from '../engine/runtime/state/set.ts'
import { canonicalJson, type Json } from '../engine/runtime/values.ts'
import type { Write } from '../engine/runtime/event.ts'

const kind = new SetCell(0, 's', null, [], 0).slots

test('set slots made from each other, in place or copied, hold exactly the elements their writes leave, has() agrees for 200 distinct elements, and a kept slot never changes', () => {
  let seed = 11
  const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n
  // More distinct elements than are numbered: has() goes both ways.
  const universe: string[] = Array.from({ length: 200 }, (_, i) => canonicalJson({ m: i % 7, n: i } as Json))
  const kept: { slot: SetSlot; ref: Set<string>; text: string }[] = []
  let slot = kind.make([], 0)
  let ref = new Set<string>()
  for (let step = 0; step < 3000; step++) {
    if (kept.length && random(4) === 0) {
      const from = kept[random(kept.length)]!
      slot = from.slot
      ref = new Set(from.ref)
    } else ref = new Set(ref)
    const writes: Write[] = []
    for (let i = 1 + random(3); i > 0; i--) {
      const key = universe[random(universe.length)]!
      if (random(4) === 0) {
        writes.push({ state: 's', op: 'delete', key } as Write)
        ref.delete(key)
      } else {
        writes.push({ state: 's', op: 'set', key, value: JSON.parse(key) } as Write)
        ref.add(key)
      }
    }
    const inPlace = random(2) === 0 && !kept.some((k) => k.slot === slot)
    slot = kind.apply(slot, writes, step, inPlace)
    assert.equal(kind.canonical(slot), '<' + [...ref].sort().map((k) => k + ',').join('') + '>', `step ${step}`)
    for (let i = 0; i < 20; i++) {
      const key = universe[random(universe.length)]!
      assert.equal(hasElement(slot, key, elementHashOf(key)), ref.has(key), `step ${step}: has ${key}`)
    }
    if (random(5) === 0) kept.push({ slot, ref, text: kind.canonical(slot) })
  }
  assert.ok(kept.length > 100)
  for (const k of kept) assert.equal(kind.canonical(k.slot), k.text, 'a kept slot reads as when it was kept')
})
