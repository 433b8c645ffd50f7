// The log's format version: a log written by an older Loom is read as it was
// meant, or refused with why — never read differently from how it was written.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'

const dir = mkdtempSync(join(tmpdir(), 'loom-format-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000 })

function history(name: string, step: string): string {
  const nb = join(dir, `${name}.loom.md`)
  writeFileSync(nb, ['# Format', '', '```ts #state', "const jobs = state.bag<string>('jobs')", "const done = state.var('done', 0)", '```', '',
    '```ts #step', 'export function step() {', step, '}', '```', ''].join('\n'))
  const db = join(dir, `${name}.loom.db`)
  const r = loom('run', nb, '--db', db, '--steps', '4', '--json')
  assert.equal(r.status, 0, r.stderr)
  return db
}

/** The log as an older Loom would have left it: its meta says format 1. */
function markFormat1(db: string): void {
  const d = new Database(db)
  d.prepare(`UPDATE meta SET value = '1' WHERE key = 'version'`).run()
  d.close()
}
const formatOf = (db: string) => {
  const d = new Database(db, { readonly: true })
  try {
    return d.prepare(`SELECT value FROM meta WHERE key = 'version'`).pluck().get()
  } finally {
    d.close()
  }
}

test('a format-1 log that takes from a bag is refused (exit 2), naming the event and why, by every reading command', () => {
  const db = history('takes', "  if (done.get() % 2 === 0) jobs.put('a'); else jobs.take()\n  done.set(done.get() + 1)")
  markFormat1(db)
  for (const args of [['log', db], ['state', db], ['replay', db, '--verify']]) {
    const r = loom(...args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
    assert.match(r.stderr, /older Loom \(log format 1\) and takes items from a bag \(from event \d+ on\)/)
  }
  assert.equal(formatOf(db), '1', 'a refused log is left as it was')
})

test('a format-1 log without a bag take reads as before, untouched; the next run marks it format 2', () => {
  const db = history('puts', "  jobs.put('a')\n  done.set(done.get() + 1)")
  markFormat1(db)
  const r = loom('state', db, '--json')
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), { jobs: ['a', 'a', 'a', 'a'], done: 4 })
  assert.equal(loom('replay', db, '--verify').status, 0)
  assert.equal(formatOf(db), '1', 'reading never writes')
  const nb = db.replace(/\.loom\.db$/, '.loom.md')
  assert.equal(loom('run', nb, '--db', db, '--steps', '1').status, 0)
  assert.equal(formatOf(db), '2')
})
