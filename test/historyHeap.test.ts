// The bench's "history's own heap" (npm run bench, durable section): what a long
// history holds on the engine's heap, told apart from the code V8 compiles as
// the engine runs, which was all that figure used to measure (bench/heapKinds.ts).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildHistoryBundled } from '../bench/bundledHistory.ts'
import { heapKinds } from '../bench/heapKinds.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-history-heap-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('a history of 10,000 steps holds nothing per event on the engine heap (a number kept per step would be 0.08 MB)', async () => {
  const built = await buildHistoryBundled(dir, 10_000)
  assert.equal(built.events, 10_001)
  const { running, early, late } = built.kinds
  const own = late.objectsMB - running.objectsMB
  assert.ok(own < 0.04, `the values on the heap grew by ${own.toFixed(3)} MB from ${built.heap.running.events} to ${built.heap.late.events} events (${(early.objectsMB - running.objectsMB).toFixed(3)} MB at ${built.heap.early.events})`)
  assert.ok(running.v8MB > 0.5 && running.objectsMB > 2, `the engine's code and objects are counted: ${JSON.stringify(running)}`)
})

test("what a program keeps counts as its values, however little code it runs; what V8 compiles counts as V8's", () => {
  const snap = (name: string) => JSON.stringify(join(dir, `${name}.heapsnapshot`))
  const program = `
    const { writeHeapSnapshot } = await import('node:v8')
    writeHeapSnapshot(${snap('before')})
    globalThis.kept = Array.from({ length: 20000 }, (_, i) => ({ i, name: 'item ' + i }))
    writeHeapSnapshot(${snap('kept')})
    globalThis.fns = Array.from({ length: 500 }, (_, i) => new Function('a', 'b', 'let s = ' + i + '; for (let k = 0; k < a; k++) s += (k * b) % 7 + ' + i + '; return s'))
    for (const f of globalThis.fns) for (let r = 0; r < 3; r++) f(10, r)
    writeHeapSnapshot(${snap('compiled')})`
  execFileSync(process.execPath, ['--input-type=module', '-e', program], { cwd: dir })
  const [before, kept, compiled] = ['before', 'kept', 'compiled'].map((name) => heapKinds(join(dir, `${name}.heapsnapshot`))) as [ReturnType<typeof heapKinds>, ReturnType<typeof heapKinds>, ReturnType<typeof heapKinds>]
  const grew = (a: typeof before, b: typeof before) => ({ objectsMB: b.objectsMB - a.objectsMB, v8MB: b.v8MB - a.v8MB })
  const keeping = grew(before, kept)
  assert.ok(keeping.objectsMB > 0.8 && Math.abs(keeping.v8MB) < 0.05, `20,000 kept objects: ${JSON.stringify(keeping)}`)
  const compiling = grew(kept, compiled)
  assert.ok(compiling.v8MB > 0.1, `500 functions compiled: ${JSON.stringify(compiling)}`)
})
