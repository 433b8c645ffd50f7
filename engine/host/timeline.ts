// The timeline's coarse view: how many events of each kind fall in each of N
// equal ranges of a branch's seqs. Counted in SQL over the log's marks table
// (every event but a step is marked with its kind, for resumes), so binning a
// million events reads no event: steps are what the marks leave over.
import type { SqliteLog } from '../replay/sqliteLog.ts'
import type { TimelineBin } from '../protocol/messages.ts'

/** The kinds the log marks: every kind but 'step'. */
const MARKED = ['start', 'http', 'gui', 'edit', 'code', 'halt'] as const
export const MAX_BINS = 10_000
/** Outputs are not marked: counting them reads the events, so only ranges this short have them. */
export const OUTPUT_RANGE = 20_000

/** Bins of events `from`..`to` of `branch` (ancestors' events included for a fork). */
export function timeline(log: SqliteLog, branch: string, from: number, to: number, bins: number): TimelineBin[] {
  const n = to - from + 1
  if (n <= 0) return []
  const count = Math.min(bins, n, MAX_BINS)
  // Bin i holds the seqs s with floor((s - from) * count / n) = i: the same rule as the SQL below.
  const start = (i: number) => from + Math.ceil((i * n) / count)
  const out: TimelineBin[] = []
  for (let i = 0; i < count; i++) out.push({ from: start(i), to: start(i + 1) - 1, kinds: {}, outputs: n <= OUTPUT_RANGE ? 0 : null })
  // Parameters arrive as floating point: made integers, the division is floor division, exactly as in `start`.
  const binOf = log.db.prepare(`SELECT ((seq - CAST(@from AS INTEGER)) * CAST(@count AS INTEGER)) / CAST(@n AS INTEGER) AS bin, count(*) AS events FROM marks
    WHERE branch = @id AND kind = @kind AND seq BETWEEN @a AND @z GROUP BY bin`)
  const idOf = log.db.prepare('SELECT id FROM branches WHERE name = ?').pluck()
  for (const [owner, a, z] of log.segments(branch, from, to)) {
    const id = idOf.get(owner) as number
    for (const kind of MARKED) {
      for (const row of binOf.all({ from, count, n, id, kind, a, z }) as { bin: number; events: number }[]) {
        const kinds = out[row.bin]!.kinds
        kinds[kind] = (kinds[kind] ?? 0) + row.events
      }
    }
  }
  for (const bin of out) {
    let marked = 0
    for (const k in bin.kinds) marked += bin.kinds[k]!
    const steps = bin.to - bin.from + 1 - marked
    if (steps > 0) bin.kinds.step = steps
  }
  if (n <= OUTPUT_RANGE) countOutputs(log, branch, from, to, count, n, out)
  return out
}

/** Events that printed (tty) or logged (sys.log), per bin: read from the stored encodings. */
function countOutputs(log: SqliteLog, branch: string, from: number, to: number, count: number, n: number, out: TimelineBin[]): void {
  for (const raw of log.raw(branch, from, to)) {
    // Most events have no outputs: the encoding ends with an empty object, and is not parsed.
    if (raw.body.endsWith(',"outputs":{}}')) continue
    const o = (JSON.parse(raw.body) as { outputs: { tty?: string; logs?: unknown[] } }).outputs
    if (o.tty || o.logs?.length) out[Math.floor(((raw.seq - from) * count) / n)]!.outputs!++
  }
}
