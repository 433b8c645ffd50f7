// Writes the golden histories under test/fixtures/: small logs made by this
// version of Loom, which `npm test` replays and verifies so that a later
// change that cannot read (or re-execute) old logs fails. Run only when the
// log format changes on purpose: node --import tsx scripts/make-fixtures.ts
import { rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { openSession } from '../engine/replay/session.ts'
import { forkBranch } from '../engine/replay/branches.ts'
import { logFiles } from '../engine/replay/dbPath.ts'

const DIR = 'test/fixtures'
mkdirSync(DIR, { recursive: true })
const clock = { clock: 'virtual' as const, startTime: Date.UTC(2026, 10, 21) }

async function make(name: string, notebook: string, work: (s: Awaited<ReturnType<typeof openSession>>) => Promise<void>) {
  const db = `${DIR}/${name}.loom.db`
  for (const f of logFiles(db)) rmSync(f, { force: true })
  const s = await openSession(notebook, { ...clock, db })
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
