// A changed byte anywhere in a log — each column of the newest group commit,
// an older one, a snapshot, a code blob — is reported and never "repaired" by
// deleting: opening the log with `loom log` keeps every row, and
// `loom replay --verify` exits 1 naming the branch, the event and what is wrong.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, copyFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { openSession } from '../../engine/replay/session.ts'
import { notebook } from '../helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-corruption-'))
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8' })

// The last steps write a value large enough to be stored once, by hash: the newest chunk has refs.
const CELLS = { c: "const n = state.var('n', 0)\nconst big = state.var('big', '')\nexport function step() { const v = n.get() + 1; n.set(v); if (v > 1480) big.set('x'.repeat(1100) + v) }" }

let base: { nb: string; db: string } | null = null
async function history(): Promise<{ nb: string; db: string }> {
  if (base) return base
  const nb = join(dir, 'sum.loom.md')
  writeFileSync(nb, notebook(CELLS))
  const db = join(dir, 'base.loom.db')
  const s = await openSession(nb, { db })
  // In two runs, each durable when it returns: the group commits (which follow timing) holding events up to 901
  // end there, before the snapshot at 1000 that reads of the newest events start from. In one run, event 700
  // could share a row with events past 1000 (e.g. 391–1390), and reading those would check it too.
  await s.engine.run({ steps: 900 })
  await s.engine.run({ steps: 600 })
  s.log.close() // checkpointed: the whole log is in the one file
  return (base = { nb, db })
}

let copies = 0
function copy(db: string): string {
  const to = join(dir, `copy-${++copies}.loom.db`)
  copyFileSync(db, to)
  if (existsSync(db + '.heads')) copyFileSync(db + '.heads', to + '.heads')
  return to
}

/** Every row of every table, and the events the chunks hold: what "nothing was deleted" counts. */
function census(db: string): Record<string, number> {
  const d = new Database(db, { readonly: true })
  try {
    const out: Record<string, number> = {}
    for (const t of ['chunks', 'marks', 'snapshots', 'code', 'blobs', 'branches']) out[t] = d.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number
    out.events = d.prepare('SELECT coalesce(sum(last - first + 1), 0) FROM chunks').pluck().get() as number
    return out
  } finally {
    d.close()
  }
}

/** Changes one character (a digit, or a hex digit) or one byte of a stored value in place, as a disk or a hand might. */
function flip(db: string, table: string, column: string, where: string): void {
  const d = new Database(db)
  const value = d.prepare(`SELECT ${column} FROM ${table} WHERE ${where} LIMIT 1`).pluck().get() as string | Buffer | null
  assert.ok(value !== null && value !== undefined, `${table}.${column} where ${where} has a value to flip`)
  let changed: string | Buffer
  if (Buffer.isBuffer(value)) {
    changed = Buffer.from(value)
    changed[Math.floor(changed.length / 2)]! ^= 0x01
  } else {
    let at = Math.floor(value.length / 2)
    while (!/[0-9]/.test(value[at]!)) at = (at + 1) % value.length
    changed = value.slice(0, at) + (value[at] === '1' ? '2' : '1') + value.slice(at + 1)
  }
  d.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${where}`).run(changed)
  d.close()
}

/** Changes one digit in the stored body of event `seq` of the first branch (whatever row holds it: rows follow group commits, which follow timing). */
function flipEvent(db: string, seq: number): void {
  const d = new Database(db)
  const row = d.prepare('SELECT first, bodies FROM chunks WHERE first <= ? AND last >= ? ORDER BY branch LIMIT 1').get(seq, seq) as { first: number; bodies: string }
  const lines = row.bodies.split('\n')
  const body = lines[seq - row.first]!
  let at = Math.floor(body.length / 2)
  while (!/[0-9]/.test(body[at]!)) at = (at + 1) % body.length
  lines[seq - row.first] = body.slice(0, at) + (body[at] === '1' ? '2' : '1') + body.slice(at + 1)
  d.prepare('UPDATE chunks SET bodies = ? WHERE first = ?').run(lines.join('\n'), row.first)
  d.close()
}

function newestChunk(db: string): { first: number; last: number } {
  const d = new Database(db, { readonly: true })
  const row = d.prepare('SELECT first, last FROM chunks ORDER BY first DESC LIMIT 1').get() as { first: number; last: number }
  d.close()
  return row
}

test('the history these attacks start from verifies, and its newest group commit holds several events and large values', async () => {
  const { db } = await history()
  const r = loom(['replay', db, '--verify'])
  assert.equal(r.status, 0, r.stderr)
  const d = new Database(db, { readonly: true })
  const last = d.prepare('SELECT first, last, refs FROM chunks ORDER BY first DESC LIMIT 1').get() as { first: number; last: number; refs: string | null }
  d.close()
  assert.ok(last.refs, 'the newest chunk stores large values by hash')
})

const cases: { name: string; table: string; column: string; where: (db: string) => string; message: RegExp; seq?: (db: string) => [number, number] }[] = [
  { name: 'the code hash of the newest group commit', table: 'chunks', column: 'code', where: (db) => `first = ${newestChunk(db).first}`, message: /branch 'main'.*(does not match its hash|cannot be read)/, seq: (db) => [newestChunk(db).first, newestChunk(db).last] },
  { name: 'the hashes of the newest group commit', table: 'chunks', column: 'hashes', where: (db) => `first = ${newestChunk(db).first}`, message: /branch 'main'.*does not match its hash/, seq: (db) => [newestChunk(db).first, newestChunk(db).last] },
  { name: 'the large-value references of the newest group commit', table: 'chunks', column: 'refs', where: (db) => `first = ${newestChunk(db).first}`, message: /branch 'main'.*(does not match its hash|cannot be read)/, seq: (db) => [newestChunk(db).first, newestChunk(db).last] },
  { name: 'the event bodies of the newest group commit', table: 'chunks', column: 'bodies', where: (db) => `first = ${newestChunk(db).first}`, message: /branch 'main'.*(does not match its hash|cannot be read)/, seq: (db) => [newestChunk(db).first, newestChunk(db).last] },
  { name: 'the event bodies of an older group commit', table: 'chunks', column: 'bodies', where: () => 'first <= 700 AND last >= 700', message: /branch 'main'.*(does not match its hash|cannot be read)/ },
  { name: 'a snapshot', table: 'snapshots', column: 'data', where: () => 'seq = 1000', message: /at event 1000 \(snapshot\): the snapshot of branch 'main' after event 1000 does not match its hash/ },
  { name: 'a code blob', table: 'code', column: 'code', where: () => '1', message: /at event 1 \(code\): event 1 of branch 'main' ran code .* that does not match its hash/ },
]

for (const c of cases) {
  test(`a byte changed in ${c.name}: opening deletes nothing, verify exits 1 naming branch, event and what is wrong`, async () => {
    const { db: original } = await history()
    const db = copy(original)
    const range = c.seq?.(db)
    flip(db, c.table, c.column, c.where(db))
    const before = census(db)
    const log = loom(['log', db, '--limit', '5'])
    assert.ok(log.status === 0 || log.status === 2, log.stderr)
    if (range) assert.match(log.stderr, /is damaged: .*; run loom replay .* --verify/, 'loom log says the log is damaged')
    assert.deepEqual(census(db), before, 'loom log deleted nothing')
    const state = loom(['state', db])
    assert.deepEqual(census(db), before, `loom state deleted nothing: ${state.stderr}`)
    const r = loom(['replay', db, '--verify'])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, c.message)
    const seq = Number(/at event (\d+)/.exec(r.stderr)?.[1] ?? /events? (\d+)/.exec(r.stderr)?.[1])
    assert.ok(Number.isSafeInteger(seq), `verify names the event: ${r.stderr}`)
    if (range) assert.ok(seq >= range[0] && seq <= range[1], `event ${seq} is in the damaged chunk ${range}: ${r.stderr}`)
    assert.doesNotMatch(r.stdout + r.stderr, /hash chain intact/)
    assert.deepEqual(census(db), before, 'verify deleted nothing')
    // --json says the same, as data.
    const json = JSON.parse(loom(['replay', db, '--verify', '--json']).stdout)
    assert.equal(json.ok, false)
  })
}

test('a byte flipped in the file itself (log closed and checkpointed) is found by verify, naming the event', async () => {
  const { db: original } = await history()
  const { readFileSync, writeFileSync: write } = await import('node:fs')
  const db = copy(original)
  const bytes = readFileSync(db)
  // A byte of the stored encoding of event 1400, found in the file: a digit of its seq.
  const at = bytes.lastIndexOf('"seq":1400,') + '"seq":14'.length
  assert.ok(at > 10, 'the event is stored in the file')
  bytes[at] = '7'.charCodeAt(0)
  write(db, bytes)
  const r = loom(['replay', db, '--verify'])
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`)
  assert.match(r.stderr, /event 1400 of branch 'main' does not match its hash/)
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
})

test('a damaged snapshot is passed over when reading: state and fork at a later event still give the right state', async () => {
  const { db: original } = await history()
  const db = copy(original)
  flip(db, 'snapshots', 'data', 'seq = 1000')
  const state = loom(['state', db, '--at', '1200', '--json'])
  assert.equal(state.status, 0, state.stderr)
  assert.equal(JSON.parse(state.stdout).n, 1199)
  const fork = loom(['fork', db, '--at', '1200', '--name', 'later'])
  assert.equal(fork.status, 0, fork.stderr)
  assert.equal(JSON.parse(loom(['state', db, '--branch', 'later', '--json']).stdout).n, 1199)
  assert.equal(loom(['replay', db, '--verify', '--branch', 'later']).status, 1, 'the fork shares the damaged snapshot’s branch history: verify still reports it')
})

test('a byte changed in the newest event: loom log shows the events and says the log is damaged there once', async () => {
  const { db: original } = await history()
  const db = copy(original)
  flipEvent(db, newestChunk(db).last)
  const log = loom(['log', db, '--limit', '5'])
  assert.equal(log.status, 2, log.stderr)
  assert.equal(log.stderr.match(/ is damaged: branch 'main': event \d+ does not match its hash/g)?.length, 1, log.stderr)
})

test('a byte changed in an older group commit: loom log over it and loom state rebuilt through it say so (exit 2), naming the event; elsewhere they read as before', async () => {
  const { db: original } = await history()
  const db = copy(original)
  flipEvent(db, 700)
  const over = loom(['log', db, '--from', '1', '--limit', '1500'])
  assert.equal(over.status, 2, over.stderr)
  assert.match(over.stderr, /is damaged: branch 'main': event 700 does not match its hash/)
  const state = loom(['state', db, '--at', '750'])
  assert.equal(state.status, 2, state.stderr)
  assert.match(state.stderr, /event 700 does not match its hash.*: the state after event 750 of branch 'main' cannot be trusted/)
  // The newest events, rebuilt from a later snapshot, do not pass through the damage: read as before.
  const newest = loom(['log', db, '--limit', '5'])
  assert.equal(newest.status, 0, newest.stderr)
  assert.doesNotMatch(newest.stderr, /damaged/)
})
