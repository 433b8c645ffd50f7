// An effect's outcome as exploration's choice (DESIGN §3a, §6): when a
// transaction waits for an effect, what the world answers is a move, one per
// possible answer — the responses a log recorded for the same request, and
// the faults that can happen to it (a timeout, a refused connection, a 5xx,
// a failed file operation). Each answer is committed as the `effect` event a
// live run would commit, so a trace replays like any history.
import type { EffectInput, EffectRequest, EffectResponse } from '../runtime/effects/request.ts'
import type { Json } from '../runtime/values.ts'
import { FAULTS, FAULT_MEANING, describeRequest, describeResponse, faultResponse, type Fault } from '../runtime/effects/faults.ts'

export { FAULTS, describeRequest, type Fault }

/** `--faults timeout,5xx` / `none` / `all` as a list, or a problem in words. */
export function parseFaults(text: string): Fault[] | string {
  const t = text.trim().toLowerCase()
  if (t === 'none') return []
  if (t === 'all' || t === '') return FAULTS.slice()
  const out: Fault[] = []
  for (const name of t.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(FAULTS as readonly string[]).includes(name)) return `--faults ${text}: "${name.slice(0, 40)}" is not a fault; give a list of ${FAULTS.map((f) => `${f} (${FAULT_MEANING[f]})`).join(', ')}, or none, or all`
    if (!out.includes(name as Fault)) out.push(name as Fault)
  }
  return out
}

/** Something waits for an effect's outcome: its request and the request's hash (the key its outcome is kept under). */
export interface WantedEffect {
  request: EffectRequest
  hash: string
}

/** One answer exploration may give an effect: a response the log recorded (at event `recorded`, or in the starting state), or a fault. */
export interface EffectOutcome {
  response: EffectResponse
  fault?: Fault
  /** The event that recorded this response; -1: the starting state held it. */
  recorded?: number
}

/** The move that gives an effect its outcome: what a trace carries, self-contained (a confined process commits it). */
export interface EffectMoveInput {
  request: EffectRequest
  hash: string
  response: EffectResponse
  fault?: Fault
  recorded?: number
}

/**
 * The answers exploration gives effects: per request hash, the distinct
 * responses a log recorded, then each fault that can happen to the request.
 * A request nothing recorded gets only faults (a made-up "ok" body would be
 * a guess the app would parse), and is remembered so the report can say so.
 */
export class EffectChoices {
  private readonly known = new Map<string, EffectOutcome[]>()
  private readonly memo = new Map<string, EffectOutcome[]>()
  /** Requests, in words, that waited with no recorded response: only faults were tried for them. */
  readonly unrecorded = new Set<string>()

  constructor(readonly faults: readonly Fault[]) {}

  /** Whether any effect was waited for (and so given its outcomes). */
  get asked(): boolean {
    return this.memo.size > 0
  }

  /** A response observed for `hash` (a recorded effect event's, or the starting state's). */
  observe(hash: string, response: EffectResponse, recorded: number): void {
    const list = this.known.get(hash) ?? []
    const text = JSON.stringify(response)
    if (!list.some((o) => JSON.stringify(o.response) === text)) list.push({ response, recorded })
    this.known.set(hash, list)
  }

  outcomes(want: WantedEffect): EffectOutcome[] {
    let out = this.memo.get(want.hash)
    if (!out) {
      const known = this.known.get(want.hash) ?? []
      if (!known.length) this.unrecorded.add(describeRequest(want.request))
      out = known.slice()
      for (const fault of this.faults) {
        const response = faultResponse(fault, want.request)
        if (response) out.push({ response, fault })
      }
      this.memo.set(want.hash, out)
    }
    return out
  }
}

/** The effect event a move commits: the answer, marked as given by exploration (no world was touched). */
export function effectEventInput(m: EffectMoveInput): Json {
  const input: EffectInput & { by: string; fault?: Fault } = { request: m.request, hash: m.hash, response: m.response, ms: 0, by: 'exploration' }
  if (m.fault) input.fault = m.fault
  return input as unknown as Json
}

/** `sys.http.get("…") → timeout (no complete answer within 30000 ms)`, `… → 200 "12" (recorded #4)`: an effect move in words. */
export function describeEffectMove(m: EffectMoveInput): string {
  const answer = describeResponse(m.response)
  const tail = m.fault ? `fault: ${m.fault} (${answer})` : `${answer} (${m.recorded !== undefined && m.recorded >= 0 ? `recorded #${m.recorded}` : 'recorded before the moment'})`
  return `${describeRequest(m.request)} → ${tail}`
}

/**
 * What exploration did not give effects, in words (explore.ts's unexplored
 * list): a success for a request nothing recorded, and the faults --faults
 * leaves out. One line per request, so the lines of parallel shards merge.
 */
export function unexploredEffects(choices: EffectChoices): string[] {
  if (!choices.asked) return []
  const out: string[] = []
  const requests = [...choices.unrecorded].sort()
  for (const what of requests.slice(0, 10)) {
    out.push(`effect responses — no response is recorded for ${what}: exploration gave it only ${choices.faults.length ? 'faults' : 'no answer (--faults none)'}, never a success (explore from a moment of a log that recorded one: --from DB --at S)`)
  }
  if (requests.length > 10) out.push('effect responses — more requests with no response recorded (the first 10 are named)')
  const left = FAULTS.filter((f) => !choices.faults.includes(f))
  if (left.length) out.push(`effect faults — ${left.join(', ')} ${left.length === 1 ? 'was' : 'were'} not tried (--faults ${choices.faults.length ? choices.faults.join(',') : 'none'}; leave it out to try every fault)`)
  return out
}
