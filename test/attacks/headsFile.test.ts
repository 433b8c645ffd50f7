// The heads record survives what a crash can do to it: a write torn half-way
// leaves the previous acknowledgment readable; damage beyond that is reported.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HeadsWriter, readHeads } from '../../engine/replay/headsFile.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-heads-'))
const hash = (c: string) => c.repeat(64)

test('each write goes to the older copy: a torn newest write leaves the one before it, reported as no damage', () => {
  const path = join(dir, 'torn.heads')
  const w = new HeadsWriter(path, true)
  w.write({ id: 1, name: 'main', created: 7, seq: 5, hash: hash('a') })
  w.write({ id: 1, name: 'main', created: 7, seq: 9, hash: hash('b') })
  w.write({ id: 2, name: 'try', created: 8, seq: 3, hash: hash('c') })
  w.close()
  const read = readHeads(path)
  assert.equal(read.state, 'ok')
  if (read.state !== 'ok') return
  assert.deepEqual(read.heads.map((h) => [h.id, h.name, h.seq, h.hash[0]]), [[1, 'main', 9, 'b'], [2, 'try', 3, 'c']])
  // Tear the newest copy of main (the second line of its slot) in the middle.
  const bytes = readFileSync(path)
  bytes.write('\0\0\0\0\0\0\0\0', 2 * 256 + 40, 'latin1')
  writeFileSync(path, bytes)
  const torn = readHeads(path)
  assert.ok(torn.state === 'ok')
  if (torn.state !== 'ok') return
  assert.deepEqual(torn.heads.map((h) => [h.name, h.seq]), [['main', 5], ['try', 3]], 'the previous acknowledgment')
  assert.deepEqual(torn.damaged, [])
})

test('a cleared slot (a deleted branch) is empty; long branch names fit; a missing record reads as missing', () => {
  const path = join(dir, 'clear.heads')
  const w = new HeadsWriter(path, false)
  const long = 'x'.repeat(400)
  w.write({ id: 3, name: long, created: 1, seq: 2, hash: hash('d') })
  w.write({ id: 1, name: 'main', created: 1, seq: 2, hash: hash('e') })
  w.clear(1)
  w.close()
  const read = readHeads(path)
  assert.ok(read.state === 'ok')
  if (read.state !== 'ok') return
  assert.deepEqual(read.heads.map((h) => h.id), [3])
  assert.ok(read.heads[0]!.name.startsWith('x'.repeat(100)) && read.heads[0]!.name.length <= 150)
  assert.ok(readFileSync(path).length % 256 === 0, 'whole 256-byte lines')
  assert.deepEqual(readHeads(join(dir, 'none.heads')), { state: 'missing' })
})
