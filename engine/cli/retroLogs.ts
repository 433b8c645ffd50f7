// `loom replay DB --code NB --logs`: what the current code would have logged
// at every past event, one line per log line, divergences marked.
import { MAX_EVENT_LINES, type RetroEvent, type RetroLogs } from '../replay/retroLog.ts'
import { plural, type Io } from './main.ts'

/** The confined process's answer (it ran someone's code), checked for shape, every event of it, before it is printed. */
export function checkedRetro(v: unknown): RetroLogs {
  const r = v as RetroLogs
  const ok = typeof r === 'object' && r !== null && Number.isSafeInteger(r.inputs) && Number.isSafeInteger(r.lines) && Array.isArray(r.events) && Number.isSafeInteger(r.found) && r.events.every(goodEvent)
  if (!ok) throw new Error('the confined process gave a malformed answer')
  return r
}

function goodEvent(e: RetroEvent): boolean {
  return typeof e === 'object' && e !== null && Number.isSafeInteger(e.seq) && typeof e.kind === 'string' && (e.method === null || typeof e.method === 'string')
    && Array.isArray(e.lines) && e.lines.length <= MAX_EVENT_LINES && e.lines.every((l) => typeof l === 'object' && l !== null && typeof l.channel === 'string')
    && (e.diverged === undefined || typeof e.diverged === 'string') && (e.tty === undefined || typeof e.tty === 'string') && (e.more === undefined || Number.isSafeInteger(e.more))
}

export function printRetroLogs(r: RetroLogs, code: string, json: boolean, io: Io): number {
  if (json) {
    io.out(JSON.stringify(r) + '\n')
    return 0
  }
  const kept = r.events.length < r.found ? ` (the first ${r.events.length} of ${r.found} events shown; --limit N shows more)` : ''
  const diverged = r.diverged ? `; ${r.diverged} came out differently, the first at event ${r.firstDivergence} (marked; the state differs after it)` : '; every outcome is the same as recorded'
  io.err(`loom: re-enacted ${plural(r.inputs, 'recorded transaction')} of '${r.branch}' with ${code}, writing nothing: ${plural(r.lines, 'log line')}${diverged}${kept}\n`)
  const lines: string[] = []
  for (const e of r.events) {
    const at = `${String(e.seq).padStart(7)}  ${(e.method && e.method !== e.kind ? `${e.kind} ${e.method}` : e.kind).padEnd(12)}`
    for (const l of e.lines) lines.push(`${at}  ${l.channel === 'console' ? '' : `${l.channel}: `}${typeof l.message === 'string' ? l.message : JSON.stringify(l.message)}\n`)
    if (e.more) lines.push(`${at}  … ${plural(e.more, 'more line')} (the first ${MAX_EVENT_LINES} of each event are shown)\n`)
    if (e.diverged) lines.push(`${at}  ↯ diverged: ${e.diverged}\n`)
  }
  io.out(lines.join(''))
  return 0
}
