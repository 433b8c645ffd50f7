// Every trigger runs its transaction through one door: the same method by
// its kind, the same tty input rules, the same commit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, plain, value } from './helpers.ts'

/** A step that reads two characters of tty input each time. */
const READER = { s: `const got = state.var<string[]>('got', [])\nexport function step() { got.set([...got.get(), sys.tty.read(2)]) }` }

test('a preview neither reads nor throws away the input typed for the running app', async () => {
  const e = await open(READER)
  e.input('ab')
  const p = e.preview({ method: 'step' })
  assert.equal(p.committed, false, 'the agent panel types no input: the previewed step waits for it')
  assert.match(p.failure?.message ?? '', /waiting for 2 characters of input/)
  e.discardPreview(p.id)
  assert.ok(e.step(), 'the app still has the input typed before the preview')
  assert.deepEqual(value(e, 'got'), ['ab'])
})

test('re-enacting an event reads the input it recorded, and leaves the input typed for the running app unread', async () => {
  const e = await open(READER)
  e.input('ab')
  const first = e.step()!
  assert.deepEqual(plain(first.input), { tty: 'ab' })
  e.input('cd')
  const again = e.reenact(first)
  assert.equal(again.failure, null)
  assert.deepEqual(plain(again.event!.input), { tty: 'ab' }, 'the re-enactment read what the event recorded')
  assert.ok(e.step())
  assert.deepEqual(value(e, 'got'), ['ab', 'ab', 'cd'], 'the input typed meanwhile is still there for the next step')
})

test('loading code, a request, a committed gui(agent) preview, an edit and a step each become one event with its kind, method and input', async () => {
  const cells = {
    s: `const n = state.counter('n')
export function step() { n.add(1); sys.halt() }
export function http(req: { path: string }) { n.add(10); return { status: 200, body: req.path } }
export function gui(agent: { ask(key: string, d: unknown): unknown }) { n.add(Number(agent.ask('by', 100))) }`,
  }
  const e = await open(cells)
  assert.equal((await e.request({ method: 'GET', path: '/x', query: {}, headers: {}, body: '' })).status, 200)
  const p = e.preview({ method: 'gui', answers: { by: 1000 } })
  const committed = e.commitPreview(p.id)
  assert.ok('event' in committed)
  e.edit([{ state: 'n', add: 5 }])
  assert.ok(e.step())
  const kinds = e.events().map((x) => [x.kind, x.method])
  assert.deepEqual(kinds, [['code', null], ['http', 'http'], ['gui', 'gui'], ['edit', 'edit'], ['step', 'step'], ['halt', null]])
  assert.deepEqual(plain(e.events()[2]!.input), { answers: { by: 1000 } })
  assert.equal(value(e, 'n'), 1016)
})
