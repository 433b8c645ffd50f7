// Attacks on retroactive logging (`loom replay DB --code NB --logs`, the
// retroLogs op): a hostile notebook re-enacting someone's history — the
// stack-depth trick on sys.log and console.log at every depth, a flood of
// lines, values that cannot be printed, an endless loop, code that does not
// parse — and a log changed by hand. It never writes a byte of the log and
// never crashes: every case ends with an exit code and a sentence.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'

const dir = mkdtempSync(join(tmpdir(), 'loom-attack-retro-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const bank = join(dir, 'bank.loom.db')
const sample = readFileSync('samples/bank.loom.md', 'utf8')
const loom = (...args: string[]) => spawnSync(process.execPath, ['bin/loom.js', ...args], { encoding: 'utf8', timeout: 90_000, maxBuffer: 512 * 1024 * 1024 })
/** Every file beside the log, by name, with its hash: what "writes nothing" is checked against. */
const files = () => Object.fromEntries(readdirSync(dir).filter((f) => f.startsWith('bank.loom.db')).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]))

before(() => copyFileSync('test/fixtures/bank.loom.db', bank))

/** The bank sample with `line` added as the first line of step(). */
function withLine(name: string, line: string): string {
  const nb = join(dir, `${name}.loom.md`)
  writeFileSync(nb, sample.replace('export function step() {\n', `export function step() {\n  ${line}\n`))
  return nb
}

const STACK_TRICK = `{ let found = 'clean'; const deep = () => { try { deep() } catch { for (const f of [() => sys.log('x', 1), () => console.log('x'), () => sys.env.get('HOME')]) try { f() } catch (e) { if (e && typeof e === 'object' && !(e instanceof Error)) { try { found = 'ESCAPED ' + e.constructor.constructor('return typeof process')() } catch {} } } } }; deep(); sys.log('probe', found) }`

test('a hostile notebook re-enacting a history writes nothing to it and ends with an answer', () => {
  const before_ = files()
  // Each: the case, the line, what its answer must say, and a time limit of its own (ms).
  const cases: [string, string, (r: ReturnType<typeof loom>) => void, string?][] = [
    ['stack', STACK_TRICK, (r) => {
      assert.doesNotMatch(r.stdout + r.stderr, /ESCAPED/)
    }],
    ['flood', "for (let i = 0; i < 20000; i++) sys.log('flood', i)", (r) => assert.match(r.stdout, /… 19000 more lines \(the first 1000 of each event are shown\)/)],
    ['unprintable', "{ const o: any = {}; o.o = o; console.log(o, { toJSON() { throw new Error('no') } }, { get x() { throw new Error('no') } }) }", () => {}],
    // Every re-enacted step runs away: at 500 ms each (ten times --time-limit, replay's margin) the case alone took 25 s.
    ['loop', 'for (;;) {}', (r) => assert.match(r.stdout + r.stderr, /time limit|ran past/), '50'],
    ['broken', 'const = ;', (r) => assert.equal(r.status, 2)],
  ]
  for (const [name, line, check, limit = '500'] of cases) {
    const r = loom('replay', bank, '--code', withLine(name, line), '--logs', '--limit', '5', '--time-limit', limit)
    assert.ok(r.status === 0 || r.status === 1 || r.status === 2, `${name}: exited ${r.status} ${r.signal}\n${r.stderr.slice(0, 2000)}`)
    assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+\)?$/m, `${name}: a stack trace, not a sentence`)
    check(r)
    assert.deepEqual(files(), before_, `${name}: the log was written`)
  }
})

test('a log whose stored code was changed by hand is re-enacted with the new code, read-only, without a crash', () => {
  const db = join(dir, 'bank.loom.db')
  const copy = join(dir, 'tampered.loom.db')
  copyFileSync(db, copy)
  const raw = new Database(copy)
  raw.exec(`UPDATE code SET sources = '{"cells":5}', code = 'throw new Error(1)' WHERE hash = (SELECT min(hash) FROM code)`)
  raw.close()
  const hash = () => createHash('sha256').update(readFileSync(copy)).digest('hex')
  const was = hash()
  const r = loom('replay', copy, '--code', withLine('plain', "sys.log('seen', 1)"), '--logs')
  assert.ok(r.status === 0 || r.status === 1 || r.status === 2, `exited ${r.status} ${r.signal}\n${r.stderr}`)
  assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+\)?$/m)
  assert.equal(hash(), was)
  assert.ok(!existsSync(`${copy}-journal`))
})
