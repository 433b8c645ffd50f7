// The compiled cells a log keeps beside its history (kept_cells) are a cache:
// a byte changed there on disk must never run in place of what the notebook
// says. `loom run` compiles such a cell again from the notebook's text and
// the app does what its code says; a table from before the rows were hashed
// is compiled again once, then kept with its hash.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import Database from 'better-sqlite3'
import { notebook } from '../helpers.ts'

const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 60_000 })

// Prints a word each step until it halts: what it printed shows which code ran.
const CELLS = { s: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() >= 3) sys.halt()\n  n.set(n.get() + 1)\n  sys.tty.write('tick ' + n.get() + '\\n')\n}" }

/** A notebook run once, so its log keeps its compiled cell; then a fresh run of the same notebook reads it back. */
function ranOnce(): { nb: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loom-kept-attack-'))
  const nb = join(dir, 'ticks.loom.md')
  writeFileSync(nb, notebook(CELLS))
  const first = loom(['run', nb, '--steps', '1'])
  assert.equal(first.status, 0, first.stderr)
  return { nb, db: join(dir, 'ticks.loom.db') }
}

function keptCode(db: string): string[] {
  const d = new Database(db, { readonly: true })
  try {
    return (d.prepare('SELECT code FROM kept_cells').pluck().all() as string[])
  } finally {
    d.close()
  }
}

test('a byte changed in a kept compiled cell is not run: the cell compiles again from the notebook and the app does what it says', () => {
  const { nb, db } = ranOnce()
  assert.equal(keptCode(db).length, 1, 'the run kept its compiled cell')
  // One letter of the compiled step changed, as a disk might: 'tick' → 'tack'.
  const d = new Database(db)
  const changed = d.prepare("UPDATE kept_cells SET code = replace(code, 'tick ', 'tack ')").run()
  d.close()
  assert.equal(changed.changes, 1)
  const r = loom(['run', nb])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'tick 2\ntick 3\ntick 4\n', 'the notebook\'s code ran, not the changed compile')
  assert.equal(loom(['replay', db, '--verify']).status, 0)
})

test('a kept_cells table from before rows were hashed: its cells compile again and are kept with their hash', () => {
  const { nb, db } = ranOnce()
  // The table as an older Loom made it: no hash column, and a row that says something else.
  const d = new Database(db)
  d.exec("DROP TABLE kept_cells; CREATE TABLE kept_cells (key TEXT NOT NULL UNIQUE, code TEXT NOT NULL, map TEXT NOT NULL)")
  d.close()
  const r = loom(['run', nb])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, 'tick 2\ntick 3\ntick 4\n')
  const after = new Database(db, { readonly: true })
  const rows = after.prepare('SELECT hash FROM kept_cells').pluck().all() as string[]
  after.close()
  assert.equal(rows.length, 1)
  assert.match(rows[0]!, /^[0-9a-f]{64}$/, 'kept again, with its hash')
})
