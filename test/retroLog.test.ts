// Retroactive logging (`loom replay DB --code NB --logs`): a log line added
// to a cell shows what it would have printed at every past event, the
// events whose writes come out differently are marked, and the log is left
// byte for byte as it was.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'loom-retro-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')
const bank = join(dir, 'bank.loom.db')
const BANK = readFileSync('samples/bank.loom.md', 'utf8')

interface Retro { inputs: number; lines: number; found: number; diverged: number; firstDivergence: number | null; events: { seq: number; lines: { channel: string; message: unknown }[]; diverged?: string }[] }
const retro = (db: string, code: string, ...args: string[]) => {
  const r = loom('replay', db, '--code', code, '--logs', '--json', ...args)
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as Retro
}
const variant = (name: string, text: string) => {
  const path = join(dir, `${name}.loom.md`)
  writeFileSync(path, text)
  return path
}

before(() => copyFileSync('test/fixtures/bank.loom.db', bank))

test('a console.log added to the bank step shows what each past transfer would have printed, and nothing is written', () => {
  const nb = variant('bank-logged', BANK.replace('  const t = transfers.take()\n', '  const t = transfers.take()\n  console.log(`taking ${t.amount} from ${t.from}`)\n'))
  const before = sha(bank)
  const r = loom('replay', bank, '--code', nb, '--logs')
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' ')), [
    '2 step taking 30 from alice',
    '3 step taking 60 from bob',
    '4 step taking 100 from carol',
    '4 step refused: {"from":"carol","to":"alice","amount":100}',
    '5 step taking 45 from carol',
    '7 step taking 15 from alice',
  ])
  assert.match(r.stderr, /re-enacted 6 recorded transactions of 'main' .*, writing nothing: 6 log lines; every outcome is the same as recorded/)
  assert.equal(sha(bank), before)
  assert.deepEqual(JSON.parse(loom('branches', bank, '--json').stdout).map((b: { name: string }) => b.name), ['main'])
})

test('where the edited code writes something else, the event is marked as diverged, with the first one named', () => {
  // Refuse anything above 50: carol's 60→… first differs at bob's transfer of 60 (event 3).
  const nb = variant('bank-strict', BANK.replace('if (from < t.amount) {', "if (from < t.amount || t.amount > 50) {\n    sys.log('strict', t.amount)"))
  const r = retro(bank, nb)
  assert.equal(r.firstDivergence, 3)
  assert.ok(r.diverged >= 1)
  const three = r.events.find((e) => e.seq === 3)!
  assert.match(three.diverged!, /^accounts\["bob"\]: 80 → 20 recorded, unchanged now.*; printed "refused: bob has 80, cannot send 60\\n" instead of "bob → carol: 60\\n"$/)
  assert.deepEqual(three.lines, [{ channel: 'strict', message: 60 }, { channel: 'refused', message: { from: 'bob', to: 'carol', amount: 60 } }])
  const text = loom('replay', bank, '--code', nb, '--logs')
  assert.match(text.stdout, /^ {6}3 {2}step +↯ diverged: accounts\["bob"\]: 80 → 20 recorded, unchanged now/m)
  assert.match(text.stderr, /came out differently, the first at event 3/)
})

test('over a branch of 100,000 events, every line the new code prints is found, at the event that printed it', () => {
  const nb = join(dir, 'tick.loom.md')
  const db = join(dir, 'tick.loom.db')
  const TICK = "# Tick\n\n```ts #tick\nconst x = state.var('x', 0)\nexport function step() {\n  x.set(x.get() + 1)\n}\n```\n"
  writeFileSync(nb, TICK)
  assert.equal(loom('run', nb, '--db', db, '--steps', '100000', '--no-fsync').status, 0)
  const before = sha(db)
  const logged = variant('tick-logged', TICK.replace('  x.set(x.get() + 1)\n', "  x.set(x.get() + 1)\n  if (x.get() % 10000 === 0) sys.log('tick', x.get())\n"))
  const r = retro(db, logged)
  assert.equal(r.inputs, 100000)
  assert.equal(r.diverged, 0)
  assert.deepEqual(r.events.map((e) => [e.seq, e.lines[0]!.message]), Array.from({ length: 10 }, (_, i) => [(i + 1) * 10000 + 1, (i + 1) * 10000]))
  // --limit keeps the first N events and counts the rest.
  const few = loom('replay', db, '--code', logged, '--logs', '--limit', '2')
  assert.equal(few.stdout.trim().split('\n').length, 2)
  assert.match(few.stderr, /the first 2 of 10 events shown/)
  assert.equal(sha(db), before)
})

test('bad input: --logs without --code, a notebook that does not compile, a step that now loops forever', () => {
  const none = loom('replay', bank, '--logs')
  assert.equal(none.status, 2)
  assert.match(none.stderr, /--logs shows what a notebook's current code would have logged: give it with --code NB/)
  const broken = variant('bank-broken', BANK.replace('export function step() {', 'export function step() {{'))
  const b = loom('replay', bank, '--code', broken, '--logs')
  assert.equal(b.status, 2, b.stderr)
  assert.match(b.stderr, /bank-broken\.loom\.md/)
  const loops = variant('bank-loops', BANK.replace('  const t = transfers.take()\n', '  const t = transfers.take()\n  if (t.amount === 100) for (;;) {}\n'))
  const before = sha(bank)
  const r = retro(bank, loops, '--time-limit', '20')
  assert.equal(r.firstDivergence, 4)
  assert.match(r.events.find((e) => e.seq === 4)!.diverged!, /^it no longer commits \(ran past its time limit of \d+ ms\)$/)
  assert.equal(sha(bank), before)
})
