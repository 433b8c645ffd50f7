// `npm run bench -- --base REV`: before and after in one run. REV is checked
// out in a temporary git worktree (node_modules linked to this checkout's, its
// bundles built there) and this checkout's bench code is copied in, so both
// sides are measured by the same code. The quick figures are then measured in
// REV and here alternately — base, head, base, head… — so that whatever the
// machine's load does falls on both; each figure is printed with both sides'
// median, head ÷ base, and the spread of each side's runs.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { columns } from './report.ts'

export const SECTIONS = ['steps', 'durable', 'explore', 'paxos', 'http', 'effects', 'share', 'ui', 'timeline', 'query'] as const
export type Section = (typeof SECTIONS)[number]
/** What --base measures unless told: the engine's own figures, a few minutes per side in quick mode. */
export const BASE_SECTIONS: Section[] = ['steps', 'durable', 'explore']
/** A side's run may take this long before it is stopped (every loop bounded). */
const RUN_TIMEOUT_MS = 30 * 60_000

const here = process.cwd()

function git(args: string[], cwd = here): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' })
  return { ok: r.status === 0, out: r.stdout.trim(), err: r.stderr.trim() }
}

/** Measures `sections` at `rev` and here, `rounds` times each, alternately; prints the comparison. The exit code. */
export async function compareWithBase(rev: string, o: { rounds: number; sections: string[]; json: boolean; cpu?: boolean }): Promise<number> {
  const sha = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])
  if (!sha.ok) {
    console.error(`--base: '${rev}' is not a commit of this repository (git rev-parse: ${sha.err || 'unknown revision'})`)
    return 2
  }
  const head = git(['rev-parse', '--short', 'HEAD']).out + (git(['status', '--porcelain', '--untracked-files=no']).out ? ' + changes' : '')
  const tree = mkdtempSync(join(tmpdir(), 'loom-bench-base-'))
  const say = (what: string) => o.json || process.stderr.write(`bench --base: ${what}\n`)
  try {
    say(`checking out ${rev} (${sha.out.slice(0, 12)}) in ${tree}`)
    const added = git(['worktree', 'add', '--detach', tree, sha.out])
    if (!added.ok) throw new Error(`git worktree add failed: ${added.err}`)
    symlinkSync(realpathSync(join(here, 'node_modules')), join(tree, 'node_modules'))
    // The same measuring code on both sides.
    rmSync(join(tree, 'bench'), { recursive: true, force: true })
    cpSync(join(here, 'bench'), join(tree, 'bench'), { recursive: true })
    say('building its bundles')
    const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-engine.ts'], { cwd: tree, encoding: 'utf8' })
    if (built.status !== 0) throw new Error(`building ${rev}'s engine bundle failed: ${built.stderr}`)
    const runs: { base: Record<string, number>[]; head: Record<string, number>[] } = { base: [], head: [] }
    for (let round = 1; round <= o.rounds; round++) {
      for (const side of ['base', 'head'] as const) {
        say(`round ${round} of ${o.rounds}: ${side} (${o.sections.join(', ')})`)
        const cwd = side === 'base' ? tree : here
        runs[side].push({ ...measure(cwd, o.sections), ...(o.cpu ? measureCpu(cwd, o.sections) : {}) })
      }
    }
    const rows = compare(runs.base, runs.head)
    if (o.json) console.log(JSON.stringify({ base: { rev, commit: sha.out }, head, rounds: o.rounds, sections: o.sections, figures: rows }, null, 2))
    else console.log(table(rev, head, o, rows))
    return 0
  } catch (err) {
    console.error(`bench --base: ${(err as Error).message}`)
    return 1
  } finally {
    git(['worktree', 'remove', '--force', tree])
    rmSync(tree, { recursive: true, force: true })
    git(['worktree', 'prune'])
  }
}

/** One quick run of the bench in `cwd`: its figures, flattened to name → number. */
function measure(cwd: string, sections: string[]): Record<string, number> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts', '--quick', '--json', '--only', sections.join(',')], { cwd, encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`the bench in ${cwd} failed (exit ${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`)
  return flatten(JSON.parse(r.stdout))
}

/** bench/cpuProbe.ts's figures for these sections: what each costs in CPU time (user + system), beside the wall figures. */
const CPU_PROBES: Record<string, string[]> = { steps: ['steps'], durable: ['durable', 'confined', 'history'] }

/** --cpu: the CPU-time figures of `sections`, flattened as cpu.NAME → number. */
function measureCpu(cwd: string, sections: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const probe of sections.flatMap((s) => CPU_PROBES[s] ?? [])) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cpuProbe.ts', probe], { cwd, encoding: 'utf8', timeout: RUN_TIMEOUT_MS })
    if (r.status !== 0) throw new Error(`bench/cpuProbe.ts ${probe} in ${cwd} failed (exit ${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`)
    for (const [k, v] of Object.entries(JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>)) out[`cpu.${k}`] = v
  }
  return out
}

/** What describes the run rather than measures it, and ratios derived from the figures. */
const NOT_FIGURES = new Set(['machine', 'method', 'target', 'ratios'])

function flatten(value: unknown, path = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out[path] = value
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (!NOT_FIGURES.has(k)) flatten(v, path ? `${path}.${k}` : k, out)
  } else if (Array.isArray(value)) value.forEach((v, i) => flatten(v, `${path}[${i}]`, out))
  return out
}

export interface Compared {
  figure: string
  base: number
  head: number
  /** head ÷ base. */
  ratio: number
  /** (max − min) ÷ median of each side's runs. */
  spread: { base: number; head: number }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const spreadOf = (xs: number[]) => (xs.length < 2 || median(xs) === 0 ? 0 : (Math.max(...xs) - Math.min(...xs)) / Math.abs(median(xs)))

/** Every figure both sides measured, with both medians, their ratio and each side's spread. */
export function compare(base: Record<string, number>[], head: Record<string, number>[]): Compared[] {
  const names = Object.keys(head[0] ?? {}).filter((n) => base.every((r) => n in r) && head.every((r) => n in r))
  return names.map((figure) => {
    const b = base.map((r) => r[figure]!)
    const h = head.map((r) => r[figure]!)
    return { figure, base: median(b), head: median(h), ratio: median(b) === 0 ? NaN : median(h) / median(b), spread: { base: spreadOf(b), head: spreadOf(h) } }
  })
}

/** Figures of code that is the same on both sides (baselines): their ratio shows how the load differed between the sides. */
const CONTROL = /^(plainLoop|redux|instrument50|instrumentFull\.|exploration\..*\.handWritten|durable\.sqlite|http\.plain)/

const num = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toString())
const pct = (x: number) => `±${(x * 50).toFixed(0)}%`

function table(rev: string, head: string, o: { rounds: number; sections: string[]; cpu?: boolean }, rows: Compared[]): string {
  const lines = columns([['figure', `base ${rev}`, `head ${head}`, 'head ÷ base', 'spread base / head'], ...rows.map((r) => [CONTROL.test(r.figure) ? `${r.figure} (control)` : r.figure, num(r.base), num(r.head), Number.isNaN(r.ratio) ? '—' : `${r.ratio.toFixed(2)}×`, `${pct(r.spread.base)} / ${pct(r.spread.head)}`])])
  return [
    `Before and after, in one run: ${o.sections.join(', ')}, quick, ${o.rounds} runs each side, alternating base and head`,
    'medians; "spread" is half the range of a side\'s runs around its median — a ratio within it is noise',
    'a figure in /s (or a rate) is better higher; one in ms is better lower',
    '(control): a baseline whose code is the same on both sides — its ratio is how much the load differed between them',
    ...(o.cpu ? ['cpu.*: bench/cpuProbe.ts — CPU time (user + system, every thread and the confined cell process) beside wall time; "waits": voluntary context switches (times a thread blocked); both barely move with the load'] : []),
    '',
    ...lines,
  ].join('\n')
}
