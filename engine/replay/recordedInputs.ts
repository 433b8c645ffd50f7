// What the world gave the app after a moment of its history: the requests,
// agent commits and tty input a log recorded on that branch. Exploring from
// the moment delivers each of them exactly once, interleaved with the app's
// own steps in every order (DESIGN §6): "what if these two real requests had
// arrived the other way round".
import { outcomeInputProblem, type OutcomeInput } from '../runtime/effects/action.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { Json } from '../runtime/values.ts'
import type { HistoryLog } from './historyLog.ts'

/** One input as recorded: which event carried it, and what it was. Plain data (it crosses to a confined process). */
export interface RecordedInput {
  /** The event that delivered it in the recorded history. */
  seq: number
  /** http: a request; gui: an agent commit's answers; tty: characters typed. */
  kind: 'http' | 'gui' | 'tty'
  /** The request, `{ answers }`, or the characters as a string. */
  input: Json
}

/** Inputs one exploration delivers at most: which were delivered is a bit each in the state's key. */
export const MAX_RECORDED = 40

/** A response an `effect` event recorded: exploration offers it as the answer to the same request. Plain data. */
/** An effect event after the moment: a read's response (by its request's hash) or an action's outcome (as the runner records it). */
export type RecordedEffect = { seq: number; hash: string; response: Json } | { seq: number; id: string; asked: string; outcome: Json }

export interface RecordedAfter {
  inputs: RecordedInput[]
  /** The effects' responses recorded after the moment (up to where the inputs delivered end). */
  effects: RecordedEffect[]
  /** What the log recorded after the moment that exploration does not deliver, in words. */
  left: string[]
}

/** The inputs recorded on `branch` after event `seq` (at most MAX_RECORDED; the rest are named in `left`). */
export function recordedAfter(log: HistoryLog, branch: string, seq: number, head: number): RecordedAfter {
  const inputs: RecordedInput[] = []
  const effects: RecordedEffect[] = []
  let firstLeft = 0
  let edits = 0
  // The log after the moment is read only as far as the inputs delivered: a long history is not decoded to the end.
  for (const e of log.iterate(branch, seq + 1, head)) {
    const input = inputOf(e)
    if (input && inputs.length === MAX_RECORDED) {
      firstLeft = e.seq
      break
    }
    if (e.kind === 'edit') edits++
    if (input) inputs.push(input)
    const effect = e.kind === 'effect' ? (e.input as { hash?: unknown; response?: unknown } | null) : null
    if (effect && typeof effect.hash === 'string' && effect.response !== null && typeof effect.response === 'object') effects.push({ seq: e.seq, hash: effect.hash, response: effect.response as Json })
    else if (effect && !outcomeInputProblem(effect)) {
      const o = effect as unknown as OutcomeInput
      effects.push({ seq: e.seq, id: o.id, asked: String(o.asked), outcome: o.outcome as unknown as Json })
    }
  }
  const left: string[] = []
  if (firstLeft) left.push(`the inputs recorded from event ${firstLeft} on — exploration delivers the first ${MAX_RECORDED} after the moment (choose a later --at)`)
  if (edits) left.push(`${edits} hand edit${edits === 1 ? '' : 's'} recorded after event ${seq}${firstLeft ? ` and before event ${firstLeft}` : ''} — edits are not replayed by exploration`)
  return { inputs, effects, left }
}

function inputOf(e: EventRecord): RecordedInput | null {
  if (e.kind === 'http') return { seq: e.seq, kind: 'http', input: e.input }
  if (e.kind === 'gui') return { seq: e.seq, kind: 'gui', input: e.input }
  const tty = (e.input as { tty?: unknown } | null)?.tty
  if (typeof tty === 'string' && tty) return { seq: e.seq, kind: 'tty', input: tty }
  return null
}

/** `POST /reserve {"who":"ann"} (recorded #12)`, `tty "y\n" (recorded #7)`: an input the user's way. */
export function describeInput(kind: 'http' | 'gui' | 'tty', input: Json, seq?: number): string {
  const tail = seq === undefined ? '' : ` (recorded #${seq})`
  if (kind === 'tty') return `tty ${short(JSON.stringify(input))}${tail}`
  if (kind === 'gui') return `gui(agent) ${short(JSON.stringify((input as { answers?: Json } | null)?.answers ?? {}))}${tail}`
  const r = (input ?? {}) as { method?: unknown; path?: unknown; body?: unknown; query?: Record<string, unknown> }
  const query = r.query && typeof r.query === 'object' ? Object.entries(r.query).map(([k, v]) => `${k}=${String(v)}`).join('&') : ''
  const body = typeof r.body === 'string' && r.body ? ` ${short(r.body)}` : ''
  return `${String(r.method ?? '?')} ${String(r.path ?? '?')}${query ? '?' + query : ''}${body}${tail}`
}

function short(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '…' : s
}
