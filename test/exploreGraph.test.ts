// The state graph of a small exploration, as the window and `loom explore
// --graph` draw it: the states and moves known by hand, each state's values,
// the violating state at the end of its trace's path, a lasso's cycle; too
// many states say so instead; and a graph that is forged or broken is refused
// with why before anything draws it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { GRAPH_STATES, GRAPH_TEXT, readExploreGraph, readGraphPath } from '../engine/protocol/exploreGraph.ts'
import { notebook } from './helpers.ts'
import { FLAGS } from './graphNotebook.ts'

const drawn = async (src: string) => explore(await Model.create(notebook({ s: src }), { path: 'g.loom.md' }), { draw: true })
const valuesOf = (r: Awaited<ReturnType<typeof drawn>>, id: number) => Object.fromEntries(r.graph!.nodes.find((x) => x.id === id)!.values)

test('a small space is drawn: every state with its values, every move labelled, the violating state at the end of the shortest path', async () => {
  const r = await drawn(FLAGS)
  const g = r.graph!
  assert.equal(g.nodes.length, 8)
  assert.equal(g.edges.length, 12)
  assert.deepEqual(g.nodes.filter((x) => x.initial).map((x) => valuesOf(r, x.id)), [{ n: '0', flag: 'false' }])
  assert.deepEqual(g.nodes.filter((x) => x.deadlock).map((x) => valuesOf(r, x.id)).sort((a, b) => a.flag.localeCompare(b.flag)), [{ n: '3', flag: 'false' }, { n: '3', flag: 'true' }])
  const broken = r.violations.find((v) => v.kind === 'test')!
  assert.deepEqual(broken.path!.map((id) => `${valuesOf(r, id).n}/${valuesOf(r, id).flag}`), ['0/false', '1/false', '2/false', '2/true'])
  const labels = g.edges.flatMap((e) => e.labels)
  assert.deepEqual([...new Set(labels)].sort(), ['step() [0]', 'step() [1]'])
  assert.equal(readExploreGraph(g).ok, true, 'what the engine sends passes the window\'s check')
})

test('a liveness lasso is drawn as its path: the prefix, then the cycle back to where it began', async () => {
  const r = await drawn(`const pos = state.var('pos', 0)
export function step() { pos.set(1 - pos.get()) }
test.eventually('pos reaches 2', () => pos.get() === 2)`)
  const v = r.violations[0]!
  assert.equal(v.loop, 0)
  assert.deepEqual(v.path!.map((id) => valuesOf(r, id).pos), ['0', '1', '0'])
})

test(`more than ${GRAPH_STATES} states are not drawn: the result says so, and the counterexample is still there`, async () => {
  const r = await drawn(`const n = state.var('n', 0)
export function step() { if (n.get() < 300) n.set(n.get() + 1) }
test('below 250', () => n.get() < 250)`)
  assert.equal(r.graph, null)
  assert.equal(r.violations[0]!.trace.length, 250)
  assert.equal(r.violations[0]!.path, undefined)
})

test('loom explore --graph FILE.dot writes the graph for Graphviz, or says why not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-graph-'))
  const nb = join(dir, 'flags.loom.md')
  writeFileSync(nb, notebook({ s: FLAGS }))
  const dot = join(dir, 'flags.dot')
  const r = spawnSync(process.execPath, ['bin/loom.js', 'explore', nb, '--graph', dot], { encoding: 'utf8' })
  assert.equal(r.status, 1)
  assert.match(r.stderr, /the state graph \(8 states, 12 pairs joined by moves\) is in .*flags\.dot/)
  const text = readFileSync(dot, 'utf8')
  assert.equal(text.match(/^ {2}s\d+ \[/gm)!.length, 8)
  assert.equal(text.match(/ -> /g)!.length, 12)
  assert.match(text, /s\d+ \[label="n = 2\\lflag = true\\l", style=filled, fillcolor="#f4b4b4"/, 'the violating state is red')
  const big = join(dir, 'big.loom.md')
  writeFileSync(big, notebook({ s: `const n = state.var('n', 0)\nexport function step() { if (n.get() < 300) n.set(n.get() + 1) }` }))
  const none = spawnSync(process.execPath, ['bin/loom.js', 'explore', big, '--graph', join(dir, 'big.dot'), '--no-deadlock'], { encoding: 'utf8' })
  assert.match(none.stderr, /301 states: too many to draw \(at most 200\); .*big\.dot was not written/)
  assert.equal(existsSync(join(dir, 'big.dot')), false)
  // A lasso's cycle is dashed: pos goes 0 → 1 → 0 for ever.
  const wander = join(dir, 'wander.loom.md')
  writeFileSync(wander, notebook({ s: `const pos = state.var('pos', 0)\nexport function step() { pos.set(1 - pos.get()) }\ntest.eventually('pos reaches 2', () => pos.get() === 2)` }))
  spawnSync(process.execPath, ['bin/loom.js', 'explore', wander, '--graph', join(dir, 'wander.dot')], { encoding: 'utf8' })
  assert.equal(readFileSync(join(dir, 'wander.dot'), 'utf8').match(/ -> .*style=dashed/g)!.length, 2)
  const workers = spawnSync(process.execPath, ['bin/loom.js', 'explore', nb, '--graph', dot, '--workers', '2'], { encoding: 'utf8' })
  assert.equal(workers.status, 2)
  assert.match(workers.stderr, /--graph draws the whole state graph, found on one thread: leave out --workers/)
})

test('loom explore --graph into a folder that does not exist: says it could not write it, and the report with its counterexample still follows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-graph-'))
  const nb = join(dir, 'flags.loom.md')
  writeFileSync(nb, notebook({ s: FLAGS }))
  const dot = join(dir, 'no', 'such', 'folder', 'flags.dot')
  const r = spawnSync(process.execPath, ['bin/loom.js', 'explore', nb, '--graph', dot], { encoding: 'utf8' })
  assert.equal(r.status, 1, 'the verdict: a violation')
  assert.match(r.stderr, /cannot write .*flags\.dot \(ENOENT\); the state graph was not written — the report has the exploration's verdict/)
  assert.match(r.stdout, /^explored .*flags\.loom\.md from the start: 8 states/)
  assert.match(r.stdout, /✗ test 'never flagged at 2' fails after 3 transactions/)
})

test('a forged graph is refused with why: too many states, edges to states it lacks, long or cyclic values, no graph at all', () => {
  const node = (id: number) => ({ id, depth: 0, values: [['n', String(id)]] as [string, string][] })
  const why = (v: unknown) => {
    const r = readExploreGraph(v)
    return r.ok ? 'ok' : r.why
  }
  assert.equal(why({ nodes: [node(0), node(1)], edges: [{ from: 0, to: 1, labels: ['step()'] }] }), 'ok')
  assert.match(why({ nodes: Array.from({ length: 1_000_000 }, (_, i) => node(i)), edges: [] }), /1000000 states: more than the 200/)
  assert.match(why({ nodes: [node(0)], edges: [{ from: 0, to: 7, labels: ['x'] }] }), /joins states the graph does not have/)
  assert.match(why({ nodes: [node(0), node(0)], edges: [] }), /distinct id/)
  assert.match(why({ nodes: [{ ...node(0), values: [['n', 'x'.repeat(GRAPH_TEXT + 1)]] }], edges: [] }), /at most 160 characters/)
  const cyclic: Record<string, unknown> = { id: 0, depth: 0 }
  cyclic.values = [[cyclic, cyclic]]
  assert.match(why({ nodes: [cyclic], edges: [] }), /not a name and a text/)
  const loop: Record<string, unknown> = { nodes: [] }
  loop.edges = [loop]
  assert.match(why(loop), /joins states the graph does not have/)
  assert.match(why(null), /not a graph/)
  assert.match(why({ nodes: [{ ...node(0), deadlock: 'yes' }], edges: [] }), /deadlock other than true/)
  const g = { nodes: [node(0), node(1)], edges: [] }
  assert.deepEqual(readGraphPath(g, [0, 1, 0]), [0, 1, 0])
  assert.equal(readGraphPath(g, [0, 9]), null)
  assert.equal(readGraphPath(g, 'nope'), null)
})

test('a state holding a huge or deeply nested value is drawn with its value cut to a line, so the graph stays small', async () => {
  const r = await drawn(`const big = state.var('big', 'x'.repeat(100_000))
const deep = state.var('deep', JSON.parse('['.repeat(40) + ']'.repeat(40)))
export function step() { sys.halt() }`)
  const values = r.graph!.nodes[0]!.values
  assert.deepEqual(values.map(([k, v]) => [k, v.length]), [['big', GRAPH_TEXT], ['deep', 80]])
  assert.ok(values[0]![1].endsWith('…'))
  assert.ok(JSON.stringify(r.graph).length < 2_000)
})
