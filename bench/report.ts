// Turns the measured figures into the readable table or the JSON object
// that `npm run bench` prints.
import { cpus } from 'node:os'

export const TARGET = 200_000

export interface Figures {
  sizes: number[]
  headline: number
  baselineOps: { plainLoop: number; redux: number }
  reps: number
  fullHistoryReps: number
  source: string
  /** Committed Loom steps per second, by number of steps. */
  loom: Record<string, number>
  plainLoop: number
  redux: number
  instrument50: number
  /** Full-history recorder actions per second, by number of actions. */
  instrumentFull: Record<string, number>
  /** Loom steps per second when every transaction pays its own time-limited call (what the batch watchdog avoids). */
  loomPerCall: number
  perCallOps: number
}

function ratios(f: Figures) {
  const top = f.loom[f.headline]!
  const full: Record<string, number> = {}
  for (const size of f.sizes) full[size] = f.loom[size]! / f.instrumentFull[size]!
  return { plainLoop: top / f.plainLoop, redux: top / f.redux, instrument50: top / f.instrument50, instrumentFull: full }
}

/** Whole operations per second, and ratios to four significant digits, for the JSON output. */
function rounded(value: unknown, isRatio: boolean): unknown {
  if (typeof value === 'number') return isRatio ? Number(value.toPrecision(4)) : Math.round(value)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v, isRatio)]))
  }
  return value
}

function beatsFullHistory(f: Figures): boolean {
  return f.sizes.every((size) => f.loom[size]! > f.instrumentFull[size]!)
}

export function toJson(f: Figures): object {
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` }
  return {
    machine,
    method: {
      statistic: 'best',
      reps: f.reps,
      fullHistoryReps: f.fullHistoryReps,
      freshInstancePerRun: true,
      sample: f.source,
      headlineSteps: f.headline,
      baselineOps: f.baselineOps,
    },
    loom: rounded(f.loom, false),
    plainLoop: Math.round(f.plainLoop),
    redux: Math.round(f.redux),
    instrument50: Math.round(f.instrument50),
    instrumentFull: rounded(f.instrumentFull, false),
    loomOneLimitedCallPerStep: Math.round(f.loomPerCall),
    ratios: rounded(ratios(f), true),
    target: { stepsPerSecond: TARGET, measured: Math.round(f.loom[f.headline]!), met: f.loom[f.headline]! >= TARGET },
    beatsFullHistoryAtEverySize: beatsFullHistory(f),
  }
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US')
export function times(r: number): string {
  return r >= 10 ? `${r.toFixed(0)}×` : r >= 1 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`
}

/** Rows as aligned text lines: the first column left-aligned, the others right-aligned. */
export function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   '))
}

export function toTable(f: Figures): string {
  const r = ratios(f)
  const top = f.loom[f.headline]!
  const rows: string[][] = [['scenario', 'ops', 'ops/s', 'Loom ÷ it']]
  rows.push(['plain JS loop (the limit)', int(f.baselineOps.plainLoop), int(f.plainLoop), times(r.plainLoop)])
  rows.push(['redux, no recorder', int(f.baselineOps.redux), int(f.redux), times(r.redux)])
  rows.push(['redux + instrument, maxAge 50', int(f.baselineOps.redux), int(f.instrument50), times(r.instrument50)])
  for (const size of f.sizes) {
    rows.push(['redux + instrument, full history', int(size), int(f.instrumentFull[size]!), times(r.instrumentFull[size]!)])
  }
  for (const size of [...f.sizes, f.headline]) rows.push(['loom, committed steps', int(size), int(f.loom[size]!), ''])
  rows.push(['loom, one time-limited call per step', int(f.perCallOps), int(f.loomPerCall), times(top / f.loomPerCall)])
  const cpu = cpus()
  const full = f.sizes.map((size) => `${int(size)}: ${times(r.instrumentFull[size]!)}`).join(', ')
  return [
    `Loom bench: counter sample (${f.source}), in-memory log, 1000 ms time limit enforced`,
    `${cpu.length} × ${cpu[0]?.model ?? 'unknown cpu'}, node ${process.version}; best of up to ${f.reps} runs (${f.fullHistoryReps} for full history) within a time budget, fresh instance per run`,
    `"Loom ÷ it" compares Loom at ${int(f.headline)} steps, except full history, which compares Loom at the same size`,
    '',
    ...columns(rows),
    '',
    `target ${int(TARGET)} steps/s at ${int(f.headline)} steps: ${top >= TARGET ? 'met' : 'NOT met'} (${int(top)} steps/s)`,
    `beats the full-history recorder at every size: ${beatsFullHistory(f) ? 'yes' : 'NO'} (${full})`,
    `the time limit is enforced per batch of transactions (one time-limited call per ~10 ms), not per transaction: ${times(top / f.loomPerCall)} faster`,
  ].join('\n')
}
