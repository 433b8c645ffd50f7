// Attacks on the history questions of a shared session (query, retroLogs,
// profile, timings, diff), sent by a view guest of a real `loom serve
// --share` with params that are wrong in type, range, size and depth. Each
// is answered (a result or an error saying what is wrong) and the session
// goes on answering the next honest request; a view guest cannot write.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { asGuest, rawEngine, nextJson } from './sharedServe.ts'

const deep = (n: number): unknown => {
  let v: unknown = 1
  for (let i = 0; i < n; i++) v = { v }
  return v
}

const ASKS: [string, unknown][] = [
  ['query', { expr: 5 }],
  ['query', { expr: null }],
  ['query', { expr: 'true', from: -1, to: 1e300 }],
  ['query', { expr: 'true', from: 3, to: 2 }],
  ['query', { expr: 'true', limit: 0 }],
  ['query', { expr: 'true', branch: '../../etc/passwd' }],
  ['query', { expr: 'x'.repeat(2_000_000) }],
  ['query', { expr: '('.repeat(100_000) }],
  ['query', { expr: "(accounts.set('bob', 1e9), true)" }],
  ['query', { expr: "(event.http = 1, Object.defineProperty(event, 'seq', { get() { for (;;) {} } }), true)" }],
  ['retroLogs', { limit: -5 }],
  ['retroLogs', { branch: 'nope' }],
  ['profile', { branch: 5 }],
  ['profile', { branch: 'x'.repeat(100_000) }],
  ['timings', { from: 1, to: 1e15 }],
  ['timings', { from: 'a', to: [] }],
  ['timings', {}],
  ['diff', { from: { branch: 'main', seq: 1 }, to: { branch: 'main', seq: 1e12 } }],
  ['diff', { from: null, to: 5 }],
  ['diff', { from: { branch: 'nope', seq: 1 }, to: { branch: 'main', seq: -1 } }],
  ['diff', { from: { branch: 'main', seq: 1 }, to: { branch: 'main', seq: 2 }, limit: 1e9 }],
]

test('a view guest\'s hostile history questions are each answered, change nothing, and the session keeps answering', () =>
  asGuest('samples/bank.loom.md', 'view', async (client, s) => {
    const before = await client.call('state', {})
    for (const [op, params] of ASKS) {
      let timer: NodeJS.Timeout | undefined
      const answer = await Promise.race([
        (client.call as (op: string, p: unknown) => Promise<unknown>)(op, params).then(() => 'ok', (e: Error) => `error: ${e.message}`),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no answer'), 20_000))),
      ])
      clearTimeout(timer)
      assert.notEqual(answer, 'no answer', `${op} ${JSON.stringify(params).slice(0, 100)}`)
      assert.ok(s.alive(), `serve exited after ${op} ${JSON.stringify(params).slice(0, 100)}`)
    }
    assert.deepEqual(await client.call('state', {}), before, 'a view guest changed nothing')
    // Params nested deeper than any message Loom sends: refused before it is parsed, so under id 0 (its own id is not read).
    const raw = await rawEngine(s.guestPort)
    raw.send(JSON.stringify({ kind: 'request', id: 1, op: 'hello', params: { token: s.tokens.view } }))
    await nextJson(raw)
    raw.send(JSON.stringify({ kind: 'request', id: 2, op: 'query', params: { expr: 'true', branch: deep(1000) } }))
    let got: Record<string, any> | null
    do got = await nextJson(raw, 10_000)
    while (got !== null && got.kind !== 'response')
    assert.ok(got !== null && got.ok === false && [0, 2].includes(got.id), JSON.stringify(got).slice(0, 200))
    assert.equal(got!.error.code, 'too-deep')
    raw.close()
  }))
