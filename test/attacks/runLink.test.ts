// `loom run`'s link as a broken engine process would use it (DESIGN §9): its
// frames go to the launcher on a socket of their own (fd 4, logLink.ts
// LINK_OUT_FD), answers come back on fd 3. With the test-only breach switch
// (breach.preload.js) a cell writes garbage, a truncated frame, a 4 GB frame
// header or a forged commit down fd 4, or writes anything on fd 3, or kills
// its own process with SIGKILL, in the middle of a run whose commits are in
// flight. The launcher stops the engine (or refuses the commit), says why,
// and the log keeps every event it acknowledged: `loom replay --verify`
// passes, heads record and all.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const LOOM = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'loom.js')
const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const STEPS = 20_000
/** The step that misbehaves: by then several group commits have been acknowledged and more are in flight. */
const AT = 6_000

// Without the switch (`loom replay --verify`) the cell only counts, so the log replays exactly.
const NOTEBOOK = `# Hostile link

\`\`\`ts #hostile
const count = state.var('count', 0)
export function step() {
  count.set(count.get() + 1)
  const b = typeof __breach === 'undefined' ? undefined : __breach
  if (!b || count.get() !== ${AT}) return
  const fs = b.require('node:fs')
  const Buffer = b.require('node:buffer').Buffer
  const frame = (head, raw) => {
    const json = Buffer.from(head)
    const lengths = Buffer.alloc(8)
    lengths.writeUInt32LE(json.length, 0)
    lengths.writeUInt32LE(raw.length, 4)
    return Buffer.concat([lengths, json, raw])
  }
  const what = sys.env.get('WHAT')
  if (what === 'garbage') fs.writeSync(4, Buffer.from('this is not a frame, only bytes written into the link'))
  if (what === 'truncated') fs.writeSync(4, frame('{"id":1,"op":"events","from":1', Buffer.alloc(0)).subarray(0, 20))
  if (what === 'huge') fs.writeSync(4, Buffer.from([0xf0, 0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff]))
  if (what === 'answerSocket') fs.writeSync(3, frame('{"id":1,"op":"ready"}', Buffer.alloc(0)))
  if (what === 'forged') {
    const text = '{"branch":"evil","seq":1,"kind":"step","codeHash":"","time":0,"method":"step","input":null,"choices":[],"reads":[],"writes":[],"outputs":{}}'
    fs.writeSync(4, frame(JSON.stringify({ id: 1e9, op: 'commit', first: 1, count: 1, cuts: [null], kinds: ['step'], code: '0'.repeat(64), snapshots: [], attempts: [], storedCode: [], cells: [] }), Buffer.from(text)))
  }
  if (what === 'kill') b.process.kill(b.process.pid, 'SIGKILL')
}
\`\`\`
`

function run(what: string): Promise<{ code: number | null; stderr: string; db: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-runlink-'))
  dirs.push(dir)
  const notebook = join(dir, 'hostile.loom.md')
  writeFileSync(notebook, NOTEBOOK)
  const db = join(dir, 'hostile.loom.db')
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [LOOM, 'run', notebook, '--db', db, '--steps', String(STEPS), '--json', '--env', `WHAT=${what}`], { env: { ...process.env, LOOM_TEST_BREACH: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stdout.resume()
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', fail)
    child.on('exit', (code) => done({ code, stderr, db, dir }))
  })
}

/** The log verifies (every event re-executes, the chain holds, everything acknowledged is there); its head. */
function verified(db: string): number {
  const replay = spawnSync(process.execPath, [LOOM, 'replay', db, '--verify'], { encoding: 'utf8' })
  assert.equal(replay.status, 0, replay.stdout + replay.stderr)
  assert.match(replay.stdout + replay.stderr, /every acknowledged event present/)
  const branches = spawnSync(process.execPath, [LOOM, 'branches', db, '--json'], { encoding: 'utf8' })
  const list = JSON.parse(branches.stdout) as { name: string; head: number }[]
  assert.deepEqual(list.map((b) => b.name), ['main'])
  return list[0]!.head
}

for (const [what, why] of [
  ['garbage', /the engine process sent a bad frame: log link: a frame of \d+ bytes; stopping the app/],
  ['truncated', /the engine process sent a bad frame[^\n]*JSON[^\n]*; stopping the app/],
  ['huge', /the engine process sent a bad frame: log link: a frame of \d+ bytes; stopping the app/],
  ['answerSocket', /the engine process wrote on the socket it only reads; stopping the app/],
] as const) {
  test(`loom run: an engine process that writes ${what === 'answerSocket' ? 'on the socket its answers come on' : `${what} down its frames' socket`} mid-run is stopped, saying why; every acknowledged event is kept`, { timeout: 120_000 }, async () => {
    const { code, stderr, db } = await run(what)
    assert.equal(code, 1, stderr)
    assert.match(stderr, why)
    const head = verified(db)
    assert.ok(head > 1 && head < STEPS + 1, `head ${head}: some events before the misstep, none of the steps after it`)
  })
}

test('loom run: a forged commit down the frames\' socket mid-run is refused there, and the run goes on to the end', { timeout: 120_000 }, async () => {
  const { code, stderr, db } = await run('forged')
  assert.equal(code, 0, stderr)
  assert.equal(verified(db), STEPS + 1)
})

test('loom run: kill -9 of the engine process with commits in flight loses nothing acknowledged', { timeout: 120_000 }, async () => {
  const { code, stderr, db } = await run('kill')
  // Ended by the signal: said by the launcher, or under bubblewrap its exit code (128 + 9).
  assert.ok(code === 137 || (code === 1 && /the app's process ended by SIGKILL/.test(stderr)), `exit ${code}: ${stderr}`)
  const head = verified(db)
  assert.ok(head > 1 && head < AT + 1, `head ${head}`)
})
