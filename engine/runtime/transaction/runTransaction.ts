// The one way cell code runs as a transaction, whatever started it: a step,
// an HTTP request, gui(agent), a hand edit, a code switch, a preview, replay,
// exploration or a test. `runTransaction` runs an app method by its kind;
// `runTest` checks an invariant; both go through `transact`, the only place
// that sets and clears the running transaction.
import type { Agent } from '../agent.ts'
import type { Sandbox } from '../sandbox.ts'
import type { Store } from '../store.ts'
import { Transaction } from '../transaction.ts'
import { toResponse, responseJson, type HttpRequest } from '../http.ts'
import type { CompiledApp, MethodName } from '../compile.ts'
import type { EventKind, EventRecord, SourceLocation, Write } from '../event.ts'
import type { Json } from '../values.ts'
import type { AppVersion } from '../appVersion.ts'
import type { TxContext } from './txContext.ts'
import type { CellHost } from './hostApi.ts'
import { applyEdits, type Edit } from './edits.ts'
import { effectWrites, effectInputProblem, EFFECTS_STATE, type EffectInput } from '../effects/request.ts'
import { isOutcomeInput, outcomeInputProblem, pendingAction, type OutcomeInput } from '../effects/action.ts'
import type { MapCell } from '../store.ts'

/** What a transaction runs: an app method by its event kind, with its input. */
export interface Call {
  /** start, step, http, gui, edit, or code (its `switch`, if the code has one). */
  kind: EventKind
  /** The method: the kind's own (`switch` for code), or null for code without a switch. */
  method: string | null
  /** The step's input, the request (http), `{ answers }` (gui), the changes (edit), the configuration (code). */
  input: Json
  /** Tty input the transaction may read; without it, the input typed so far and not yet read (the live app's). */
  tty?: string
  /** An edit that undoes another: the values the states it changes must hold now. */
  expect?: Record<string, unknown>
}

const START: Call = Object.freeze({ kind: 'start', method: 'start', input: null })
const STEP: Call = Object.freeze({ kind: 'step', method: 'step', input: null })

/** The call of an app method by name (start, step, http, gui, or switch for code); `tty` as in `Call`. */
export function methodCall(method: MethodName, input: Json = null, tty?: string): Call {
  // The loop's own calls (start and step, no input) are made millions of times: one shared object each.
  if (input === null && tty === undefined && (method === 'start' || method === 'step')) return method === 'start' ? START : STEP
  const call: Call = { kind: (method === 'switch' ? 'code' : method) as EventKind, method, input }
  if (tty !== undefined) call.tty = tty
  return call
}

/** A recorded event's call: the same method, input and tty input. */
export function callOf(e: EventRecord): Call {
  return { kind: e.kind, method: e.method, input: e.input, tty: (e.input as { tty?: string } | null)?.tty ?? '' }
}

/** Why `call` cannot run with `version`, in words (null: it can). */
export function cannotRun(version: AppVersion, call: Call): string | null {
  switch (call.kind) {
    case 'edit':
      return null
    case 'effect':
      return call.method === null || version.methods.effect ? null : 'the code has no effect()'
    case 'code':
      return call.method === null || version.methods.switch ? null : 'the code has no switch()'
    case 'start':
    case 'step':
    case 'http':
    case 'gui':
      return version.methods[(call.method ?? call.kind) as MethodName] ? null : `the code has no ${call.method ?? call.kind}()`
    default:
      return `${call.kind} events are not re-executed by this version of Loom`
  }
}

/** What the door needs of the executor that owns it. */
export interface Runner {
  readonly ctx: TxContext
  readonly sandbox: Sandbox
  readonly store: Store
  readonly host: CellHost
  /** A copy of host data in the sandbox's realm (see `Executor.inRealm`). */
  inRealm(value: unknown, trusted?: boolean): Json
  describe(err: unknown, app: CompiledApp): { reason: string; location: SourceLocation | null }
}

/**
 * Runs `call` as one transaction at `time`, its choices answered by `agent`.
 * Never throws for what cell code does: an abort or an exception becomes
 * `tx.failure`. Throws when the code lacks the method (see `cannotRun`).
 * Call inside `Executor.run`.
 */
export function runTransaction(runner: Runner, version: AppVersion, call: Call, time: number, agent: Agent): Transaction {
  const app = version.app
  switch (call.kind) {
    case 'http': {
      const http = version.methods.http
      if (!http) throw new Error('the app has no http()')
      // One copy, made in the sandbox's realm: the cell reads it and the event records it.
      const req = runner.inRealm(call.input as unknown as HttpRequest)
      // Reading the response runs cell code too (getters, toJSON) and may throw (a cycle): inside the transaction.
      let response: ReturnType<typeof toResponse> = ''
      const tx = transact(runner, begin(runner, 'http', 'http', req, time, agent, call), app, () => (response = toResponse(http(req))))
      if (tx.failure) {
        tx.failure.location ??= app.methodAt.http ?? null
        return tx
      }
      if (typeof response === 'string') tx.failure = { reason: response, aborted: false, location: app.methodAt.http ?? null }
      else tx.http = responseJson(response)
      return tx
    }
    case 'gui': {
      // agent.ask / agent.choose get the answers given by key; the event records every answer used.
      const gui = version.methods.gui
      if (!gui) throw new Error('the app has no gui()')
      const tx = begin(runner, 'gui', 'gui', null, time, agent, call)
      tx.answers = runner.inRealm((call.input as { answers?: Record<string, Json> } | null)?.answers ?? {}) as Record<string, Json>
      return transact(runner, tx, app, () => gui(runner.sandbox.agent))
    }
    case 'edit':
      return transact(runner, begin(runner, 'edit', 'edit', call.input, time, agent, call), app, () =>
        applyEdits(runner.host, runner.store, (v, trusted) => runner.inRealm(v, trusted), call.input as unknown as Edit[], call.expect))
    case 'effect': {
      if (isOutcomeInput(call.input)) return finishAction(runner, version, call, time, agent)
      // The world's answer to a safe read: kept by request hash; the same writes whenever it is re-executed.
      const tx = begin(runner, 'effect', null, call.input, time, agent, call)
      return transact(runner, tx, app, () => {
        const problem = effectInputProblem(call.input)
        if (problem) throw runner.sandbox.error(`an effect event that is not one: ${problem}`)
        tx.writes = runner.inRealm(effectWrites(call.input as unknown as EffectInput, time)) as unknown as Write[]
      })
    }
    default: {
      // start, step, and code: its switch, or (without one) a transaction that only declares.
      const fn = call.method === null ? undefined : version.methods[call.method as MethodName]
      if (call.method !== null && !fn) throw new Error(`the app has no ${call.method}()`)
      return transact(runner, begin(runner, call.kind, call.method, call.input, time, agent, call), app, fn ? () => fn(undefined) : () => {})
    }
  }
}

/**
 * An action's outcome: kept in `sys.effects` under its id in place of the action, only while the
 * action is pending there (so an outcome is recorded once, however often the action was performed), and
 * handed to the app's `effect(result)` in the same transaction when the call names it.
 */
function finishAction(runner: Runner, version: AppVersion, call: Call, time: number, agent: Agent): Transaction {
  const tx = begin(runner, 'effect', call.method, call.input, time, agent, call)
  const handler = call.method === 'effect' ? version.methods.effect : undefined
  return transact(runner, tx, version.app, () => {
    const problem = outcomeInputProblem(call.input)
    if (problem) throw runner.sandbox.error(`an effect event that is not one: ${problem}`)
    const input = call.input as unknown as OutcomeInput
    const effects = runner.store.get(EFFECTS_STATE) as MapCell | undefined
    if (!effects || !pendingAction(effects.get(tx, input.id))) throw runner.sandbox.error(`action ${input.id} is not pending: its outcome is recorded already, or it was never committed`)
    const outcome = runner.inRealm(input.outcome)
    effects.set(tx, input.id, runner.inRealm({ outcome: input.outcome, at: time }))
    if (handler) handler(outcome)
  })
}

/**
 * Checks an invariant against the committed state, read-only, at the last event's time. Call inside `Executor.run`.
 * `tracks` false: its reads are not recorded (no one will look at them: a test whose memo was switched off).
 */
export function runTest(runner: Runner, version: AppVersion, test: AppVersion['tests'][number], agent: Agent, tracks = true): { tx: Transaction; result: unknown } {
  let result: unknown
  const tx = begin(runner, 'test', test.name, null, runner.ctx.lastTime, agent, {})
  tx.tracks = tracks
  transact(runner, tx, version.app, () => (result = test.property()))
  return { tx, result }
}

function begin(runner: Runner, kind: EventKind | 'test', method: string | null, input: Json, time: number, agent: Agent, call: Pick<Call, 'tty'>): Transaction {
  const tx = new Transaction(kind, method, input, time, agent)
  tx.liveTty = call.tty === undefined
  tx.ttyIn = call.tty ?? runner.ctx.ttyIn
  return tx
}

/** Runs `body` as `tx`: the one place the running transaction is set and cleared. */
function transact(runner: Runner, tx: Transaction, app: CompiledApp, body: () => unknown): Transaction {
  const ctx = runner.ctx
  ctx.cur = tx
  const began = performance.now()
  // Its own time starts now: the host's work before it in the same batch (exploration's remembered outcomes,
  // keys, a pause of the machine) is not counted against its time limit (runBatch blames from lastEnd).
  ctx.lastEnd = began
  ctx.app = app
  runner.sandbox.clearRunning()
  try {
    body()
  } catch (err) {
    if (!tx.failure) tx.failure = { ...runner.describe(err, app), aborted: false }
  }
  // The transaction has ended: the next one's time starts now.
  ctx.cur = null
  ctx.lastEnd = performance.now()
  // Measured here, the one door, whatever ran it: what `loom profile` adds up.
  tx.duration = ctx.lastEnd - began
  tx.cell = tx.method === null ? null : (app.methodAt[tx.method as MethodName]?.cell ?? null)
  if (!tx.failure) tx.seal()
  return tx
}
