// How loom log, loom diff and loom log --failures say what the log holds: an
// event, a change between two moments, a recorded failure, one line each.
import { effectLine } from '../protocol/effectLine.ts'
import { requestLine } from '../protocol/eventBin.ts'
import type { Change } from '../replay/seek.ts'
import type { SqliteLog } from '../replay/sqliteLog.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { BranchFailure, RecordedFailure } from '../replay/history/failures.ts'
import type { Io } from './main.ts'
import { printable } from './printable.ts'

/** One change between two moments, as a line (a map's keys each on a line of their own). */
export function describeChange(c: Change): string {
  const v = (x: unknown) => JSON.stringify(x)
  if (c.change === 'added') return `+ ${c.state} (${c.kind}) = ${v(c.after)}\n`
  if (c.change === 'removed') return `- ${c.state} (${c.kind}), was ${v(c.before)}\n`
  if (c.keys) return c.keys.map((k) => `~ ${c.state}.${k.key}: ${v(k.before)} → ${v(k.after)}\n`).join('')
  return `~ ${c.state}: ${v(c.before)} → ${v(c.after)}\n`
}

/** The recorded failures after events from..to, by seq; says on stderr what the log cannot tell (events written before failures were kept). */
export function failuresOf(log: SqliteLog, branch: string, from: number, to: number, io: Io): Map<number, BranchFailure[]> {
  const list = log.failures(branch, from, to, MAX_LISTED_FAILURES)
  if (list.notRecordedUntil >= from) io.err(`loom: failures not recorded for events up to ${list.notRecordedUntil} (a Loom before this version wrote them; loom test or loom replay --verify checks them)\n`)
  const by = new Map<number, BranchFailure[]>()
  for (const f of list.failures) by.set(f.seq, [...(by.get(f.seq) ?? []), f])
  return by
}

/** The most failures `loom log` lists (a test that stays broken fails after every event). */
const MAX_LISTED_FAILURES = 10_000

export function listFailures(log: SqliteLog, branch: string, from: number | undefined, limit: number | undefined, json: boolean, io: Io): number {
  const list = log.failures(branch, from ?? 0, Number.MAX_SAFE_INTEGER, Math.min(limit ?? MAX_LISTED_FAILURES, MAX_LISTED_FAILURES))
  // Kept beside the log, outside its hash chain: what the live run found, not something the chain proves.
  if (json) {
    io.out(JSON.stringify({ ...list, verified: false }) + '\n')
    return 0
  }
  io.err(`loom: branch '${list.branch}': failures as recorded when the events ran (beside the log, not verified by its hashes; loom replay --verify re-checks the events)\n`)
  if (list.notRecordedUntil) io.err(`loom: failures not recorded for events up to ${list.notRecordedUntil} (a Loom before this version wrote them)\n`)
  io.out(list.failures.map((f) => String(f.seq).padStart(6) + describeFailure(f).slice(6)).join('') || `(no failures recorded on branch '${list.branch}')\n`)
  if (list.more) io.err(`loom: the first ${list.failures.length} listed; --from S lists those after event S\n`)
  return 0
}

/** One recorded failure, as a line under its event. */
export function describeFailure(f: RecordedFailure): string {
  // Rows beside the log are whatever its file holds: shown, never let drive the terminal.
  const where = f.cell ? ` (#${printable(f.cell)}${f.line !== null ? ` line ${f.line}` : ''})` : ''
  const what = f.kind === 'test' ? `test '${printable(f.name)}' failed` : `${printable(f.name)} threw`
  const message = f.message.length > 200 ? f.message.slice(0, 200) + '…' : f.message
  return `${' '.repeat(6)}  ✗ ${what}${where}: ${printable(message.replace(/\s+/g, ' '))}\n`
}

/** One line per event: seq, kind, method, what it changed, what it printed. */
export function describeEvent(e: EventRecord): string {
  const changed = [...new Set(e.writes.map((w) => w.state))]
  const parts = [
    String(e.seq).padStart(6),
    new Date(e.time).toISOString(),
    (e.method && e.method !== e.kind ? `${e.kind} ${e.method}` : e.kind).padEnd(11),
    changed.length ? `wrote ${changed.join(', ')}` : 'no writes',
  ]
  if (e.choices.length) parts.push(`choices ${e.choices.map((c) => `${c.value}/${c.n}`).join(' ')}`)
  if (e.outputs.tty) parts.push(`tty ${JSON.stringify(e.outputs.tty.length > 40 ? e.outputs.tty.slice(0, 40) + '…' : e.outputs.tty)}`)
  if (e.outputs.logs) parts.push(`${e.outputs.logs.length} log line${e.outputs.logs.length === 1 ? '' : 's'}`)
  if (e.kind === 'http') parts.push(requestLine(e))
  if (e.kind === 'effect') parts.push(printable(effectLine(e.input)))
  return parts.join('  ') + '\n'
}
