// A changed letter in a field's name leaves an event's stored encoding valid
// JSON but no event: every command that reads it says the log is damaged and
// names the event (exit 2; verify exits 1), none crashes with a stack trace,
// and `loom replay --code`, whose feed stops there, ends instead of waiting
// for ever on the sandbox it started.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { openSession } from '../../engine/replay/session.ts'
import { notebook } from '../helpers.ts'
import { eventHash, GENESIS_HASH } from '../../engine/runtime/log.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-malformed-'))
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })
const nb = join(dir, 'sum.loom.md')

let base: string | null = null
async function history(): Promise<string> {
  if (base) return base
  writeFileSync(nb, notebook({ c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1); sys.tty.write(`n=${n.get()}\\n`) }" }))
  const db = join(dir, 'base.loom.db')
  const s = await openSession(nb, { db })
  await s.engine.run({ steps: 20 })
  s.log.close()
  return (base = db)
}

let copies = 0
/** A copy of the log with `"field":` renamed in the stored encoding of event `seq`, as a flipped bit in a letter would. */
async function renamed(field: string, seq: number): Promise<string> {
  const original = await history()
  const db = join(dir, `copy-${++copies}.loom.db`)
  copyFileSync(original, db)
  copyFileSync(original + '.heads', db + '.heads')
  const d = new Database(db)
  const row = d.prepare('SELECT first, bodies FROM chunks WHERE first <= ? AND last >= ? LIMIT 1').get(seq, seq) as { first: number; bodies: string }
  const lines = row.bodies.split('\n')
  const body = lines[seq - row.first]!
  assert.ok(body.includes(`"${field}":`), `event ${seq} stores ${field} in its row`)
  lines[seq - row.first] = body.replace(`"${field}":`, `"${field.slice(0, -1)}${String.fromCharCode(field.charCodeAt(field.length - 1) ^ 1)}":`)
  d.prepare('UPDATE chunks SET bodies = ? WHERE first = ?').run(lines.join('\n'), row.first)
  d.close()
  return db
}

for (const field of ['kind', 'writes', 'outputs', 'choices']) {
  test(`'${field}' renamed in an event: log, state, diff and export say it is damaged there (exit 2), verify exits 1, nothing crashes`, async () => {
    const db = await renamed(field, 10)
    for (const args of [['log', db, '--from', '1'], ['state', db], ['diff', db, '1', '15'], ['export', db]]) {
      const r = loom(args)
      assert.equal(r.status, 2, `loom ${args[0]}: ${r.stderr}`)
      assert.match(r.stderr, /event 10 (cannot be read|does not match its hash)/, `loom ${args[0]} names the event`)
      assert.doesNotMatch(r.stderr, /TypeError|\n\s+at /, `loom ${args[0]}: no stack trace`)
    }
    const verify = loom(['replay', db, '--verify'])
    assert.equal(verify.status, 1, verify.stderr)
    assert.match(verify.stderr, /event 10 of branch 'main'/)
  })
}

test('replay --code over an event that is not one ends with exit 2, each time (it waited for ever on the sandbox it had killed)', async () => {
  const db = await renamed('writes', 3)
  // The hang was a race with the sandbox's start: a few runs give it its chances.
  for (let i = 0; i < 4; i++) {
    const r = loom(['replay', db, '--code', nb])
    assert.notEqual(r.signal, 'SIGTERM', `run ${i + 1} ended (not stopped by the test's bound): ${r.stderr}`)
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /event 3 cannot be read/)
  }
})

test('loom import of an export whose event line has a renamed field: exit 2 naming the line and event, no stack trace, no branch added', async () => {
  const db = await history()
  const copy = join(dir, `import-${++copies}.loom.db`)
  copyFileSync(db, copy)
  const file = join(dir, 'main.jsonl')
  assert.equal(loom(['export', db, '--out', file]).status, 0)
  const lines = readFileSync(file, 'utf8').split('\n')
  const at = lines.findIndex((l) => l.includes('"seq":4,'))
  assert.ok(at > 0, 'the export holds event 4')
  lines[at] = lines[at]!.replace('"writes":', '"writez":')
  writeFileSync(file, lines.join('\n'))
  const r = loom(['import', copy, file, '--name', 'theirs'])
  assert.equal(r.status, 2, r.stderr)
  assert.match(r.stderr, new RegExp(`main\\.jsonl:${at + 1}: event 4 is not an event`))
  assert.doesNotMatch(r.stderr, /TypeError|\n\s+at /)
  assert.doesNotMatch(loom(['branches', copy]).stdout, /theirs/)
})

test('loom import of a forged export, its hashes made again, with writes the log cannot hold (a string added to a counter, a negative take): refused naming the event, nothing added, the log still reads', async () => {
  const db = await history()
  const file = join(dir, 'forge-source.jsonl')
  assert.equal(loom(['export', db, '--out', file]).status, 0)
  for (const write of [{ state: 'n', op: 'add', value: '1,"x":2' }, { state: 'n', op: 'queue', take: -3, push: [] }, { state: 'n', op: 'explode' }]) {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    const header = JSON.parse(lines[0]!)
    let parent = GENESIS_HASH
    const items = lines.slice(1).map((l) => JSON.parse(l))
    for (const item of items) {
      if (!item.event) continue
      if (item.event.seq === 3) item.event.writes.push(write)
      item.hash = eventHash(item.event, parent)
      parent = item.hash
    }
    header.head = parent
    const forged = join(dir, `forged-${++copies}.jsonl`)
    writeFileSync(forged, [header, ...items].map((x) => JSON.stringify(x)).join('\n') + '\n')
    const copy = join(dir, `forged-${copies}.loom.db`)
    copyFileSync(db, copy)
    copyFileSync(db + '.heads', copy + '.heads')
    const r = loom(['import', copy, forged, '--name', 'forged'])
    assert.equal(r.status, 2, `${JSON.stringify(write)}: ${r.stderr}`)
    assert.match(r.stderr, /event 3 is not an event \(malformed writes\)/)
    assert.doesNotMatch(loom(['branches', copy]).stdout, /forged/)
    assert.equal(loom(['replay', copy, '--verify']).status, 0)
  }
})
