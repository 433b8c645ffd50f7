import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog, LogFormatError } from '../engine/replay/sqliteLog.ts'
import { seek, seekStore, diff } from '../engine/replay/seek.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { forkBranch } from '../engine/replay/branches.ts'
import { replayWithCode } from '../engine/replay/rerun.ts'
import { Engine } from '../engine/runtime/engine.ts'
import { notebook, plain } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-durable-'))
let n = 0
const fresh = (name = 'app') => join(dir, `${name}-${++n}.loom.db`)
const loom = (args: string[], input = '') => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', input })

function nbFile(cells: Record<string, string>, fm = ''): string {
  const path = join(dir, `nb-${++n}.loom.md`)
  writeFileSync(path, notebook(cells, fm))
  return path
}

/** A counter notebook and its log after `steps` steps, closed: the history most tests start from. */
async function counterHistory(steps: number, name = 'app'): Promise<{ nb: string; db: string }> {
  const nb = nbFile(COUNTER)
  const db = fresh(name)
  const s = await openSession(nb, { db })
  await s.engine.run({ steps })
  s.log.close()
  return { nb, db }
}

const COUNTER = { c: "const n = state.var('n', 0)\nconst log = state.queue<number>('seen')\nexport function step() { const v = n.get() + 1; n.set(v); log.push(v); sys.tty.write(v + '\\n') }" }

test('a second run of the same notebook continues the same history: no state is lost by stopping', async () => {
  const nb = nbFile(COUNTER)
  const db = fresh()
  let s = await openSession(nb, { db })
  await s.engine.run({ steps: 30 })
  s.log.close()
  s = await openSession(nb, { db })
  assert.equal(s.resumedAt, 31)
  assert.equal(s.engine.state().n!.value, 30)
  await s.engine.run({ steps: 12 })
  assert.equal(s.engine.state().n!.value, 42)
  assert.deepEqual(s.engine.events().map((e) => e.kind).filter((k) => k === 'code'), ['code'], 'same code: no new code event')
  s.log.close()
  const log = SqliteLog.open(db)
  assert.equal((await verifyBranch(log, 'main')).ok, true)
  log.close()
})

test('changed code on resume is a code event; the app keeps its state and runs the new code', async () => {
  const nb = nbFile(COUNTER)
  const db = fresh()
  let s = await openSession(nb, { db })
  await s.engine.run({ steps: 5 })
  s.log.close()
  writeFileSync(nb, notebook({ c: "const n = state.var('n', 0)\nconst log = state.queue<number>('seen')\nconst extra = state.var('extra', 'new')\nexport function step() { n.set(n.get() + 100) }" }))
  s = await openSession(nb, { db })
  await s.engine.run({ steps: 1 })
  assert.equal(s.engine.state().n!.value, 105)
  assert.equal(s.engine.state().extra!.value, 'new')
  const kinds = s.engine.events().map((e) => e.kind)
  assert.deepEqual(kinds.filter((k) => k === 'code').length, 2)
  s.log.close()
  const log = SqliteLog.open(db)
  const r = await verifyBranch(log, 'main')
  assert.equal(r.ok, true, JSON.stringify(r.failure))
  log.close()
})

test('a halted app stays halted when run again', () => {
  const db = fresh('timer')
  const first = loom(['run', 'samples/timer.loom.md', '--db', db])
  assert.equal(first.status, 0, first.stderr)
  const again = loom(['run', 'samples/timer.loom.md', '--db', db])
  assert.equal(again.stdout, '')
  assert.match(again.stderr, /0 events committed \(continued at event 6\), 0 attempts aborted, halted/)
})

/** A history with forks: main, a (from main), b (from a), c (from main), each run with its own steps. */
async function forkedHistory(): Promise<{ db: string; moments: { branch: string; head: number }[] }> {
  const nb = nbFile({
    s: `const m = state.map<number>('m')
const q = state.queue<number>('q')
const c = state.counter('c')
const b = state.bag<string>('b', ['x', 'y', 'z', 'w'])
export function step() {
  const i = sys.fork(3)
  const k = String(sys.random(c.get(), 5))
  m.set(k, (m.get(k) ?? 0) + i + 1)
  if (i === 0 && q.size() > 0) q.take(); else q.push(c.get())
  if (i === 2 && m.has('0')) m.delete('0')
  if (b.size() > 1 && i === 1) b.put(b.take() + '!')
  c.add(1)
}`,
  }, 'seed: 5')
  const db = fresh('forks')
  const s = await openSession(nb, { db })
  await s.engine.run({ steps: 2500 })
  s.log.close()
  const log = SqliteLog.open(db, { snapshotEvery: 100 })
  forkBranch(log, 'a', 'main', 700)
  forkBranch(log, 'c', 'main', 1234)
  log.close()
  for (const [branch, steps] of [['a', 400], ['c', 50]] as const) {
    const t = await openSession(nb, { db, branch })
    await t.engine.run({ steps })
    t.log.close()
  }
  const log2 = SqliteLog.open(db)
  forkBranch(log2, 'b', 'a', 900)
  log2.close()
  const u = await openSession(nb, { db, branch: 'b' })
  await u.engine.run({ steps: 333 })
  u.log.close()
  const log3 = SqliteLog.open(db)
  const moments = log3.branches().map((b) => ({ branch: b.name, head: b.head }))
  log3.close()
  return { db, moments }
}

test('seek equals replay: for random moments across forks, seek returns the state re-execution reaches', async () => {
  const { db, moments } = await forkedHistory()
  const log = SqliteLog.open(db)
  // Every branch verifies on its own.
  for (const m of moments) assert.equal((await verifyBranch(log, m.branch)).ok, true, m.branch)
  // The re-executed state after event `seq` is what a Replayer leaves; compare with seek.
  const { Replayer } = await import('../engine/replay/replayer.ts')
  const samples = fc.sample(fc.tuple(fc.constantFrom(...moments), fc.double({ min: 0, max: 1, noNaN: true })), { seed: 77, numRuns: 12 })
  for (const [m, r] of samples) {
    const seq = Math.floor(r * m.head)
    const replayer = new Replayer(log, m.branch, 1)
    const failure = await replayer.checkAll(log.eventsOf(m.branch, 1, seq))
    assert.equal(failure, null)
    assert.deepEqual(plain(replayer.exec.store.values()), plain(seek(log, { branch: m.branch, seq })), `${m.branch}@${seq}`)
  }
  log.close()
})

test('seek reads one snapshot plus at most K write sets, and the live state is untouched by looking at the past', async () => {
  const nb = nbFile(COUNTER)
  const db = fresh()
  const s = await openSession(nb, { db })
  await s.engine.run({ steps: 3000 })
  const past = seek(s.log, { branch: 'main', seq: 1500 })
  assert.equal(past.n!.value, 1499)
  assert.equal(s.engine.state().n!.value, 3000)
  const loaded: number[] = []
  const original = s.log.eventsOf.bind(s.log)
  s.log.eventsOf = (b, from, limit) => {
    const events = original(b, from, limit)
    loaded.push(events.length)
    return events
  }
  seekStore(s.log, { branch: 'main', seq: 2999 })
  assert.ok(loaded.reduce((a, b) => a + b, 0) <= s.log.snapshotEvery, `applied ${loaded} write sets`)
  s.log.close()
})

test('diff names what changed between two moments, per key for maps', async () => {
  const nb = nbFile({ s: "const m = state.map<number>('m', { a: 1, b: 2 })\nconst v = state.var('v', 0)\nexport function step() { m.set('a', m.get('a')! + 1); m.delete('b'); m.set('c', 3); v.set(1); sys.halt() }" })
  const db = fresh()
  const s = await openSession(nb, { db })
  await s.engine.run({ untilIdle: true })
  const changes = diff(s.log, { branch: 'main', seq: 1 }, { branch: 'main', seq: 2 })
  assert.deepEqual(plain(changes), [
    { state: 'm', change: 'changed', kind: 'map', before: { a: 1, b: 2 }, after: { a: 2, c: 3 }, keys: [{ key: 'a', before: 1, after: 2 }, { key: 'b', before: 2, after: null }, { key: 'c', before: null, after: 3 }] },
    { state: 'v', change: 'changed', kind: 'var', before: 0, after: 1 },
  ])
  s.log.close()
})

test('branches: fork without copying, list, promote, delete only leaves; the live branch is where run continues', async () => {
  const { nb, db } = await counterHistory(10)
  assert.equal(loom(['fork', db, '--at', '4', '--name', 'try']).status, 0)
  assert.equal(loom(['fork', db, '--at', '2', '--from', 'try', '--name', 'inner']).status, 0)
  const rows = (Database as any)(db).prepare('SELECT count(*) FROM chunks WHERE branch = (SELECT id FROM branches WHERE name = ?)').pluck().get('try')
  assert.equal(rows, 0, 'a fork copies no events')
  const del = loom(['branches', db, '--delete', 'try'])
  assert.equal(del.status, 2)
  assert.match(del.stderr, /branch 'try' has branches forked from it \(inner\); delete those first/)
  assert.equal(loom(['promote', db, 'try']).status, 0)
  const run = loom(['run', nb, '--db', db, '--steps', '3', '--json'])
  assert.equal(JSON.parse(run.stdout).state.n, 6, 'try continues from event 4 (n = 3)')
  const list = JSON.parse(loom(['branches', db, '--json']).stdout)
  assert.deepEqual(list.map((b: { name: string; head: number; live: boolean }) => [b.name, b.head, b.live]), [['main', 11, false], ['try', 7, true], ['inner', 2, false]])
  assert.equal(loom(['branches', db, '--delete', 'inner']).status, 0)
  assert.equal(loom(['replay', db, '--verify', '--branch', 'try']).status, 0)
  assert.equal(loom(['replay', db, '--verify', '--branch', 'main']).status, 0)
  const state = JSON.parse(loom(['state', db, '--branch', 'main', '--at', '5', '--json']).stdout)
  assert.equal(state.n, 4)
})

test('export and import move a branch between logs, verified; a changed export is refused and nothing is kept', async () => {
  const { nb, db: a } = await counterHistory(2100, 'a')
  const file = join(dir, 'main.jsonl')
  assert.equal(loom(['export', a, '--out', file]).status, 0)
  // A file to send someone: it names the notebook, not the folders it was kept in.
  assert.ok(!readFileSync(file, 'utf8').includes(dirname(nb)), 'the export holds no path of this machine')
  assert.match(readFileSync(file, 'utf8'), new RegExp(`"path":"${basename(nb).replace(/\./g, '\\.')}"`))
  const b = fresh('b')
  const t = await openSession(nb, { db: b })
  t.log.close()
  const imp = loom(['import', b, file, '--name', 'theirs'])
  assert.equal(imp.status, 0, imp.stderr)
  assert.equal(loom(['replay', b, '--verify', '--branch', 'theirs']).status, 0)
  assert.equal(JSON.parse(loom(['state', b, '--branch', 'theirs', '--json']).stdout).n, 2100)
  // One changed value in the file: refused, naming the line; the target log is as before.
  const lines = readFileSync(file, 'utf8').split('\n')
  const i = lines.findIndex((l) => l.includes('"seq":1000,'))
  lines[i] = lines[i]!.replace('"value":999', '"value":998')
  writeFileSync(file, lines.join('\n'))
  const bad = loom(['import', b, file, '--name', 'tampered'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, new RegExp(`main\\.jsonl:${i + 1}: event 1000 does not match its hash`))
  assert.deepEqual(JSON.parse(loom(['branches', b, '--json']).stdout).map((x: { name: string }) => x.name), ['main', 'theirs'])
  // Into a log that does not exist yet: it is made, and the imported branch is the live one, which a run continues.
  const whole = join(dir, 'main-again.jsonl')
  assert.equal(loom(['export', a, '--out', whole]).status, 0)
  const c = join(dir, 'new-from-import.loom.db')
  const made = loom(['import', c, whole, '--name', 'theirs'])
  assert.equal(made.status, 0, made.stderr)
  assert.match(made.stdout, /imported branch 'theirs' \(\d+ events, every hash checked\); it is the live branch/)
  const live = JSON.parse(loom(['branches', c, '--json']).stdout).find((x: { live: boolean }) => x.live)
  assert.equal(JSON.parse(loom(['state', c, '--branch', live.name, '--json']).stdout).n, 2100)
  assert.equal(JSON.parse(loom(['run', nb, '--db', c, '--steps', '1', '--json']).stdout).state.n, 2101)
})

/** Flips one byte (a digit) in the middle of one stored value, in place, as a disk or a hand might. */
function flip(db: string, table: string, column: string, where: string): void {
  const d = new Database(db)
  const value = d.prepare(`SELECT ${column} FROM ${table} WHERE ${where} LIMIT 1`).pluck().get() as string
  let at = Math.floor(value.length / 2)
  while (!/[0-9]/.test(value[at]!)) at++
  const changed = value.slice(0, at) + (value[at] === '1' ? '2' : '1') + value.slice(at + 1)
  d.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${where}`).run(changed)
  d.close()
}

test('one flipped byte in an event, a code blob or a snapshot fails --verify, naming the event', async () => {
  const { db: base } = await counterHistory(1500, 'base')
  assert.equal(loom(['replay', base, '--verify']).status, 0)
  const cases: [string, string, string, RegExp][] = [
    ['chunks', 'bodies', 'first = 1', /verify failed at event \d+ .*does not match its hash: the log was changed after it was written/],
    ['code', 'code', '1', /verify failed at event 1 \(code\).*the stored code was changed/],
    ['snapshots', 'data', '1', /verify failed at event 1000 \(snapshot\).*does not match its hash/],
  ]
  for (const [table, column, where, message] of cases) {
    const copy = fresh('flipped')
    copyFileSync(base, copy)
    flip(copy, table, column, where)
    const r = loom(['replay', copy, '--verify'])
    assert.equal(r.status, 1, `${column}: ${r.stderr}`)
    assert.match(r.stderr, message)
  }
})

test('a truncated file and a file that is not a Loom log are clear errors (exit 2), never a stack trace', async () => {
  const { db: base } = await counterHistory(3000, 'base')
  const bytes = readFileSync(base)
  const truncated = fresh('truncated')
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 3)))
  const notLog = join(dir, 'notes.loom.db')
  writeFileSync(notLog, 'these are my notes, not a database\n'.repeat(200))
  const otherDb = fresh('other')
  const o = new Database(otherDb)
  o.exec('CREATE TABLE t (x)')
  o.close()
  for (const [file, message] of [
    [truncated, /truncated.*(not a Loom log|damaged|malformed|missing)/],
    [notLog, /notes\.loom\.db is not a Loom log/],
    [otherDb, /is an SQLite database but not a Loom log/],
  ] as const) {
    for (const args of [['replay', file, '--verify'], ['log', file], ['state', file]]) {
      const r = loom(args)
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
  }
})

test('a log from a newer Loom is refused with what to do', () => {
  const db = fresh('newer')
  SqliteLog.open(db).close()
  const d = new Database(db)
  d.prepare("UPDATE meta SET value = '99' WHERE key = 'version'").run()
  d.close()
  assert.throws(() => SqliteLog.open(db), (err: Error) => err instanceof LogFormatError && /written by a newer Loom \(log format 99\); this Loom reads format 2 — upgrade Loom/.test(err.message))
})

test('attempts are kept in the log, bounded', async () => {
  const nb = nbFile({ s: "export function step() { sys.abort('no ' + sys.fork(30)) }" })
  const db = fresh()
  const log = SqliteLog.open(db, { maxAttempts: 10 })
  const e = await Engine.open(nb, { log })
  await e.run({ untilIdle: true })
  assert.equal(e.attempts().length, 10)
  log.close()
})

test('replay with new code re-runs the recorded inputs onto a new branch and says where outcomes first diverge', async () => {
  const nb = nbFile({ s: "const n = state.var('n', 0)\nexport function step() { const i = sys.fork(2); n.set(n.get() + 1 + i); sys.tty.write(`${n.get()}`) }" })
  const db = fresh()
  const s = await openSession(nb, { db })
  await s.engine.run({ steps: 20 })
  s.engine.edit([{ state: 'n', set: 100 }])
  await s.engine.run({ steps: 5 })
  s.log.close()
  // Same code: every outcome is the same, and the new branch verifies.
  const same = JSON.parse(loom(['replay', db, '--code', nb, '--onto', 'same', '--json']).stdout)
  assert.deepEqual([same.inputs, same.diverged, same.first], [26, 0, null])
  assert.equal(loom(['replay', db, '--branch', 'same', '--verify']).status, 0)
  // New code that counts differently from 10 on: the first divergence names the event and the writes.
  const changed = join(dir, 'changed.loom.md')
  writeFileSync(changed, notebook({ s: "const n = state.var('n', 0)\nexport function step() { const i = sys.fork(2); n.set(n.get() + 1 + i + (n.get() >= 10 ? 1 : 0)); sys.tty.write(`${n.get()}`) }" }))
  const r = loom(['replay', db, '--code', changed, '--onto', 'changed', '--json'])
  const out = JSON.parse(r.stdout)
  const log = SqliteLog.open(db)
  const recorded = log.eventsOf('main', 1, 100)
  const firstAtTen = recorded.find((e) => e.kind === 'step' && (e.reads[0]!.version > 0) && Number(e.outputs.tty) - (e.choices[0]!.value + 1) >= 10)!
  assert.equal(out.first.seq, firstAtTen.seq)
  assert.match(out.first.what, /^n: (\d+) → (\d+) recorded, \1 → (?!\2)\d+ now; printed "\d+" instead of "\2"$/)
  assert.equal(out.first.now, out.first.seq, 'on the new branch it is the same event')
  assert.equal(log.branchInfo('changed')!.head, 27, 'the new branch holds the new outcomes')
  log.close()
  // Without --onto it is a question: the answer, and no branch left behind.
  const asked = loom(['replay', db, '--code', changed])
  assert.equal(asked.status, 0, asked.stderr)
  assert.match(asked.stdout, /came out differently; the first is event \d+/)
  assert.match(asked.stdout, /not kept; --onto NAME keeps the re-run as a branch/)
  assert.deepEqual(JSON.parse(loom(['branches', db, '--json']).stdout).map((b: { name: string }) => b.name).sort(), ['changed', 'main', 'same'])
  // New code that does not compile: bad input (exit 2), named by file, cell and line, as when it ran in the CLI process.
  const broken = join(dir, 'broken.loom.md')
  writeFileSync(broken, notebook({ s: 'export function step() { this is not code }' }))
  const bad = loom(['replay', db, '--code', broken, '--onto', 'broken'])
  assert.equal(bad.status, 2, bad.stderr)
  assert.match(bad.stderr, /broken\.loom\.md:\d+ \(cell #s, line 1\): Expected ";"/)
  assert.deepEqual(JSON.parse(loom(['branches', db, '--json']).stdout).map((b: { name: string }) => b.name).sort(), ['changed', 'main', 'same'], 'a replay that fails leaves no branch')
})

test('a branch write that fails half-way leaves no branch and the live branch unchanged: an import refused after thousands of its events were written', async () => {
  const { db } = await counterHistory(2500, 'half')
  const all = join(dir, 'half.jsonl')
  assert.equal(loom(['export', db, '--out', all]).status, 0)
  const exported = readFileSync(all, 'utf8').trimEnd().split('\n')
  // Cut short: the header still says how many events there were, so the import fails at its end, after writing most.
  const cut = join(dir, 'cut.jsonl')
  writeFileSync(cut, exported.slice(0, -3).join('\n') + '\n')
  const before = JSON.parse(loom(['branches', db, '--json']).stdout)
  const r = loom(['import', db, cut, '--name', 'copy'])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /the export says 2501 events but holds 2498: it is truncated/)
  assert.deepEqual(JSON.parse(loom(['branches', db, '--json']).stdout), before, 'no branch left, and main as it was')
  assert.equal(loom(['replay', db, '--verify']).status, 0)
  // The same file whole imports, and verifies.
  const whole = join(dir, 'whole.jsonl')
  writeFileSync(whole, exported.join('\n') + '\n')
  assert.equal(loom(['import', db, whole, '--name', 'copy']).status, 0)
  assert.equal(loom(['replay', db, '--branch', 'copy', '--verify']).status, 0)
  const log = SqliteLog.open(db)
  assert.deepEqual([log.live, log.branchInfo('copy')!.head, log.snapshotAt('copy', 2500)?.seq], ['main', 2501, 2000])
  log.close()
})

test('at open, a damaged last group commit is reported, never cut: run refuses the branch and says how to continue', async () => {
  const { nb, db } = await counterHistory(1500, 'tail')
  const d = new Database(db)
  const last = d.prepare('SELECT first, last FROM chunks ORDER BY first DESC LIMIT 1').get() as { first: number; last: number }
  d.close()
  flip(db, 'chunks', 'bodies', `first = ${last.first}`)
  const r = loom(['run', nb, '--db', db, '--steps', '1', '--json'])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, /branch 'main' is damaged, so Loom will not add events to it: branch 'main': event \d+ does not match its hash/)
  assert.match(r.stderr, /loom fork .* --from main --at \d+ --name repaired, then run with --branch repaired/)
  assert.equal(loom(['replay', db, '--verify']).status, 1)
  const log = SqliteLog.open(db, { create: false })
  assert.equal(log.head, 1501, 'nothing was cut')
  log.close()
})

test('two runs writing one branch at once: the second writer is refused, and the log still verifies', async () => {
  const nb = nbFile(COUNTER)
  const db = fresh('two')
  const one = await openSession(nb, { db })
  const two = await openSession(nb, { db })
  await one.engine.run({ steps: 10 })
  await assert.rejects(two.engine.run({ steps: 10 }), /another process has written branch 'main' \(it is at event 11, this run expected 1\); run one loom per branch/)
  one.log.close()
  two.log.db.close()
  const log = SqliteLog.open(db)
  assert.equal((await verifyBranch(log, 'main')).ok, true)
  log.close()
})

test('the engine thread writes to the log (code, compiled cells) while its writer thread commits events: no write is refused', async () => {
  const nb = nbFile(COUNTER)
  const db = fresh('both')
  const s = await openSession(nb, { db })
  let kept = 0
  // Between the engine's batches, as a live edit does: its code and its compiled cells.
  const writes = setInterval(() => {
    for (let i = 0; i < 5; i++) s.log.putCode({ codeHash: `edit-${kept}`, path: nb, code: `// edit ${kept}`, sources: [] })
    s.log.keptCells.put(`cell-${kept++}`, { code: '', map: '{}' })
  }, 1)
  let steps = 0
  try {
    // However fast this machine runs the app, until the engine thread has written many times meanwhile.
    while (kept < 50) {
      await s.engine.run({ steps: 2_000 })
      steps += 2_000
    }
  } finally {
    clearInterval(writes)
  }
  assert.equal(s.log.head, steps + 1)
  s.log.close()
  const log = SqliteLog.open(db)
  assert.equal((await verifyBranch(log, 'main')).ok, true)
  log.close()
})

test('a replay with new code that fails half-way, after a thousand events were written, leaves no branch; the app\'s log stays on its branch and runs on', async () => {
  const nb = nbFile(COUNTER)
  const s = await openSession(nb, { db: fresh('rerun-half') })
  await s.engine.run({ steps: 1500 })
  const before = s.log.branches()
  const stop = new Error('stopped half-way')
  let written = 0
  const onProgress = (done: number) => {
    written = s.log.branchInfo('half')!.head
    if (done >= 1000) throw stop
  }
  await assert.rejects(replayWithCode(s.log, 'main', nb, 'half', { onProgress }), stop)
  assert.ok(written > 0, `the new branch had events written when it failed (${written})`)
  assert.deepEqual(s.log.branches(), before, 'no branch left, main as it was')
  assert.equal(s.log.branch, 'main')
  await s.engine.run({ steps: 2 })
  assert.equal(s.log.branchInfo('main')!.head, 1503)
  assert.equal((await verifyBranch(s.log, 'main', { execute: false })).ok, true)
  s.log.close()
})
