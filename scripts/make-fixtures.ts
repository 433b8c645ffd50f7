// Writes the golden histories under test/fixtures/: small logs made by this
// version of Loom, which `npm test` replays and verifies so that a later
// change that cannot read (or re-execute) old logs fails. Run only when the
// log format changes on purpose: node --import tsx scripts/make-fixtures.ts
import { rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { openSession } from '../engine/replay/session.ts'
import { forkBranch } from '../engine/replay/branches.ts'
import { logFiles } from '../engine/replay/dbPath.ts'
import type { EngineOptions } from '../engine/runtime/engine.ts'
import type { EffectRequest } from '../engine/runtime/effects/request.ts'

const DIR = 'test/fixtures'
mkdirSync(DIR, { recursive: true })
const clock = { clock: 'virtual' as const, startTime: Date.UTC(2026, 10, 21) }

async function make(name: string, notebook: string, work: (s: Awaited<ReturnType<typeof openSession>>) => Promise<void>, options: EngineOptions = {}) {
  const db = `${DIR}/${name}.loom.db`
  for (const f of logFiles(db)) rmSync(f, { force: true })
  const s = await openSession(notebook, { ...clock, db, ...options })
  await work(s)
  s.log.close()
  console.log(`wrote ${db}`)
}

await make('bank', 'samples/bank.loom.md', async ({ engine }) => {
  await engine.run({ untilIdle: true })
  engine.edit([{ state: 'transfers', push: { from: 'alice', to: 'carol', amount: 15 } }])
  await engine.run({ untilIdle: true })
})
await make('philosophers', 'samples/philosophers.loom.md', async ({ engine }) => {
  await engine.run({ steps: 300 })
})
await make('echo', 'samples/echo.loom.md', async ({ engine }) => {
  engine.input('golden\nhistories\n')
  await engine.run({ untilIdle: true })
})
await make('timer', 'samples/timer.loom.md', async ({ engine }) => {
  await engine.run({ untilIdle: true })
})
// Live coding and branches: a code change with switch(), and a fork that goes its own way.
const v1 = `${DIR}/livecode.loom.md`
writeFileSync(v1, "# Live code\n\n```ts #c\nconst n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1); if (n.get() % 7 === 0) sys.log('seven', n.get()) }\n```\n")
await make('livecode', v1, async ({ engine, log }) => {
  await engine.run({ steps: 40 })
  const r = await engine.replaceCode("# Live code\n\n```ts #c\nconst n = state.var('n', 0)\nconst big = state.map<number[]>('big')\nexport function step() { n.set(n.get() + 2); big.set(String(n.get() % 3), Array.from({ length: 400 }, (_, i) => i * n.get())) }\nfunction onSwitch() { n.set(1000) }\nexport { onSwitch as switch }\n```\n")
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'))
  await engine.run({ steps: 40 })
  forkBranch(log, 'alt', 'main', 20)
})
rmSync(v1)
// Safe reads: effect events recorded (answered here, not by the world), reused, and read again after maxAge.
const fx = `${DIR}/effects.loom.md`
writeFileSync(fx, "---\neffects:\n  http: ['http://127.0.0.1:*']\n  fs:\n    data: { path: ./data }\n---\n# Effects\n\n```ts #c\nconst seen = state.var<string[]>('seen', [])\nconst next = state.var<number>('next', 0)\nexport function step() {\n  if (seen.get().length >= 4) return sys.halt()\n  sys.time.await(next.get())\n  const rate = sys.http.get('http://127.0.0.1:9/rate', { maxAge: 1500 }).body\n  seen.set([...seen.get(), rate + ' ' + sys.fs.read('data', 'unit.txt')])\n  next.set(sys.time.now() + 1000)\n}\n```\n")
let asked = 0
await make('effects', fx, async ({ engine }) => {
  for (let i = 0; i < 50 && engine.status !== 'halted'; i++) {
    await engine.run({ untilIdle: true })
    await new Promise((r) => setTimeout(r, 5))
  }
}, { performEffect: async (r: EffectRequest) => ({ response: r.kind === 'fs.read' ? { text: 'EUR' } : { status: 200, headers: { 'content-type': 'text/plain' }, body: `rate ${++asked}` } }) })
rmSync(fx)
