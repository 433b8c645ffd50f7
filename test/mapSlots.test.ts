// A state.map's slots (state/map.ts): a slot made from another shares its
// keys while they are the same, and a live cell changes its own slot in
// place. Whatever the mix, every slot must read as a JS Map given the same
// writes would — its keys in that order, a key set again after a delete at
// the end — and a slot someone keeps (a world, a saved state) never changes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MapCell } from '../engine/runtime/store.ts'
import type { Write } from '../engine/runtime/event.ts'
import type { MapSlot } from '../engine/runtime/state/map.ts'

const kind = new MapCell(0, 'm', null, {}, 0).slots

/** What a JS Map holds after the same writes: present keys in order, with their values. */
function reference(before: Map<string, number | undefined>, writes: Write[]): Map<string, number | undefined> {
  const m = new Map(before)
  for (const w of writes) {
    if (w.op === 'set' && 'key' in w) {
      if (m.get(w.key) === undefined) m.delete(w.key)
      m.set(w.key, w.value as number)
    } else if (w.op === 'delete') m.set(w.key, undefined)
  }
  return m
}

const present = (m: Map<string, number | undefined>) => Object.fromEntries([...m].filter(([, v]) => v !== undefined))
const shown = (slot: MapSlot) => {
  const value = kind.value(slot) as Record<string, number>
  return { keys: Object.keys(value), value }
}

test('map slots made from each other, in place or copied, each read as a JS Map given the same writes, and a kept slot never changes', () => {
  let seed = 7
  const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n
  // Several lines of slots branching from each other (as exploration's worlds do), each step in place or not.
  const kept: { slot: MapSlot; ref: Map<string, number | undefined>; text: string }[] = []
  let slot = kind.make({ a: 1, b: 2 }, 0)
  let ref = new Map<string, number | undefined>([['a', 1], ['b', 2]])
  for (let step = 0; step < 3000; step++) {
    if (kept.length && random(4) === 0) {
      // Go on from a slot kept earlier: it is held, so it is never changed in place.
      const from = kept[random(kept.length)]!
      slot = from.slot
      ref = from.ref
      const writes = [{ state: 'm', op: 'set', key: 'k' + random(40), value: random(3) } as Write]
      slot = kind.apply(slot, writes, step, false)
      ref = reference(ref, writes)
    } else {
      const writes: Write[] = []
      for (let i = 1 + random(3); i > 0; i--) {
        const key = 'k' + random(40)
        writes.push(random(3) === 0 ? ({ state: 'm', op: 'delete', key } as Write) : ({ state: 'm', op: 'set', key, value: random(3) } as Write))
      }
      const inPlace = random(2) === 0 && !kept.some((k) => k.slot === slot)
      slot = kind.apply(slot, writes, step, inPlace)
      ref = reference(ref, writes)
    }
    assert.deepEqual(shown(slot), { keys: Object.keys(present(ref)), value: present(ref) }, `step ${step}`)
    if (random(5) === 0) kept.push({ slot, ref, text: kind.canonical(slot) })
  }
  assert.ok(kept.length > 100)
  for (const k of kept) {
    assert.equal(kind.canonical(k.slot), k.text, 'a kept slot reads as when it was kept')
    assert.deepEqual(shown(k.slot).keys, Object.keys(present(k.ref)))
  }
})

test('a map slot saved and loaded keeps its keys, their order and the versions of deleted ones', () => {
  let slot = kind.make({ x: 1, y: 2, z: 3 }, 1)
  slot = kind.apply(slot, [{ state: 'm', op: 'delete', key: 'x' } as Write], 2, false)
  slot = kind.apply(slot, [{ state: 'm', op: 'set', key: 'x', value: 4 } as Write, { state: 'm', op: 'delete', key: 'y' } as Write], 3, true)
  const loaded = kind.load(JSON.parse(JSON.stringify(kind.save(slot))), (v) => v)
  assert.deepEqual(Object.keys(kind.value(loaded) as object), ['z', 'x'])
  assert.equal(kind.versionOf(loaded, 'y'), 3)
  assert.equal(kind.canonical(loaded), kind.canonical(slot))
})
