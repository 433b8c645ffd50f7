// A small reservations app and a real history of it, for the exploration
// tests: one item in stock, a reservation taken while stock is left and
// filled by a background step a second later — which does not check the
// stock again. The history is made by a real `loom run` fed by real HTTP.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { notebook } from './helpers.ts'

export const RESERVATIONS = {
  state: `const stock = state.var('stock', 1)
const orders = state.queue<string>('orders')
const due = state.var<number | null>('due', null)`,
  api: `export function http(req: { path: string; body: string }) {
  if (req.path !== '/reserve') return { status: 404, body: 'no such page' }
  if (stock.get() <= 0) return { status: 409, body: 'sold out' }
  orders.push(JSON.parse(req.body || '{}').who ?? 'someone')
  if (due.get() === null) due.set(sys.time.now() + 1000)
  return { status: 202, body: 'reserved' }
}`,
  step: `export function step() {
  const d = due.get()
  if (d === null) sys.abort('nothing is due')
  sys.time.await(d)
  orders.take()
  stock.set(stock.get() - 1)
  due.set(orders.size() > 0 ? d : null)
}

test('never oversold', () => stock.get() >= 0)`,
}

/**
 * A real run of the reservations: Ann reserves, the step fills her order a
 * second later, then Bob is told it is sold out. Events: 1 code, 2 Ann's
 * request, 3 the step, 4 Bob's request.
 */
export async function recordedReservations(dir: string): Promise<{ nb: string; db: string }> {
  const nb = join(dir, 'reservations.loom.md')
  writeFileSync(nb, notebook(RESERVATIONS))
  const db = join(dir, 'reservations.loom.db')
  const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--port', '0', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] })
  const said: string[] = []
  try {
    // It says where it serves on stderr; if it ends first, what it said is why.
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stderr }).on('line', (line) => {
        said.push(line)
        const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
        if (m) resolve(m[1]!)
      })
      child.once('exit', (code) => reject(new Error(`loom run ended (exit ${code}) before serving: ${said.join('\n')}`)))
    })
    const reserve = (who: string) => fetch(`${url}/reserve`, { method: 'POST', body: JSON.stringify({ who }) })
    assert.equal((await reserve('ann')).status, 202)
    // Bob comes once the step has filled Ann's order (the app's own /sys/log says when).
    for (let i = 0; ; i++) {
      const log = await (await fetch(`${url}/sys/log?limit=10`)).text()
      if (/"kind":"step"/.test(log)) break
      assert.ok(i < 600, `the step did not fill Ann's order: ${log}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal((await reserve('bob')).status, 409)
  } finally {
    child.kill('SIGINT')
    await new Promise((r) => child.once('exit', r))
  }
  const events = JSON.parse(spawnSync(process.execPath, ['bin/loom.js', 'log', db, '--json'], { encoding: 'utf8' }).stdout) as { kind: string }[]
  assert.deepEqual(events.map((e) => e.kind), ['code', 'http', 'step', 'http'])
  return { nb, db }
}
