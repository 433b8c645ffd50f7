// An effect's outcome as exploration's choice (DESIGN §3a, §6): when a
// transaction waits for a read, or an action is pending, what the world
// answers is a move, one per possible answer — the responses (or outcomes) a
// log recorded for it, and the faults that can happen to it (a timeout, a
// refused connection, a 5xx, a failed file operation, an action performed
// whose answer was lost). Each answer is committed as the `effect` event a
// live run would commit, so a trace replays like any history.
import type { EffectInput, EffectRequest, EffectResponse } from '../runtime/effects/request.ts'
import type { Json } from '../runtime/values.ts'
import { FAULTS, FAULT_MEANING, describeRequest, describeResponse, faultOutcome, faultResponse, type Fault } from '../runtime/effects/faults.ts'
import { askedOf, isOutcomeInput, outcomeOf, type Action, type Outcome, type OutcomeInput } from '../runtime/effects/action.ts'

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

/** One outcome exploration may give a pending action: a recorded one (at event `recorded`), a plain success, or a fault. */
export interface ActionOutcome {
  outcome: Outcome
  fault?: Fault
  recorded?: number
}

/** The move that gives a pending action its outcome: the outcome event's input (a trace carries it), and where a recorded one came from. */
export type ActionMoveInput = OutcomeInput & { recorded?: number }

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
  /** Outcomes a log recorded, by the action's id and by what it asked (`POST http://…`): the same fields the runner records. */
  private readonly knownOutcomes = new Map<string, ActionOutcome[]>()
  private readonly actionMemo = new Map<string, ActionOutcome[]>()
  /** Requests, in words, that waited with no recorded response: only faults were tried for them. */
  readonly unrecorded = new Set<string>()

  constructor(readonly faults: readonly Fault[]) {}

  /** Whether any effect was waited for, or any action pending (and so given its outcomes). */
  get asked(): boolean {
    return this.memo.size > 0 || this.actionMemo.size > 0
  }

  /** An outcome a log recorded at event `recorded` for action `id`, which asked `asked`. */
  observeOutcome(id: string, asked: string, outcome: Outcome, recorded: number): void {
    for (const key of [`id ${id}`, `asked ${asked}`]) {
      const list = this.knownOutcomes.get(key) ?? []
      const { id: _, ...rest } = outcome
      const text = JSON.stringify(rest)
      if (list.length < 8 && !list.some((o) => JSON.stringify({ ...o.outcome, id: undefined }) === text)) list.push({ outcome, recorded })
      this.knownOutcomes.set(key, list)
    }
  }

  /**
   * The outcomes pending action `id` may get: what a log recorded for it (by its id, else for the
   * same kind of request to the same place), with a plain success when none of those succeeded;
   * then each fault that can happen to it.
   */
  actionOutcomes(id: string, action: Action, hash: string): ActionOutcome[] {
    const key = `${id} ${hash}`
    let out = this.actionMemo.get(key)
    if (!out) {
      const asked = askedOf(action.request)
      const recorded = this.knownOutcomes.get(`id ${id}`) ?? this.knownOutcomes.get(`asked ${asked}`) ?? []
      out = recorded.map((o) => ({ outcome: { ...o.outcome, id }, recorded: o.recorded }))
      if (!out.some((o) => o.outcome.ok)) {
        const r = action.request
        out.unshift({ outcome: outcomeOf(id, r.kind === 'fs.write' ? { written: Buffer.byteLength(r.data) } : { status: 200, headers: {}, body: '' }, 1) })
      }
      for (const fault of this.faults) {
        const outcome = faultOutcome(fault, id, action)
        if (outcome) out.push({ outcome, fault })
      }
      this.actionMemo.set(key, out)
    }
    return out
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

/** The effect event a move that gives an action its outcome commits: the outcome event's input, marked as exploration's. */
export function outcomeEventInput(m: ActionMoveInput, id: string): Json {
  const input: Record<string, unknown> = { id, asked: m.asked, outcome: { ...m.outcome, id }, ms: 0, by: 'exploration' }
  if (m.outcome.fault) input.fault = m.outcome.fault
  return input as unknown as Json
}

/**
 * `sys.http.get("…") → fault: timeout (no complete answer within 30000 ms)`, `… → 200 "12" (recorded #4)`,
 * `outcome of POST http://…/charge (action 1.0) → fault: lost (…)`: an effect move in words.
 */
export function describeEffectMove(m: EffectMoveInput | ActionMoveInput): string {
  if (isOutcomeInput(m)) {
    const a = m as ActionMoveInput
    const fault = a.outcome.fault as Fault | undefined
    const answer = describeResponse(a.outcome as unknown as EffectResponse)
    const how = fault === 'lost' ? `it was performed, then ${answer}` : answer
    const tail = fault ? `fault: ${fault} (${how})` : `${answer} (${a.recorded !== undefined ? `recorded #${a.recorded}` : 'a plain success'})`
    return `outcome of ${a.asked} (action ${a.id}) → ${tail}`
  }
  const r = m as EffectMoveInput
  const answer = describeResponse(r.response)
  const tail = r.fault ? `fault: ${r.fault} (${answer})` : `${answer} (${r.recorded !== undefined && r.recorded >= 0 ? `recorded #${r.recorded}` : 'recorded before the moment'})`
  return `${describeRequest(r.request)} → ${tail}`
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
