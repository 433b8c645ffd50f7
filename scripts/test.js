#!/usr/bin/env node
// `npm test`: the layering check, the type check, then every test file under
// test/ and test/attacks/ with Node's test runner (its summary, then the slowest files, are the last things printed).
// `node scripts/test.js test/a.test.ts …`: only those files, no checks first.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const only = process.argv.slice(2)
// test/ and its folders one level down (test/attacks/: attacks through the real surfaces).
const testsIn = (dir) => readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f))
const folders = readdirSync('test', { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'fixtures').map((d) => join('test', d.name)).sort()
// The slowest files start first (from the tables two runs printed last, on two busy cores): started last,
// one of them would run on alone at the end while the other core idles. A file not named here keeps its place.
const SLOWEST_FIRST = [
  'test/ui.test.ts', 'test/cli.test.ts', 'test/durable.test.ts', 'test/shareUi.test.ts', 'test/windowUi.test.ts',
  'test/protocol.test.ts', 'test/debuggerAgent.test.ts', 'test/effectActions.test.ts', 'test/slowReader.test.ts',
  'test/debuggerTimeline.test.ts', 'test/effectsUi.test.ts', 'test/attacks/query.test.ts', 'test/attacks/breach.test.ts',
  'test/crash.test.ts', 'test/exploreInputs.test.ts', 'test/attacks/runLink.test.ts', 'test/replayDivergenceUi.test.ts',
]
const all = [...testsIn('test'), ...folders.flatMap(testsIn)]
const files = only.length ? only : [...SLOWEST_FIRST.filter((f) => all.includes(f)), ...all.filter((f) => !SLOWEST_FIRST.includes(f))]

// Every temporary file of the run (logs of a gigabyte among them) goes in one folder, removed at the end:
// a test that forgets its own, or is killed half-way, leaves nothing behind to fill the disk.
const scratch = mkdtempSync(join(tmpdir(), 'loom-tests-'))
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }))
// loom serve remembers recent notebooks under XDG_CONFIG_HOME: the tests' go in the run's folder, not the user's.
const env = { ...process.env, TMPDIR: scratch, XDG_CONFIG_HOME: join(scratch, 'config') }

const run = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1
/** Like run, but does not wait for it: resolves with its exit status. */
const start = (args) => new Promise((done) => spawn(process.execPath, args, { stdio: 'inherit' }).once('exit', (code) => done(code ?? 1)))

// Built once for a run of several files, while the type check runs: the UI (a minified Monaco, about 5 s) that
// the browser tests and every `loom serve` without a UI of its own serve (LOOM_RENDERER_DIR), instead of one
// build per file and a first serve building dist/renderer/ while another serves it; and the engine bundle
// (dist/engine/), so that no `loom` a test starts runs its sources through the TypeScript loader first.
let builds = Promise.resolve([])
if (files.length > 1) {
  env.LOOM_RENDERER_DIR = join(scratch, 'renderer')
  builds = Promise.all([start(['--import', 'tsx', 'scripts/build-renderer.ts', env.LOOM_RENDERER_DIR]), start(['--import', 'tsx', 'scripts/build-engine.ts'])])
}

if (!only.length) {
  if (run(['scripts/check-layering.js'])) process.exit(1)
  if (run(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])) {
    console.error('typecheck failed')
    process.exit(1)
  }
  if (run(['node_modules/typescript/bin/tsc', '-p', 'renderer/tsconfig.json'])) {
    console.error('typecheck of the renderer (DOM, no Node) failed')
    process.exit(1)
  }
  console.log('typecheck: ok')
}
if ((await builds).some((status) => status !== 0)) {
  console.error('the build failed: npm run build says why')
  process.exit(1)
}
// Two files at a time (LOOM_TEST_CONCURRENCY=N for another number): most files wait on a browser, a server or a
// process they started, so two at a time take CI's two cores from about 1,050 s to about 750 s. What it costs: a
// file shares the machine with another, so no test may depend on timing (each waits for what it needs, and a time
// limit it does not test is generous) and each keeps its ports (0) and folders (mkdtemp) to itself.
const asked = Number(process.env.LOOM_TEST_CONCURRENCY)
const concurrency = Number.isSafeInteger(asked) && asked > 0 ? asked : 2
// A test that hangs fails after 10 minutes, naming itself, instead of holding up the run (CI stops at 90).
// After the spec reporter's summary: the slowest files of a run of several (scripts/fileTimes.js).
const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=./scripts/fileTimes.js', '--test-reporter-destination=stdout']
process.exitCode = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...reporters, ...files], { stdio: 'inherit', env }).status ?? 1
