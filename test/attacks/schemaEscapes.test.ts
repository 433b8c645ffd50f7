// A log whose SQLite schema was damaged or crafted: SQLite's refusal quotes
// the schema's text, which may hold terminal escapes (set the window's title,
// clear the screen). `loom log`, `loom replay --verify`, `loom run` and
// `loom serve` say the log is unreadable with every control character
// escaped; and where the heads record says events were acknowledged, verify
// names both possible causes — a lost WAL, or a damaged file — with SQLite's
// own words, not the WAL alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { notebook } from '../helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

test('a crafted schema with terminal escapes: every command says the log is unreadable, its escapes shown as text; verify names the acknowledged events and both causes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-schema-escapes-'))
  const nb = join(dir, 'evil.loom.md')
  writeFileSync(nb, notebook({ c: "const n = state.var('n', 0)\nexport function step() { n.set(n.get() + 1) }" }))
  assert.equal(loom(['run', nb, '--steps', '3']).status, 0)
  const db = join(dir, 'evil.loom.db')
  // An unterminated string in a table's SQL: SQLite quotes all of it back as an unrecognized token.
  const d = new Database(db)
  d.unsafeMode(true)
  d.pragma('writable_schema = ON')
  d.prepare("UPDATE sqlite_master SET sql = ? WHERE name = 'failures'").run("CREATE TABLE failures (x '\u001b]0;PWNED\u0007\u001b[2J")
  d.close()
  const said = (args: string[]) => {
    const r = loom(args)
    assert.ok(r.status === 1 || r.status === 2, `${args[0]}: exit ${r.status}: ${r.stderr}`)
    assert.doesNotMatch(r.stderr, CONTROL, `${args[0]} sends no control character to the terminal: ${JSON.stringify(r.stderr)}`)
    assert.match(r.stderr, /malformed database schema \(failures\) - unrecognized token: "'\\u001b\]0;PWNED\\u0007\\u001b\[2J"/, `${args[0]}: ${r.stderr}`)
    return r
  }
  for (const args of [['log', db], ['state', db], ['run', nb]]) said(args)
  const verify = said(['replay', db, '--verify'])
  assert.match(verify.stderr, /^loom: verify failed: branch 'main': events 1\.\.4 were acknowledged \(record in .*\.heads\) but cannot be read from the log — the WAL file was lost or truncated, or the file is damaged \(.*evil\.loom\.db is not a Loom log: malformed database schema/m)
  // Without the record (nothing acknowledged to keep readable), loom serve refuses the file, exit 2, saying it as text.
  rmSync(`${db}.heads`)
  said(['serve', nb, '--port', '0'])
})
