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
  assert.match(help.stdout, /--cpu +with --base: also each side's CPU time/)
})

test('bench --cpu\'s probe gives CPU time beside wall time, the confined cell process\'s CPU counted apart from the launcher\'s', () => {
  const probe = (figure: string) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/cpuProbe.ts', figure], { encoding: 'utf8', timeout: 300_000 })
  const steps = probe('steps')
  assert.equal(steps.status, 0, steps.stderr)
  const s = JSON.parse(steps.stdout) as Record<string, number>
  for (const n of ['1k', '10k', '20k', '200k']) {
    assert.ok(s[`steps${n}.cpuMs`]! > 0 && s[`steps${n}.wallMs`]! > 0, `steps at ${n}: ${steps.stdout}`)
  }
  const confined = probe('confined')
  assert.equal(confined.status, 0, confined.stderr)
  const c = JSON.parse(confined.stdout) as Record<string, number>
  // The cells run in a process of their own that its launcher does not always wait for: its CPU is read apart.
  assert.ok(c['confined.cellsCpuMs']! > 0 && c['confined.launcherCpuMs']! > 0, confined.stdout)
  assert.equal(c['confined.cpuMs'], c['confined.launcherCpuMs']! + c['confined.cellsCpuMs']!)
  assert.equal(probe('nope').status, 1)
})
