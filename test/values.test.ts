import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { plainValue, ValueError, canonicalJson } from '../engine/runtime/values.ts'

test('fuzz: the value validator returns frozen plain data or a ValueError with a path — never anything else', () => {
  fc.assert(
    fc.property(
      fc.anything({
        withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withObjectString: true,
        withNullPrototype: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true,
      }),
      (v) => {
        let result: unknown
        try {
          result = plainValue(v)
        } catch (err) {
          assert.ok(err instanceof ValueError, `unexpected ${err}`)
          assert.equal(typeof err.path, 'string')
          return
        }
        // Accepted: it survives JSON unchanged (the log can hold it) and is deeply frozen.
        assert.deepEqual(JSON.parse(JSON.stringify(result)), normalize(result))
        assertFrozen(result)
      },
    ),
    { seed: 1234, numRuns: 3000 },
  )
})

test('fuzz: canonical JSON is the same whatever order an object\'s keys were written in', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const reversed = reverseKeys(v)
      assert.equal(canonicalJson(reversed), canonicalJson(v))
      assert.deepEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)))
    }),
    { seed: 99, numRuns: 2000 },
  )
})

test('the validator names the path of the first bad part', () => {
  const cases: [unknown, string][] = [
    [{ a: [1, { b: Symbol('x') }] }, 'a symbol is not plain data at .a[1].b'],
    [{ 'odd key': Infinity }, 'Infinity is not plain data (numbers must be finite) at ["odd key"]'],
    [[1, , 3], 'an array with holes or extra properties is not plain data'],
    [Object.defineProperty({}, 'g', { get: () => 1, enumerable: true }), 'a getter or setter is not plain data at .g'],
    [new Proxy({}, {}), 'a Proxy is not plain data'],
    [{ d: new Date(0) }, 'a Date is not plain data (only null, booleans, finite numbers, strings, arrays and plain objects) at .d'],
  ]
  for (const [v, message] of cases) assert.throws(() => plainValue(v), (err: Error) => err instanceof ValueError && err.message === message, message)
})

test('-0 is stored as 0, since the log cannot tell them apart', () => {
  assert.ok(Object.is(plainValue(-0), 0))
  const v = plainValue({ x: -0 }) as { x: number }
  assert.ok(Object.is(v.x, 0))
})

function normalize(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v))
}

function assertFrozen(v: unknown): void {
  if (typeof v !== 'object' || v === null) return
  assert.ok(Object.isFrozen(v))
  for (const child of Object.values(v)) assertFrozen(child)
}

function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys)
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).reverse().map((k) => [k, reverseKeys((v as Record<string, unknown>)[k])]))
  return v
}

test('a value nested past 1000 levels is refused where it is written, naming the state, not with a bare stack overflow; 999 levels commit', async () => {
  const { open } = await import('./helpers.ts')
  const nested = (levels: number) => `let x: any = 1\n  for (let i = 0; i < ${levels}; i++) x = [x]\n  v.set(x)`
  const deep = await open({ s: `const v = state.var<any>('v', 0)\nexport function step() {\n  ${nested(100_000)}\n}` })
  await deep.run({ untilIdle: true })
  const reason = deep.attempts().at(-1)!.reason
  assert.match(reason, /^state 'v': a value nested more than 1000 levels deep is not plain data \(keep state flatter/)
  assert.doesNotMatch(reason, /call stack/)
  assert.ok(reason.length < 400, 'the path is cut short')
  const fits = await open({ s: `const v = state.var<any>('v', 0)\nexport function step() {\n  ${nested(999)}\n  sys.halt()\n}` })
  await fits.run({ untilIdle: true })
  assert.equal(fits.status, 'halted')
  assert.equal(JSON.stringify(fits.state().v!.value).length, 999 * 2 + 1)
})
