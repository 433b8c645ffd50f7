#!/usr/bin/env node
// `npm test`: the layering check, the type check, then every test file under
// test/ with Node's test runner (its summary is the last thing printed).
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
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
// test/attacks/: the assume-breach tests (DESIGN §9).
const inFolder = (dir) => readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f))
const files = only.length ? only : [...inFolder('test'), ...inFolder(join('test', 'attacks'))]
process.exit(run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files]))
