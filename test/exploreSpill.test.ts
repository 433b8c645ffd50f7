// A level of the search past its bound goes to a temporary file and is read
// back in order (engine/replay/frontier.ts): the same states, transitions and
// shortest traces as in memory, and nothing left behind, even after kill -9.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Model } from '../engine/replay/model.ts'
import { explore } from '../engine/replay/explore.ts'
import { exploreParallel } from '../engine/replay/exploreParallel.ts'

// The run's temporary folder is shared with the files running beside this one, whose explorations spill too:
// this file's searches spill into a folder of its own (tmpdir() reads TMPDIR each time), so what is left there is theirs.
const ownTmp = mkdtempSync(join(tmpdir(), 'loom-spill-'))
process.env.TMPDIR = ownTmp
after(() => rmSync(ownTmp, { recursive: true, force: true }))

const text = readFileSync('samples/paxos-commit.loom.md', 'utf8')
const env = { RMS: '2', BALLOTS: '1' }
/**
 * Files this process holds open in the temporary folder that have no name any more (a spilled level's), and named
 * leftovers there. Only there: Node and V8 hold nameless files of their own (memfd:…) from time to time.
 */
const frontierFiles = () => [
  ...readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) } catch { return '' } }).filter((l) => l.startsWith(`${tmpdir()}/`) && l.endsWith('(deleted)')),
  ...readdirSync(tmpdir()).filter((f) => f.startsWith('loom-frontier-')),
]

test('a search whose levels go to disk finds the same states, transitions and depth as one in memory', async () => {
  const before = frontierFiles().length
  const inMemory = explore(await Model.create(text, { path: 'paxos-commit.loom.md', env }), { deadlock: false })
  const spilled = explore(await Model.create(text, { path: 'paxos-commit.loom.md', env }), { deadlock: false, frontierBytes: 1 })
  assert.equal(inMemory.spilled, undefined)
  // Every level but the start's (one state, kept before anything is spilled) went to a file.
  assert.equal(spilled.spilled, spilled.depth)
  assert.deepEqual([spilled.states, spilled.transitions, spilled.depth, spilled.exhausted, spilled.violations], [545, inMemory.transitions, inMemory.depth, true, []])
  assert.equal(frontierFiles().length, before, `a spilled level leaves no file behind: ${frontierFiles().join(', ')}`)
})

test('a search whose levels go to disk gives the same shortest trace to a broken test', async () => {
  const broken = text.replace("RM.every((rm) => decided(rm, 'prepared'))", "RM.some((rm) => decided(rm, 'prepared'))")
  assert.notEqual(broken, text)
  const inMemory = explore(await Model.create(broken, { path: 'paxos-commit.loom.md', env }), { deadlock: false })
  const spilled = explore(await Model.create(broken, { path: 'paxos-commit.loom.md', env }), { deadlock: false, frontierBytes: 200 })
  assert.ok(spilled.spilled! > 0)
  const trace = (r: typeof inMemory) => r.violations.find((v) => v.test === 'TCConsistent')?.trace
  assert.equal(trace(spilled)?.length, 6)
  assert.deepEqual(trace(spilled), trace(inMemory))
  assert.deepEqual([spilled.states, spilled.transitions], [inMemory.states, inMemory.transitions])
})

test('with two threads, levels go to disk too: each thread spills its own part, and states given to even a level out are read back from the file', async () => {
  const broken = text.replace("RM.every((rm) => decided(rm, 'prepared'))", "RM.some((rm) => decided(rm, 'prepared'))")
  const inMemory = explore(await Model.create(broken, { path: 'paxos-commit.loom.md', env }), { deadlock: false })
  const before = frontierFiles().length
  // Both threads from the first level, so the second starts with nothing and is given half of every level.
  const two = await exploreParallel(broken, { path: 'paxos-commit.loom.md', env, workers: 2, joinAt: 0, waitToJoin: true, deadlock: false, frontierBytes: 1 })
  assert.equal(two.spilled, two.depth, 'every level but the start went to a file')
  assert.deepEqual([two.states, two.transitions, two.depth, two.exhausted], [inMemory.states, inMemory.transitions, inMemory.depth, true])
  const trace = (r: typeof inMemory) => r.violations.find((v) => v.test === 'TCConsistent')?.trace
  assert.equal(trace(two)?.length, trace(inMemory)?.length, 'still a shortest trace')
  assert.equal(frontierFiles().length, before, `no file left behind: ${frontierFiles().join(', ')}`)
})

test('a search stopped by its state bound while a level is on disk lets the file go', async () => {
  const before = frontierFiles().length
  const r = explore(await Model.create(text, { path: 'paxos-commit.loom.md', env }), { deadlock: false, frontierBytes: 1, maxStates: 100 })
  assert.equal(r.stoppedBy, 'states')
  assert.equal(frontierFiles().length, before, frontierFiles().join(', '))
})

test('an exploration killed with SIGKILL while its levels are on disk leaves nothing in the temporary folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-spill-test-'))
  try {
    const script = `
      import { readFileSync } from 'node:fs'
      import { Model } from './engine/replay/model.ts'
      import { explore } from './engine/replay/explore.ts'
      const model = await Model.create(readFileSync('samples/paxos-commit.loom.md', 'utf8'), { path: 'p.loom.md' })
      explore(model, { deadlock: false, frontierBytes: 1, onProgress: (p) => p.depth >= 3 && console.log('deep') })`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    const deep = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 60_000)
      child.stdout.on('data', () => (clearTimeout(timer), resolve(true)))
      child.on('exit', () => (clearTimeout(timer), resolve(false)))
    })
    assert.ok(deep, `the exploration reached depth 3: ${err}`)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    // (tsx keeps its own cache there.)
    assert.deepEqual(readdirSync(dir).filter((f) => f !== 'tsx-0'), [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** `loom explore` with its launcher's temporary folder set to `tmp` and levels spilled past `bytes`. */
function cliExplore(tmp: string, bytes: string, small = true) {
  return spawn(process.execPath, ['bin/loom.js', 'explore', 'samples/paxos-commit.loom.md', ...(small ? ['--env', 'RMS=2', '--env', 'BALLOTS=1'] : []), '--no-deadlock', '--json'], { env: { ...process.env, TMPDIR: tmp, LOOM_FRONTIER_BYTES: bytes }, stdio: ['ignore', 'pipe', 'pipe'] })
}

test('loom explore --workers 2 spills too, from both threads, into its folder, removed once it ends', { skip: process.platform !== 'linux' && 'O_TMPFILE and the OS sandbox as on Linux' }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'loom-spill-cli2-'))
  try {
    // Two-phase commit with six resource managers: 50,816 states, levels wide enough (over 2,048) for the second thread to join in.
    const child = spawn(process.execPath, ['bin/loom.js', 'explore', 'samples/twophase.loom.md', '--env', 'RM=r1,r2,r3,r4,r5,r6', '--no-deadlock', '--json', '--workers', '2'], { env: { ...process.env, TMPDIR: tmp, LOOM_FRONTIER_BYTES: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 0, err)
    const r = JSON.parse(out) as { states: number; transitions: number; depth: number; spilled?: number }
    assert.deepEqual([r.states, r.transitions, r.depth], [50_816, 402_305, 19], 'the counts of one thread in memory')
    assert.equal(r.spilled, r.depth, 'every level but the start went to a file')
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('loom-')), [], 'the folder is gone')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})

test('loom explore spills from its confined process into a folder of its own, removed once it ends', { skip: process.platform !== 'linux' && 'O_TMPFILE and the OS sandbox as on Linux' }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'loom-spill-cli-'))
  try {
    const child = cliExplore(tmp, '1')
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    // While it runs, its folder is there and holds no file with a name (a spilled level's file has none).
    const seen: string[][] = []
    const timer = setInterval(() => {
      for (const f of readdirSync(tmp).filter((n) => n.startsWith('loom-scratch-'))) seen.push(readdirSync(join(tmp, f)))
    }, 20)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    clearInterval(timer)
    assert.equal(code, 0, err)
    const r = JSON.parse(out) as { states: number; depth: number; spilled?: number }
    assert.equal(r.states, 545)
    assert.equal(r.spilled, r.depth, 'every level but the start went to a file')
    assert.ok(seen.length > 0, 'the folder was made')
    assert.deepEqual(seen.filter((names) => names.length), [], 'nothing in it has a name')
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('loom-')), [], 'the folder is gone')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})

test('a loom explore killed with SIGKILL leaves only an empty folder, which the next one removes', { skip: process.platform !== 'linux' && 'O_TMPFILE and the OS sandbox as on Linux' }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'loom-spill-kill-'))
  try {
    // The whole model: long enough to be killed while it runs.
    const child = cliExplore(tmp, '1', false)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    // Killed once it is exploring (its progress line comes after a second).
    const exploring = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 60_000)
      let err = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => ((err += d), /loom: exploring: /.test(err) && (clearTimeout(timer), resolve(true))))
      child.once('exit', () => (clearTimeout(timer), resolve(false)))
    })
    child.kill('SIGKILL')
    await exited
    const left = readdirSync(tmp).filter((f) => f.startsWith('loom-scratch-'))
    if (exploring) assert.equal(left.length, 1)
    // The confined process dies with its launcher (the OS sandbox's --die-with-parent): no file in the folder, named or held.
    await new Promise((r) => setTimeout(r, 500))
    for (const f of left) assert.deepEqual(readdirSync(join(tmp, f)), [])
    const next = cliExplore(tmp, '1000000000')
    assert.equal(await new Promise((resolve) => next.on('close', resolve)), 0)
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('loom-')), [], 'the next one removed the folder left behind')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})
