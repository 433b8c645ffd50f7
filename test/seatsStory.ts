// The oversell of test/fixtures/seats.loom.md, as real requests to the app's
// port, and its fix: shared by the CLI and window tests of replay with new code.
import assert from 'node:assert/strict'

export const FIXTURE = 'test/fixtures/seats.loom.md'
export const BUG = 'const free = () => seats.get()'
export const FIX = 'const free = () => seats.get() - holds.size()'

/** The oversell, sent as real requests: two holds while one seat is free, the close, the two confirmations, then a look at the seats. */
export async function oversell(app: string, state: () => Promise<{ seats: number; holds: Record<string, string> }>): Promise<void> {
  for (const name of ['ann', 'bob']) assert.equal((await fetch(`${app}/hold`, { method: 'POST', body: name })).status, 201)
  assert.equal((await fetch(`${app}/close`, { method: 'POST', body: '' })).status, 200)
  const until = Date.now() + 30_000
  for (;;) {
    const s = await state()
    if (s.seats === -1 && Object.keys(s.holds).length === 0) break
    assert.ok(Date.now() < until, `the holds were not both confirmed: ${JSON.stringify(s)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.deepEqual(await (await fetch(`${app}/seats`)).json(), { seats: -1 })
}
