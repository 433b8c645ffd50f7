// PaxosCommit at model-checker scale (issue 18): `loom explore` exhausting
// the published configuration (1,321,761 states) beside SPIN on the same
// model (bench/paxosCommit.pml), in the same run: time, CPU time, peak memory
// of each, and the ratio. Each runs as a child process under GNU time
// (/usr/bin/time), which gives its peak resident memory and CPU time: for
// Loom, this file run with --explore, which does what `loom explore` does in
// its engine process (GNU time would measure only the CLI's own process,
// not the engine process it starts). SPIN is compiled here (Debian's spin and gcc).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, copyFileSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** TLC's published count for PaxosCommit.cfg. */
export const PAXOS_STATES = 1_321_761
export const PAXOS_WITHIN_S = 60
export const PAXOS_WITHIN_MB = 2048
export const PAXOS_VS_SPIN = 10

export interface Run {
  states: number
  wallS: number
  cpuS: number
  peakMb: number
}

export interface PaxosFigures {
  loom: Run | { error: string }
  spin: Run | { skipped: string }
  /** The exact commands, so a reader can run them by hand. */
  commands: { loom: string; spin: string[] }
}

const ROOT = new URL('..', import.meta.url).pathname
const TIME = '/usr/bin/time'
const LOOM_ARGS = ['--max-old-space-size=2048', '--import', 'tsx', 'bench/paxosCommit.ts', '--explore']
/** What the exploring process runs: `loom explore samples/paxos-commit.loom.md --no-deadlock --max-states 2000000`. */
const EXPLORE = { maxStates: 2_000_000, deadlock: false }
const SPIN_CC = ['-O2', '-DSAFETY', '-DNOREDUCE', '-DNOCLAIM', '-DNOFAIR', '-DMEMLIM=4096', '-o', 'pan', 'pan.c']
const PAN_ARGS = ['-m100', '-w24']

/** Runs a command under GNU time: its output, and its wall time, CPU time and peak RSS. */
function timed(cmd: string, args: string[], cwd: string): { stdout: string; stderr: string; status: number | null; wallS: number; cpuS: number; peakMb: number } {
  const t0 = performance.now()
  const r = spawnSync(TIME, ['-f', 'LOOMBENCH %e %U %S %M', cmd, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })
  const wallS = (performance.now() - t0) / 1000
  const m = /LOOMBENCH ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr)
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, wallS: m ? Number(m[1]) : wallS, cpuS: m ? Number(m[2]) + Number(m[3]) : NaN, peakMb: m ? Number(m[4]) / 1024 : NaN }
}

export function measurePaxos(progress: (what: string) => void): PaxosFigures {
  const commands = { loom: `loom explore samples/paxos-commit.loom.md --no-deadlock --max-states 2000000 (here: node ${LOOM_ARGS.join(' ')})`, spin: ['spin -a paxosCommit.pml', `gcc ${SPIN_CC.join(' ')}`, `./pan ${PAN_ARGS.join(' ')}`] }
  if (!existsSync(TIME)) return { loom: { error: `no ${TIME} (apt-get install time): peak memory cannot be measured` }, spin: { skipped: `no ${TIME}` }, commands }
  progress('PaxosCommit: SPIN on bench/paxosCommit.pml')
  const spin = runSpin()
  progress('PaxosCommit: loom explore samples/paxos-commit.loom.md (1,321,761 states)')
  const r = timed(process.execPath, LOOM_ARGS, ROOT)
  let loom: PaxosFigures['loom']
  try {
    const json = JSON.parse(r.stdout) as { states: number; exhausted: boolean }
    loom = json.exhausted ? { states: json.states, wallS: r.wallS, cpuS: r.cpuS, peakMb: r.peakMb } : { error: `not exhausted (${json.states} states): ${r.stderr.slice(-300)}` }
  } catch {
    loom = { error: `loom explore exited ${r.status}: ${r.stderr.slice(-300)}` }
  }
  return { loom, spin, commands }
}

function runSpin(): Run | { skipped: string } {
  for (const tool of ['spin', 'gcc']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { skipped: `${tool} is not installed (apt-get install spin gcc)` }
  }
  const dir = mkdtempSync(join(tmpdir(), 'loom-spin-'))
  try {
    copyFileSync(join(ROOT, 'bench/paxosCommit.pml'), join(dir, 'paxosCommit.pml'))
    for (const [cmd, args] of [['spin', ['-a', 'paxosCommit.pml']], ['gcc', SPIN_CC]] as const) {
      const c = spawnSync(cmd, [...args], { cwd: dir, encoding: 'utf8' })
      if (c.status !== 0) return { skipped: `${cmd} failed: ${(c.stderr || c.stdout).slice(-300)}` }
    }
    const r = timed('./pan', PAN_ARGS, dir)
    const stored = /(\d+) states, stored/.exec(r.stdout)
    if (!stored) return { skipped: `pan printed no count: ${r.stdout.slice(-300)}` }
    return { states: Number(stored[1]), wallS: r.wallS, cpuS: r.cpuS, peakMb: r.peakMb }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function paxosTable(f: PaxosFigures): string {
  const row = (name: string, r: Run) =>
    `${name.padEnd(14)} ${r.states.toLocaleString('en-US').padStart(10)} states   ${r.wallS.toFixed(1).padStart(6)} s   CPU ${r.cpuS.toFixed(1).padStart(6)} s   peak ${Math.round(r.peakMb).toLocaleString('en-US').padStart(6)} MB`
  const lines = [`PaxosCommit (TLC: ${PAXOS_STATES.toLocaleString('en-US')} distinct states), exhausted from the start`, '']
  const loom = 'error' in f.loom ? null : f.loom
  const spin = 'skipped' in f.spin ? null : f.spin
  lines.push(loom ? row('loom explore', loom) : `loom explore   ${(f.loom as { error: string }).error}`)
  lines.push(spin ? row('SPIN', spin) : `SPIN           not measured: ${(f.spin as { skipped: string }).skipped}`)
  if (loom && spin) {
    lines.push('', `loom ÷ SPIN: time ${(loom.wallS / spin.wallS).toFixed(1)}×, CPU ${(loom.cpuS / spin.cpuS).toFixed(1)}×, memory ${(loom.peakMb / spin.peakMb).toFixed(1)}×`)
    if (loom.states !== PAXOS_STATES || spin.states !== PAXOS_STATES) lines.push(`COUNTS DIFFER from TLC's ${PAXOS_STATES.toLocaleString('en-US')}`)
  }
  if (loom) {
    const met = loom.wallS < PAXOS_WITHIN_S && loom.peakMb < PAXOS_WITHIN_MB && (!spin || loom.wallS <= PAXOS_VS_SPIN * spin.wallS)
    lines.push(`target under ${PAXOS_WITHIN_S} s within ${PAXOS_WITHIN_MB.toLocaleString('en-US')} MB${spin ? `, within ${PAXOS_VS_SPIN}× of SPIN's time` : ''}: ${met ? 'met' : 'NOT met'}`)
  }
  lines.push(`  (${f.commands.loom}; SPIN: ${f.commands.spin.join(' && ')})`)
  return lines.join('\n')
}

// Run as `node --import tsx bench/paxosCommit.ts --explore`: the exploration alone, its result as JSON.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--explore')) {
  const { Model } = await import('../engine/replay/model.ts')
  const { explore } = await import('../engine/replay/explore.ts')
  const text = readFileSync(join(ROOT, 'samples/paxos-commit.loom.md'), 'utf8')
  const r = explore(await Model.create(text, { path: 'paxos-commit.loom.md' }), EXPLORE)
  console.log(JSON.stringify({ states: r.states, transitions: r.transitions, depth: r.depth, exhausted: r.exhausted, violations: r.violations.length, spilled: r.spilled ?? 0 }))
}
