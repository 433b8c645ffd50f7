import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, notebook, value } from './helpers.ts'
import { setCellSource, parseNotebook, serializeNotebook } from '../engine/runtime/notebook.ts'

const get = (e: Awaited<ReturnType<typeof open>>, path = '/') => e.request({ method: 'GET', path, query: {}, headers: {}, body: '' }).then((r) => r.body)

const APP = {
  state: "const hits = state.counter('hits')",
  api: "export function http() { hits.add(1); return { body: 'v1:' + hits.get() } }",
}

/** The notebook text with one cell's source replaced, as an editor would save it. */
function edited(cell: string, source: string): string {
  return serializeNotebook(setCellSource(parseNotebook(notebook(APP)), cell, source))
}

test('editing a cell of a running app changes behaviour from the next transaction on', async () => {
  const e = await open(APP)
  assert.equal(await get(e), 'v1:1')
  const r = await e.replaceCode(edited('api', "export function http() { hits.add(10); return { body: 'v2:' + hits.get() } }"))
  assert.equal(r.ok, true)
  assert.equal(await get(e), 'v2:11', 'old state kept, new code running')
  const kinds = e.events().map((x) => [x.kind, x.codeHash.slice(0, 8)])
  assert.equal(kinds[1]![1], kinds[0]![1])
  assert.equal(kinds[2]![0], 'code')
  assert.notEqual(kinds[3]![1], kinds[0]![1], 'the request after the edit ran the new code')
})

test('a broken edit is refused with its compile error, and the old code keeps serving', async () => {
  const e = await open(APP)
  const r = await e.replaceCode(edited('api', "export function http() { return { body: 'v2' }"))
  assert.equal(r.ok, false)
  assert.match(!r.ok ? r.errors[0]!.message : '', /Unexpected end of file/)
  assert.deepEqual(!r.ok && [r.errors[0]!.code, r.errors[0]!.where?.cell, r.errors[0]!.where?.line], ['compile', 'api', 1])
  assert.equal(await get(e), 'v1:1')
  assert.equal(e.events().filter((x) => x.kind === 'code').length, 1)
})

test('a switch() that aborts delays the change until what it read allows it; the old code serves meanwhile', async () => {
  const e = await open({ ...APP, gate: "const ready = state.var('ready', false)" })
  const next = serializeNotebook(setCellSource(parseNotebook(notebook({ ...APP, gate: "const ready = state.var('ready', false)" })), 'api', `export function http() { return { body: 'v2' } }
function cutOver() { if (!ready.get()) sys.abort('not ready to switch') }
export { cutOver as switch }`))
  const r = await e.replaceCode(next)
  assert.equal(r.ok, false)
  assert.equal(!r.ok && r.waiting, true)
  assert.match(!r.ok ? r.errors[0]!.message : '', /switch\(\) did not commit \(not ready to switch\); the old code keeps running until it can/)
  assert.equal(!r.ok && r.errors[0]!.code, 'parked')
  assert.equal(await get(e), 'v1:1', 'old code still serving')
  e.edit([{ state: 'ready', set: true }])
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(await get(e), 'v2', 'the change took over once ready')
  const kinds = e.events().map((x) => x.kind)
  assert.deepEqual(kinds, ['code', 'http', 'edit', 'code', 'http'])
  assert.equal(e.events()[3]!.method, 'switch')
  assert.equal(value(e, 'ready'), true)
})

test('a request waiting under old code runs again with new code', async () => {
  const e = await open({ api: "export function http() { sys.abort('closed until the next release') }" })
  const waiting = e.request({ method: 'GET', path: '/', query: {}, headers: {}, body: '' })
  await new Promise((resolve) => setImmediate(resolve))
  const r = await e.replaceCode(notebook({ api: "export function http() { return { body: 'open now' } }" }))
  assert.equal(r.ok, true)
  assert.equal((await waiting).body, 'open now')
})

test('after the app halts, requests get 503', async () => {
  const e = await open({ api: "const n = state.var('n', 0)\nexport function http() { n.set(1); sys.halt(); return { body: 'bye' } }" })
  const call = () => e.request({ method: 'GET', path: '/', query: {}, headers: {}, body: '' })
  assert.equal((await call()).body, 'bye')
  const after = await call()
  assert.equal(after.status, 503)
  assert.match(after.body, /the app has halted/)
})
