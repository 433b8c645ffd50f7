// Snapshots are taken every K events whatever kind the events are: an app that
// only serves HTTP gets them too, so seeking into its history stays one
// snapshot load plus at most K write sets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { seek } from '../engine/replay/seek.ts'
import { Engine } from '../engine/runtime/engine.ts'
import { notebook } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-snapshots-'))

test('an HTTP-only app gets a snapshot every K events, and a seek reads at most K write sets', async () => {
  const nb = join(dir, 'hits.loom.md')
  writeFileSync(nb, notebook({ api: "const hits = state.var('hits', 0)\nexport function http(req: { path: string }) { hits.set(hits.get() + 1); return { status: 200, body: String(hits.get()) } }" }))
  const db = join(dir, 'hits.loom.db')
  const K = 50
  const log = SqliteLog.open(db, { snapshotEvery: K, writerThread: true })
  const engine = await Engine.open(nb, { log })
  const request = { method: 'POST', path: '/', query: {}, headers: {}, body: '' }
  // Some one at a time (one group commit each), some together (batched into one).
  for (let i = 0; i < 120; i++) assert.equal((await engine.request(request)).status, 200)
  const together = await Promise.all(Array.from({ length: 150 }, () => engine.request(request)))
  assert.ok(together.every((r) => r.status === 200))
  const head = log.head
  log.close()
  assert.equal(head, 271, 'the code event and 270 requests')
  const d = new Database(db, { readonly: true })
  const seqs = d.prepare('SELECT seq FROM snapshots ORDER BY seq').pluck().all() as number[]
  d.close()
  // Every K events, also in the middle of a batch of requests that share one group commit.
  assert.deepEqual(seqs, [50, 100, 150, 200, 250])
  // A seek near the head loads the newest snapshot and applies the few events after it.
  const reader = SqliteLog.open(db, { create: false })
  let applied = 0
  const original = reader.eventsOf.bind(reader)
  reader.eventsOf = (b, from, limit) => {
    const events = original(b, from, limit)
    applied += events.length
    return events
  }
  assert.equal(seek(reader, { branch: 'main', seq: head }).hits!.value, 270)
  assert.ok(applied <= K, `applied ${applied} write sets`)
  reader.db.close()
})
