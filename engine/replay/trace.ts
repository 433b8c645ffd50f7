// A trace found by exploration, in the user's words and as history: each
// move re-run to show what it changed, or committed as the events of a new
// branch of the log, so a counterexample can be scrubbed, replayed and
// debugged like anything that really happened.
import { ReplayAgent } from '../runtime/agent.ts'
import { methodCall, type Call } from '../runtime/executor.ts'
import type { MethodName } from '../runtime/compile.ts'
import type { EventRecord, Choice } from '../runtime/event.ts'
import type { Json } from '../runtime/values.ts'
import { writeBranch } from './writeBranch.ts'
import { Model, type ModelOptions } from './model.ts'
import type { World } from './worlds.ts'
import type { Move, Violation } from './explore.ts'
import { cut, testFailureRecord, type RecordedFailure } from './history/failures.ts'
import { TEST_AGENT } from './worldTests.ts'
import type { BranchInfo } from './sqliteLog.ts'
import type { HistoryLog } from './historyLog.ts'
import type { EventLog } from '../runtime/log.ts'
import { describeInput } from './recordedInputs.ts'
import { describeEffectMove, effectEventInput, outcomeEventInput, type ActionMoveInput, type EffectMoveInput } from './effectOutcomes.ts'
import { isOutcomeInput } from '../runtime/effects/action.ts'

/** One move past its time limit stops the call into the sandbox. */
const STOP = { overran: () => false }

export interface StateChange {
  state: string
  before: Json
  after: Json
}

export interface TraceStep extends Move {
  /** The move in the user's words: `step()`, `clock → 1500 ms`, `POST /reserve {"who":"ann"} (recorded #12)`. */
  label: string
  /** The states this move changed, with their values before and after. */
  changes: StateChange[]
  /** What it wrote to the terminal. */
  tty?: string
}

/** A move in the user's words; `start` is the clock the exploration started at. */
export function describeMove(move: Move, start: number): string {
  if (move.method === 'clock') return `clock → ${move.time! - start} ms`
  if (move.method === 'tty') return describeInput('tty', move.input ?? '', move.recorded)
  if (move.method === 'effect') return describeEffectMove(move.input as unknown as EffectMoveInput) + (move.bare ? ', recorded without effect(), which failed on it' : '')
  if (move.recorded !== undefined) return describeInput(move.method === 'gui' ? 'gui' : 'http', move.input ?? null, move.recorded)
  if (move.client) return `${describeInput('http', move.input ?? null)} (from clients())`
  return `${move.method}()`
}

/** Re-runs a trace from the model's start: what each move changed. */
export function describeTrace(model: Model, moves: readonly Move[]): { steps: TraceStep[]; end: World } {
  const steps: TraceStep[] = []
  let world = model.root
  const exec = model.exec
  const work = () => {
    while (steps.length < moves.length && !exec.batchSpent) {
      const move = moves[steps.length]!
      const label = describeMove(move, model.time)
      if (move.method === 'clock' || move.method === 'tty') {
        world = move.method === 'clock' ? model.clockMoved(world, move.time!) : model.ttyTyped(world, model.recorded.findIndex((r) => r.seq === move.recorded))
        steps.push({ ...move, label, changes: [] })
        continue
      }
      if (move.method === 'effect' && !isOutcomeInput(move.input)) {
        // The answer is in the label; the change it makes is to Loom's own state of responses.
        world = model.effectAnswered(world, move.input as unknown as EffectMoveInput)
        steps.push({ ...move, label, changes: [] })
        continue
      }
      const tx = model.run(world, move.method, new ReplayAgent(move.choices), move.input ?? null, move.bare)
      if (tx.failure) throw new Error(`the trace does not reproduce: ${label} ${tx.failure.reason}`)
      const recorded = move.recorded === undefined ? undefined : model.recorded.findIndex((r) => r.seq === move.recorded)
      const at = model.situationAfter(world, { method: move.method, input: move.input ?? null, memo: '', recorded, client: move.client }, { ttyRead: tx.ttyRead.length })
      const next = model.after(world, tx, move.method, at)
      const step: TraceStep = { ...move, label, changes: changesBetween(model, world, next) }
      if (tx.tty) step.tty = tx.tty
      steps.push(step)
      world = next
    }
  }
  // Each move under its own time limit.
  while (steps.length < moves.length) {
    if (!exec.run(work, STOP).ok) throw new Error('the trace does not reproduce: a move ran past its time limit')
  }
  return { steps, end: world }
}

/** The states whose values differ between two worlds, before and after. */
export function changesBetween(model: Model, before: World, after: World): StateChange[] {
  const out: StateChange[] = []
  const old = model.values(before)
  const now = model.values(after)
  for (const cell of model.cells) {
    if (before.keys[cell.id] === after.keys[cell.id]) continue
    out.push({ state: cell.name, before: old[cell.name]!.value, after: now[cell.name]!.value })
  }
  return out
}

/** "sys.fork → 2 of 5, then 0 of 2" — how a move's choices were answered. */
export function describeChoices(choices: readonly Choice[]): string {
  return choices.length ? choices.map((c) => `${c.value} of ${c.n}`).join(', then ') : 'no choices'
}

/** What failed after a trace's last event that no check of the branch's tests finds again: a transaction that threw (null for any other violation). */
export type TraceFailure = Omit<RecordedFailure, 'seq'>

export function traceFailure(v: Pick<Violation, 'kind' | 'test' | 'message' | 'location' | 'failing'>): TraceFailure | null {
  if (v.kind !== 'error') return null
  return { kind: 'error', name: cut(v.failing?.method ?? v.test), cell: v.location?.cell ?? null, line: v.location?.line ?? null, message: cut(v.message) }
}

/**
 * Commits a trace as branch `name` of `log`: forked from the moment the
 * exploration started at, or a new root for an exploration from the start.
 * A code event comes first when the notebook's code is not the code in force
 * there. Every event is made by running the move again with its choices.
 * Every test is checked after every event, as a debug run does; `failure`: an error the trace ends in.
 */
export async function saveTrace(text: string, options: ModelOptions, moves: readonly Move[], log: HistoryLog, name: string, failure: TraceFailure | null = null): Promise<BranchInfo> {
  if (log.branchInfo(name)) throw new Error(`${log.path} already has a branch '${name}'; choose another name`)
  const from = options.from
  // Nothing half-made stays behind (writeBranch).
  await writeBranch(log, name, from ? { branch: from.branch, seq: from.seq } : null, (branch) => commitTrace(text, options, moves, branch, name, failure))
  return log.branchInfo(name)!
}

/**
 * The events of a trace, made by running each move again with its choices and
 * committed to `log` (whose branch `branch` is open at the moment explored
 * from): a code event first when the notebook's code is not the code in force
 * there. Flushes; throws when the trace does not reproduce.
 */
export async function commitTrace(text: string, options: ModelOptions, moves: readonly Move[], log: EventLog, branch: string, failure: TraceFailure | null = null): Promise<void> {
  const model = await Model.create(text, { ...options, log, branch })
  // The branch says what failed on it, as a debug run does: every test checked after every commit and each
  // failure kept beside the log, so the window marks them and `loom log --failures` lists them (a trace to a
  // deadlock may pass a state where a test fails, found and reported earlier in the search).
  log.side?.recordFailures()
  const exec = model.exec
  const codeHash = model.app.codeHash
  const { version } = model
  const checkTests = () => {
    for (const t of version.tests) {
      const f = exec.testFailure(version, t, TEST_AGENT)
      if (f) log.side?.addFailure(testFailureRecord(f))
    }
  }
  let next = 0
  let checked = true
  if (model.codeChanged) {
    // A commit runs no cell code: it needs no time limit (its tests do, in the first run below).
    const { app } = model
    log.putCode?.({ codeHash, path: app.path, code: app.code, sources: app.sources })
    exec.commit(model.codeTransaction(), codeHash, model.declares)
    checked = false
  }
  // Exploration numbers the actions a trace makes as its own model does; these events make them with their own seqs.
  const ids = new Map<string, string>()
  const work = () => {
    if (!checked) {
      checked = true
      checkTests()
    }
    while (next < moves.length && !exec.batchSpent) {
      const move = moves[next]!
      // The clock moving on and tty input typed are no events: the transactions after them carry their time and the input they read.
      if (move.method === 'clock' || move.method === 'tty') {
        next++
        continue
      }
      const tx = exec.runCall(model.version, eventCall(model, move, ids), move.time ?? model.time, new ReplayAgent(move.choices))
      if (tx.failure) throw new Error(`the trace does not reproduce at ${describeMove(move, model.time)}: ${tx.failure.reason}`)
      move.made?.forEach((id, i) => tx.made?.[i] !== undefined && ids.set(id, tx.made[i]!))
      // Counted before it commits: a commit the time limit cuts off is finished by the executor (see `committed`).
      next++
      const event: EventRecord = exec.commit(tx, codeHash)
      if (tx.halt) exec.commitMarker('halt', codeHash, event.time)
      log.offerSnapshot?.(exec.head, () => exec.store.serialize())
      checkTests()
    }
  }
  const hooks = {
    overran: () => false,
    committed: (event: EventRecord) => {
      if (event.outputs.halt) exec.commitMarker('halt', codeHash, event.time)
    },
  }
  // Each move under its own time limit.
  while (next < moves.length) {
    if (!exec.run(work, hooks).ok) throw new Error('the trace does not reproduce: a move ran past its time limit')
  }
  // A transaction that throws is no event: the error the trace was saved for is kept after the last one
  // (a failed test was kept as it was checked).
  if (failure?.kind === 'error') log.side?.addFailure({ ...failure, seq: exec.head })
  log.flush()
}

/**
 * The call a move commits: an effect's answer is the effect event a live run commits when the world
 * answers (an action's outcome under the id this branch gave the action, run by effect(result) if the
 * app has one), marked as exploration's; any other move, its method.
 */
function eventCall(model: Model, move: Move, ids: ReadonlyMap<string, string>): Call {
  if (move.method !== 'effect') return methodCall(move.method as MethodName, move.input ?? null, move.typed ?? '')
  if (!isOutcomeInput(move.input)) return { kind: 'effect', method: null, input: effectEventInput(move.input as unknown as EffectMoveInput) }
  const m = move.input as unknown as ActionMoveInput
  return { kind: 'effect', method: model.version.methods.effect && !move.bare ? 'effect' : null, input: outcomeEventInput(m, ids.get(m.id) ?? m.id) }
}
