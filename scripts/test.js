#!/usr/bin/env node
// `npm test`: the layering check, the type check, then every test file under
// test/ and test/attacks/ with Node's test runner (its summary is the last thing printed).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const only = process.argv.slice(2)
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1

if (!only.length) {
  if (run(process.execPath, ['scripts/check-layering.js'])) process.exit(1)
  if (run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])) {
    console.error('typecheck failed')
    process.exit(1)
  }
  if (run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'renderer/tsconfig.json'])) {
    console.error('typecheck of the renderer (DOM, no Node) failed')
    process.exit(1)
  }
  console.log('typecheck: ok')
}
// test/ and its folders one level down (test/attacks/: attacks through the real surfaces).
const testsIn = (dir) => readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f))
const folders = readdirSync('test', { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'fixtures').map((d) => join('test', d.name)).sort()
const files = only.length ? only : [...testsIn('test'), ...folders.flatMap(testsIn)]
// Every temporary file of the run (logs of a gigabyte among them) goes in one folder, removed at the end:
// a test that forgets its own, or is killed half-way, leaves nothing behind to fill the disk.
const scratch = mkdtempSync(join(tmpdir(), 'loom-tests-'))
// loom serve remembers recent notebooks under XDG_CONFIG_HOME: the tests' go in the run's folder, not the user's.
// A test that hangs fails after 10 minutes, naming itself, instead of holding up the run (CI stops at 90).
const status = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-timeout=600000', '--test-reporter=spec', ...files], { stdio: 'inherit', env: { ...process.env, TMPDIR: scratch, XDG_CONFIG_HOME: join(scratch, 'config') } }).status ?? 1
rmSync(scratch, { recursive: true, force: true })
process.exit(status)
