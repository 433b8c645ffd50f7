// The canonical encoding of an event is what every hash covers: a log written
// by any version of Loom must re-verify under this one. The encoder is written
// for speed (remembered pieces, one rope), so it is held here to the plain
// encoder it replaced — kept below as the definition — over seeded random
// events of every kind of write, awkward names and values, and long values
// whose ranges a log stores apart.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEventParts, encodeEvent } from '../engine/runtime/log.ts'
import { canonicalJson } from '../engine/runtime/values.ts'
import type { EventRecord, Write } from '../engine/runtime/event.ts'

/** The encoding as first written: fields in a fixed order, each value canonical, long ones' ranges noted. */
function definition(e: EventRecord, minCut: number): { text: string; cuts: [number, number][] } {
  const parts: string[] = []
  const big: number[] = []
  const value = (v: unknown) => {
    const json = canonicalJson(v)
    if (json.length >= minCut) big.push(parts.length)
    parts.push(json)
  }
  parts.push(`{"branch":${JSON.stringify(e.branch)},"seq":${e.seq},"kind":"${e.kind}","codeHash":"${e.codeHash}","time":${e.time},"method":${JSON.stringify(e.method)},"input":`)
  value(e.input)
  let mid = ',"choices":['
  for (let i = 0; i < e.choices.length; i++) mid += `${i ? ',' : ''}{"n":${e.choices[i]!.n},"value":${e.choices[i]!.value}}`
  mid += '],"reads":['
  for (let i = 0; i < e.reads.length; i++) {
    const r = e.reads[i]!
    mid += `${i ? ',' : ''}{"state":${JSON.stringify(r.state)}${r.key === undefined ? '' : `,"key":${JSON.stringify(r.key)}`},"version":${r.version}}`
  }
  parts.push(mid + '],"writes":[')
  for (let i = 0; i < e.writes.length; i++) {
    const w = e.writes[i]!
    const head = `${i ? ',' : ''}{"state":${JSON.stringify(w.state)},"op":"${w.op}"`
    if (w.op === 'set') (parts.push(`${head}${'key' in w ? `,"key":${JSON.stringify(w.key)}` : ''},"value":`), value(w.value))
    else if (w.op === 'delete') parts.push(`${head},"key":${JSON.stringify(w.key)}`)
    else if (w.op === 'queue') (parts.push(`${head},"take":${w.take},"push":`), value(w.push))
    else if (w.op === 'bag') (parts.push(`${head},"take":${JSON.stringify(w.take)},"put":`), value(w.put))
    else if (w.op === 'add') parts.push(`${head},"value":${w.value}`)
    else if (w.op === 'declare') (parts.push(`${head},"kind":"${w.kind}","value":`), value(w.value))
    parts.push('}')
  }
  parts.push('],"outputs":')
  const o = e.outputs
  if (o.tty === undefined && o.logs === undefined && o.http === undefined && o.halt === undefined) parts.push('{}')
  else value(o)
  parts.push('}')
  const cuts: [number, number][] = []
  for (let i = 0, at = 0, b = 0; i < parts.length && b < big.length; i++) {
    if (i === big[b]) (cuts.push([at, at + parts[i]!.length]), b++)
    at += parts[i]!.length
  }
  return { text: parts.join(''), cuts }
}

/** A small seeded generator (mulberry32): the same events every run. */
function random(seed: number) {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(xs: T[]) => xs[int(xs.length)]!
  const names = ['count', 'main', 'a"quote', 'back\\slash', 'new\nline', 'ünïcödé', '日本', '\u2028sep', 'emoji😀', '', 'x'.repeat(300), 'step', 'gui']
  const json = (depth: number): unknown => {
    switch (int(depth > 2 ? 5 : 8)) {
      case 0: return null
      case 1: return pick([0, -0, 1, -1, 1.5, 1e21, 2 ** 53, -3.25e-7])
      case 2: return pick([true, false])
      case 3: return pick(names)
      case 4: return 'long:' + 'y'.repeat(int(3) === 0 ? 1100 : 10)
      case 5: return Array.from({ length: int(4) }, () => json(depth + 1))
      case 6: return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(names), json(depth + 1)]))
      default: return { z: json(depth + 1), a: json(depth + 1) }
    }
  }
  const write = (): Write => {
    const state = pick(names)
    switch (int(7)) {
      case 0: return { state, op: 'set', value: json(0) as never }
      case 1: return { state, op: 'set', key: pick(names), value: json(0) as never }
      case 2: return { state, op: 'delete', key: pick(names) }
      case 3: return { state, op: 'queue', take: int(3), push: [json(1), json(1)] as never }
      case 4: return { state, op: 'bag', take: [int(5), int(5)], put: [json(1)] as never }
      case 5: return { state, op: 'add', value: pick([1, -2, 0.5]) }
      default: return { state, op: 'declare', kind: pick(['var', 'map', 'queue', 'bag', 'counter']) as never, value: json(0) as never }
    }
  }
  const event = (seq: number): EventRecord => ({
    branch: pick(names), seq, kind: pick(['start', 'step', 'http', 'gui', 'edit', 'code', 'halt']) as never, codeHash: pick(['a'.repeat(64), 'b'.repeat(64), '']),
    time: 1_796_423_001_740 + int(1000), method: pick([null, 'step', 'http', pick(names)]), input: json(0) as never,
    choices: Array.from({ length: int(3) }, () => ({ n: 1 + int(4), value: int(4) })),
    reads: Array.from({ length: int(4) }, () => (int(2) ? { state: pick(names), version: int(99) } : { state: pick(names), key: pick(names), version: int(99) })),
    writes: Array.from({ length: int(4) }, write),
    outputs: pick([{}, { tty: pick(names) }, { halt: true as const }, { http: json(0) as never, logs: [{ level: 'log', text: pick(names) }] as never }]),
    parentHash: '', hash: '',
  })
  return event
}

test('the encoding of every event is the one its hash was first made over, long values cut at the same places', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const event = random(seed)
    for (let seq = 1; seq <= 2000; seq++) {
      const e = event(seq)
      for (const minCut of [1024, Infinity, 8]) {
        const got = encodeEventParts(e, minCut)
        const want = definition(e, minCut)
        assert.equal(got.text, want.text, `seed ${seed}, event ${seq}`)
        assert.deepEqual(got.cuts, want.cuts, `seed ${seed}, event ${seq}, cuts`)
      }
      assert.equal(encodeEvent(e), definition(e, Infinity).text)
    }
  }
})

test('an event as a crafted import may hold it (an op Loom never writes, names that are not strings) is encoded as written, not refused with a crash', () => {
  const event = random(11)
  for (const writes of [[{ state: 'x', op: 'bogus' }, { state: { a: 1 }, op: 'add', value: 1 }], [{ state: 'y', op: 'add', value: 2 }, { state: 'x', op: 'nope' }], [{ state: 'z', op: 'constructor' }, { state: 'z', op: '__proto__' }, { state: 'z', op: 'toString' }]]) {
    const crafted = { ...event(1), reads: [{ state: 7, version: 1 }], writes } as unknown as EventRecord
    assert.deepEqual(encodeEventParts(crafted, 1024), definition(crafted, 1024))
  }
})

test('an event whose value cannot be encoded leaves nothing behind for the next one', () => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const event = random(9)
  const bad = { ...event(1), writes: [{ state: 'x', op: 'set', value: 'z'.repeat(2000) }, { state: 'x', op: 'set', value: cyclic }] } as EventRecord
  assert.throws(() => encodeEventParts(bad, 1024))
  const next = { ...event(2), writes: [] }
  assert.deepEqual(encodeEventParts(next, 1024), definition(next, 1024))
})
