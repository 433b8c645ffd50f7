// Attacks on `loom explore NB --from DB`: a log from someone else whose
// recorded inputs (made by the real writer, so the hash chain holds) are
// garbage, huge, deeply nested or thousands in number, and a notebook whose
// clients() is hostile. Exploration ends with a report and an exit code
// (0, 1, 2 or 3), never a crash or a hang, and writes nothing to the log.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { notebook } from '../helpers.ts'
import { Engine } from '../../engine/runtime/engine.ts'
import { SqliteLog } from '../../engine/replay/sqliteLog.ts'
import type { EventRecord } from '../../engine/runtime/event.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-explore-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const loom = (args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024 })
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')
const APP = {
  s: `const hits = state.counter('hits')
export function http(req: any) { hits.add(1); return { status: 200, body: String(req && req.path).slice(0, 20) } }
export function gui(agent: any) { hits.add(agent.ask('n', 1)) }
test('few hits', () => hits.get() < 3)`,
}

function deep(n: number): unknown {
  let v: unknown = 0
  for (let i = 0; i < n; i++) v = { v }
  return v
}

/** A log of APP with one real request, then `inputs` appended as recorded events by the real writer. */
async function craftedLog(name: string, inputs: [EventRecord['kind'], unknown][]): Promise<string> {
  const db = join(dir, `${name}.loom.db`)
  const log = SqliteLog.open(db)
  const engine = await Engine.fromSource(notebook(APP), { path: 'app.loom.md', log, clock: 'virtual', startTime: 1_000_000 })
  assert.ok('event' in engine.commitPreview(engine.preview({ method: 'http', request: { method: 'GET', path: '/real' } }).id))
  const last = log.event(log.branch, log.head)!
  let seq = log.head
  for (const [kind, input] of inputs) {
    seq++
    log.append({ ...last, seq, kind, method: kind, input: input as EventRecord['input'], reads: [], writes: [], outputs: {}, time: last.time + seq, hash: '', parentHash: '' })
  }
  log.flush()
  log.close()
  return db
}

test('recorded inputs that are garbage, huge, deeply nested or thousands: exploration answers with a report and writes nothing', async () => {
  const nb = join(dir, 'app.loom.md')
  writeFileSync(nb, notebook(APP))
  const logs: [string, [EventRecord['kind'], unknown][]][] = [
    ['garbage', [['http', null], ['http', 5], ['http', 'GET /'], ['http', { method: 5, path: {}, query: [1, 2], body: { x: 1 } }], ['gui', null], ['gui', { answers: 'x' }], ['gui', { answers: { n: { toString: 1 } } }], ['step', { tty: 7 }]]],
    ['huge', [['http', { method: 'POST', path: '/x', body: 'x'.repeat(4 << 20) }], ['http', { method: 'GET', path: '/q', query: Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 'v'])) }]]],
    ['deep', [['http', { method: 'POST', path: '/deep', body: deep(2000) }], ['gui', { answers: deep(2000) }]]],
    ['thousands', Array.from({ length: 3000 }, (_, i): [EventRecord['kind'], unknown] => ['http', { method: 'GET', path: `/${i}` }])],
  ]
  for (const [name, inputs] of logs) {
    const db = await craftedLog(name, inputs)
    const was = sha(db)
    const r = loom(['explore', nb, '--from', db, '--at', '1', '--max-states', '300', '--json'])
    assert.ok([0, 1, 2, 3].includes(r.status ?? -1), `${name}: exited ${r.status} ${r.signal}\n${r.stderr.slice(0, 3000)}`)
    assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+\)?$/m, `${name}: a stack trace, not a sentence`)
    if (r.status !== 2) JSON.parse(r.stdout)
    assert.equal(sha(db), was, `${name}: the log was written`)
  }
})

test('a hostile clients(): throws, gives garbage, loops, forks without end — a report and an exit code, never a crash', () => {
  const bodies = [
    "throw new Error('no')",
    'return null',
    'return 5',
    "const o: any = { method: 'GET', path: '/' }; o.self = o; return o",
    "return { method: 'GET', path: '/' + 'x'.repeat(5_000_000) }",
    "let o: any = {}; for (let i = 0; i < 100000; i++) o = { o }; return { method: 'POST', path: '/', body: o }",
    'for (;;) {}',
    "return { method: 'GET', path: '/' + sys.fork(1_000_000) }",
    "return { method: 'GET', get path() { throw new Error('getter') } }",
  ]
  for (const body of bodies) {
    const nb = join(dir, 'clients.loom.md')
    writeFileSync(nb, notebook({ ...APP, c: `export function clients() {\n  ${body}\n}` }))
    const r = loom(['explore', nb, '--max-states', '200', '--time-limit', '500', '--json'])
    assert.ok([0, 1, 2, 3].includes(r.status ?? -1), `${body}: exited ${r.status} ${r.signal}\n${r.stderr.slice(0, 3000)}`)
    assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+\)?$/m, `${body}: a stack trace, not a sentence`)
  }
})
