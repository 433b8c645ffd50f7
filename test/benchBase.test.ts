// npm run bench -- --base REV: the comparison it prints, and its refusals.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { compare } from '../bench/baseline.ts'

test('before and after: each figure both sides measured, as medians, head ÷ base, and each side\'s spread; a figure only one side has is left out', () => {
  const rows = compare(
    [{ 'loom.1000': 100, plainLoop: 10, old: 1 }, { 'loom.1000': 140, plainLoop: 10, old: 1 }, { 'loom.1000': 120, plainLoop: 10, old: 1 }],
    [{ 'loom.1000': 240, plainLoop: 10, new: 1 }, { 'loom.1000': 240, plainLoop: 10, new: 1 }, { 'loom.1000': 180, plainLoop: 10, new: 1 }],
  )
  assert.deepEqual(rows, [
    { figure: 'loom.1000', base: 120, head: 240, ratio: 2, spread: { base: 40 / 120, head: 60 / 240 } },
    { figure: 'plainLoop', base: 10, head: 10, ratio: 1, spread: { base: 0, head: 0 } },
  ])
})

test('npm run bench --base refuses what is not a commit, and bad --only and --rounds, with exit 2 and what to do', () => {
  const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts', ...args], { encoding: 'utf8', timeout: 60_000 })
  for (const [args, why] of [
    [['--base', 'no-such-rev-x'], /--base: 'no-such-rev-x' is not a commit of this repository/],
    [['--base'], /--base needs a value/],
    [['--base', 'HEAD', '--only', 'steps,nope'], /--only: there is no section 'nope'/],
    [['--base', 'HEAD', '--rounds', '0'], /--rounds is a whole number from 1 to 10/],
    [['--base', 'HEAD', '--rounds', '1e9'], /--rounds is a whole number from 1 to 10/],
    [['--frobnicate'], /unknown option --frobnicate/],
  ] as const) {
    const r = bench(...args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, why)
  }
  const help = bench('--help')
  assert.equal(help.status, 0)
  assert.match(help.stdout, /--base REV +before and after in one run/)
})
