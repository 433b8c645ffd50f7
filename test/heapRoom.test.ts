// An exploration stops near its heap limit with the report of what it found
// (heapRoom.ts): garbage does not count, what is kept does, and the look
// comes before V8 ends the process. Run in a child with a small heap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const HEAP_ROOM = fileURLToPath(new URL('../engine/replay/heapRoom.ts', import.meta.url))
const LIMIT_MB = 64

// `chunk` makes a thousand small objects (about 80 KB with their array).
const CHILD = `
import { heapRoom } from ${JSON.stringify(HEAP_ROOM)}
import { runInNewContext } from 'node:vm'
const chunk = (tag) => { const out = []; for (let j = 0; j < 1000; j++) out.push({ j, s: tag + j }); return out }
const room = heapRoom()
// Garbage that lives long enough to reach the old generation: a ring of the last 400 chunks (~30 MB live, half the limit),
// 3000 chunks (about 240 MB) through a heap of ${LIMIT_MB} MB.
const ring = []
let fullOnGarbage = 0
for (let i = 0; i < 3000; i++) {
  ring[i % 400] = chunk('g')
  if (room.full()) fullOnGarbage++
}
ring.length = 0
const kept = []
while (!room.full()) kept.push(chunk('k'))
const usedMb = process.memoryUsage().heapUsed / 2 ** 20
console.log(JSON.stringify({ fullOnGarbage, usedMb, keptChunks: kept.length, gcInANewContext: runInNewContext('typeof gc') }))
`

test('the heap counts as full only for what a search keeps: garbage through it does not stop it, and kept values stop it before V8 ends the process', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `--max-old-space-size=${LIMIT_MB}`, '--input-type=module', '-e', CHILD], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr.slice(0, 2000))
  const got = JSON.parse(r.stdout) as { fullOnGarbage: number; usedMb: number; keptChunks: number; gcInANewContext: string }
  assert.equal(got.fullOnGarbage, 0, '240 MB of garbage through the heap is not a full heap')
  assert.ok(got.usedMb > 0.6 * LIMIT_MB, `full at ${got.usedMb.toFixed(1)} MB of ${LIMIT_MB}: not stopped long before the limit`)
  assert.equal(got.gcInANewContext, 'undefined', 'taking the collector leaves V8 as it was: contexts made after have no gc()')
})
