// Exploration's numbers for values and states (worldKeys.ts): 64-bit
// fingerprints in one flat table, texts kept only when asked for.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Fingerprints, Texts, Tuples } from '../engine/replay/worldKeys.ts'

test('a fingerprint table numbers 300,000 fingerprints in the order first seen, and finds each again after growing', () => {
  const table = new Fingerprints()
  const n = 300_000
  for (let i = 0; i < n; i++) assert.equal(table.number(i * 2654435761 >>> 0, i), i)
  for (let i = n - 1; i >= 0; i -= 997) assert.equal(table.number(i * 2654435761 >>> 0, i), i)
  // Same first half, another second half: another fingerprint.
  assert.equal(table.number(0, 1), n)
  assert.equal(table.size, n + 1)
})

test('a fingerprint is the same whether its halves are given as unsigned or as signed 32-bit numbers', () => {
  // The kinds' fingerprints and the tables keep halves signed (small integers for the JIT); a half given unsigned is the same half.
  const table = new Fingerprints()
  const high = 0x9e3779b9
  const n = table.number(high, 0xdeadbeef)
  assert.equal(table.number(high | 0, 0xdeadbeef | 0), n)
  assert.equal(table.number(high, 0xdeadbeef | 0), n)
  assert.equal(table.size, 1)
  const texts = new Texts()
  const m = texts.fingerprinted(high, 7)
  assert.equal(texts.fingerprinted(high | 0, 7), m)
  assert.equal(texts.text(m), `${high.toString(36)}.${(7).toString(36)}`, 'its text spells the halves unsigned, as before')
})

test('texts get numbers by value; their text is kept only when asked, else text() is the fingerprint', () => {
  const plain = new Texts()
  const a = plain.number('{"a":1}')
  assert.equal(plain.number('{"a"' + ':1}'), a, 'an equal text built another way')
  assert.notEqual(plain.number('{"a":2}'), a)
  assert.match(plain.text(a), /^[0-9a-z]+\.[0-9a-z]+$/)
  assert.equal(plain.keeps, false)
  const kept = new Texts(true)
  assert.equal(kept.text(kept.number('[1,2]')), '[1,2]')
})

test('lists of numbers get one number per list: order and length count', () => {
  const t = new Tuples()
  const of = (xs: number[]) => {
    t.begin(xs[0]!)
    for (const x of xs.slice(1)) t.add(x)
    return t.end(xs.length)
  }
  const ab = of([1, 2, 3])
  assert.equal(of([1, 2, 3]), ab)
  assert.notEqual(of([1, 3, 2]), ab)
  assert.notEqual(of([1, 2, 3, 0]), ab)
  assert.notEqual(of([0, 1, 2, 3]), ab)
})
