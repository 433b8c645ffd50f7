// `loom profile DB`: where the time went — each method of each cell, its
// count, total, mean, p50, p95 and max run time across a branch's history.
import { SqliteLog } from '../replay/sqliteLog.ts'
import { label, sortRows, PROFILE_SORTS, type ProfileSort } from '../replay/profile.ts'
import { printable } from './printable.ts'
import type { Parsed } from './args.ts'
import { HistoryError } from './historyError.ts'
import { plural, type Io } from './main.ts'

export async function profileCommand(p: Parsed, io: Io): Promise<number> {
  const sort = (p.options.sort as string | undefined) ?? 'total'
  if (!(PROFILE_SORTS as readonly string[]).includes(sort)) throw new HistoryError(`--sort takes ${PROFILE_SORTS.join(', ')}; got '${sort}'`)
  const top = p.options.top as number | undefined
  if (top === 0) throw new HistoryError('--top takes a whole number ≥ 1')
  // A reader: never creates the log, never writes to it.
  const log = SqliteLog.open(p.args.db!, { create: false })
  try {
    const branch = (p.options.branch as string | undefined) ?? log.live
    if (!log.branchInfo(branch)) throw new HistoryError(`there is no branch '${branch}' in ${log.path} (loom branches ${log.path} lists them)`)
    const profile = log.profile(branch)
    const rows = sortRows(profile.rows, sort as ProfileSort).slice(0, top ?? Infinity)
    if (p.options.json) {
      io.out(JSON.stringify({ ...profile, rows, sort }) + '\n')
      return 0
    }
    io.err(`loom: branch '${profile.branch}'${profile.branch === log.live ? ' (live)' : ''}: ${plural(profile.timed, 'timed event')} of ${profile.events}, by ${sort}\n`)
    if (!profile.timed) {
      io.out(`no timings recorded on branch '${profile.branch}' (this log was written by a Loom that did not time events, or the events were imported); new events will be timed\n`)
      return 0
    }
    io.out(table(rows) + (rows.length < profile.rows.length + profile.more ? `(first ${rows.length} of ${profile.rows.length + profile.more} rows)\n` : ''))
    // Per event: the slowest of the whole branch (each row keeps its own ten slowest, so these are exact).
    const slowest = profile.rows.flatMap((r) => r.slowest.map((s) => ({ ...s, what: shown(r) }))).sort((a, b) => b.ms - a.ms || a.seq - b.seq).slice(0, 5)
    io.out(`slowest events: ${slowest.map((s) => `${s.seq} ${s.what} ${ms(s.ms)} ms`).join(', ')}\n`)
    if (profile.aborted.length) {
      io.out(`aborted attempts (of the recent ones the log keeps): ${profile.aborted.map((a) => `${shown({ ...a, cell: null })} ${a.count} × (${ms(a.total)} ms in all)`).join(', ')}\n`)
    }
    const l = profile.latency
    if (l) io.out(`http requests, arrival to answer: ${l.count}, mean ${ms(l.mean)} ms, p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, max ${ms(l.max)} (event ${l.slowest[0]!.seq})\n`)
    return 0
  } finally {
    log.db.close()
  }
}

// Methods and cells as the timings beside the log name them: whatever its file holds, shown, never let drive the terminal.
const shown = (r: Parameters<typeof label>[0]) => printable(label(r))

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3))

function table(rows: ReturnType<typeof sortRows>): string {
  const head = ['method', 'count', 'total ms', 'mean', 'p50', 'p95', 'max', 'slowest event']
  const body = rows.map((r) => [shown(r), String(r.count), ms(r.total), ms(r.mean), ms(r.p50), ms(r.p95), ms(r.max), r.slowest[0] ? String(r.slowest[0].seq) : ''])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd() + '\n'
  return line(head) + body.map(line).join('')
}
