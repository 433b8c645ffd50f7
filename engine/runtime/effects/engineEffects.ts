// The engine's side of effects: the runner that performs them, the actions a
// commit made (handed over once their event is durable), the actions a
// restart finds still pending, and the effect events that record answers and
// outcomes through the engine's one pipeline.
import { EffectRunner, type Performer } from './effectRunner.ts'
import { EFFECTS_STATE, type EffectInput, type EffectRequest } from './request.ts'
import { ACTION_ID, pendingAction, type Action, type OutcomeInput } from './action.ts'
import type { PendingRead } from '../../protocol/messages.ts'
import { FairAgent } from '../agent.ts'
import { plainCopy, type Json } from '../values.ts'
import type { MapCell } from '../store.ts'
import type { EventRecord } from '../event.ts'
import type { AppVersion, Executor } from '../executor.ts'
import type { Pipeline } from '../transaction/pipeline.ts'

/** What the engine lends its effects: its log and store, its pipeline, its clock and its status. */
export interface EngineEffectsHost {
  exec: Executor
  seedNumber: number
  pipeline: () => Pipeline
  version: () => AppVersion
  now: () => number
  /** A read began or ended: the status changed. */
  changed: () => void
  /** Nothing is under way any more: a run until idle may end. */
  settled: () => void
}

export class EngineEffects {
  private readonly runner: EffectRunner
  /** Actions committed and not yet handed to the runner: they go once their event is durable. */
  private actionsDue: [string, Action][] = []

  constructor(perform: Performer, private readonly host: EngineEffectsHost) {
    this.runner = new EffectRunner(perform, (input) => this.recordEffect(input), (input) => this.recordOutcome(input), host.changed, host.settled)
  }

  /** Whether an action waits to be handed over or anything is being performed. */
  get busy(): boolean {
    return this.actionsDue.length > 0 || this.runner.busy
  }

  /** The reads under way, the oldest first. */
  get reading(): PendingRead[] {
    return this.runner.reading
  }

  /** A transaction waits for a safe read: it is performed (once per request). */
  want(w: { request: EffectRequest; hash: string }): void {
    this.runner.want(w)
  }

  /** The actions an event made: performed once it is durable (never before: an event lost would leave them done). */
  actionsMade(event: EventRecord): void {
    const due = this.actionsDue
    const before = due.length
    for (const w of event.writes) {
      if (w.state !== EFFECTS_STATE || w.op !== 'set' || !('key' in w) || !ACTION_ID.test(w.key)) continue
      const action = pendingAction(w.value)
      if (action) due.push([w.key, plainCopy(action)])
    }
    if (before === 0 && due.length > 0) setImmediate(() => this.performDue())
  }

  private performDue(): void {
    const log = this.host.exec.log
    let durable: Promise<void>
    try {
      durable = log.flushAsync ? log.flushAsync() : (log.flush(), Promise.resolve())
    } catch (err) {
      durable = Promise.reject(err)
    }
    durable.then(() => {
      for (const [id, action] of this.actionsDue.splice(0)) this.runner.act(id, action)
    }, () => {
      // Not durable (the log is gone): nothing is performed; the next run performs what the log holds.
      this.actionsDue = []
      this.host.settled()
    })
  }

  /** Actions the log holds as committed and not finished (Loom stopped between a commit and an outcome): performed again now. */
  resumeActions(): void {
    const effects = this.host.exec.store.get(EFFECTS_STATE) as MapCell | undefined
    if (!effects) return
    for (const [id, entry] of Object.entries(effects.value() as Record<string, unknown>)) {
      const action = ACTION_ID.test(id) ? pendingAction(entry) : null
      if (action) this.runner.act(id, plainCopy(action))
    }
  }

  /**
   * An action's outcome: its effect event, handled by the app's effect(result) in the same
   * transaction when it has one. A handler that aborts or throws leaves an attempt saying why,
   * and the outcome is recorded without it (sys.effects.result reads it). An outcome for an
   * action no longer pending (performed twice) is not recorded again.
   */
  private recordOutcome(input: OutcomeInput): void {
    const pipeline = this.host.pipeline()
    const agent = new FairAgent(this.host.seedNumber)
    const call = { kind: 'effect' as const, method: this.host.version().methods.effect ? 'effect' : null, input: input as unknown as Json }
    let tx = pipeline.runNow(call, this.host.now(), agent)
    if (call.method !== null && (!tx || tx.failure)) {
      if (tx) pipeline.recordAttempt(tx)
      tx = pipeline.runNow({ ...call, method: null }, this.host.now(), agent)
    }
    if (tx && !tx.failure) pipeline.commitNow(tx)
  }

  /** A safe read's response came: its effect event, committed like any transaction (it wakes what waits for it). */
  private recordEffect(input: EffectInput): void {
    const pipeline = this.host.pipeline()
    const tx = pipeline.runNow({ kind: 'effect', method: null, input: input as unknown as Json }, this.host.now(), new FairAgent(this.host.seedNumber))
    if (tx && !tx.failure) pipeline.commitNow(tx)
  }
}
