// The transaction loop: `start` until it commits, then `step` again and again,
// in time-limited batches that share one group commit. A step whose every
// choice aborts waits (parks) on what it read; Run, Pause and Step move the
// run-control state machine.
import { FairAgent, mix } from '../agent.ts'
import { methodCall } from '../executor.ts'
import type { Failure, Transaction } from '../transaction.ts'
import type { MethodName } from '../compile.ts'
import type { EventRecord, Read } from '../event.ts'
import type { RunOptions, RunSummary } from '../engineOptions.ts'
import { RunControl, type EngineStatus } from './runControl.ts'
import { Waiting, type Stuck } from './waiting.ts'
import type { BatchHost } from '../transaction/pipeline.ts'

/**
 * The step (or start) being tried: the ways its choices can go tried so far,
 * and what they read. It outlives a batch the time limit cut off, so the
 * attempt cut off runs again with the same choices.
 */
interface Round {
  method: MethodName
  agent: FairAgent
  tries: number
  reads: Read[]
  wakeAt: number
  input: boolean
  /** An attempt waits for a safe read the runner is performing. */
  effect: boolean
  reason: string
  /** The first attempt that threw rather than aborted. */
  threw: Failure | null
}

/** What the loop needs of the engine that owns it. */
export interface LoopHost extends BatchHost {
  readonly seedNumber: number
  /** How many alternative choice sequences a step tries before it waits. */
  readonly maxAlternatives: number
  /** A virtual clock jumps to `time` (the loop would otherwise wait for it); false with a real clock. */
  jumpClock(time: number): boolean
  /** Attempts recorded so far (for the run's summary). */
  attempts(): number
  /** A test failed and the run is to end there (loom run): the batch stops. */
  testFailed(): boolean
  flush(): void
  /** Effects are under way (actions being performed): a run until idle waits for their outcomes. */
  effectsBusy?(): boolean
}

export class StepLoop {
  /** Running, parked, idle, paused or halted: the status listeners hear. */
  readonly control = new RunControl()
  readonly waiting: Waiting
  /** Whether `start` has committed, and whether the app has halted. */
  started = false
  halted = false
  /** Steps committed so far. */
  steps = 0
  private round: Round | null = null
  private rounds = 0
  private readonly stepAgent = new FairAgent(0)

  constructor(private readonly host: LoopHost, virtualClock: boolean) {
    this.waiting = new Waiting(virtualClock)
    this.control.listen((status) => host.announcer.status(status))
  }

  get status(): EngineStatus {
    return this.control.state
  }

  /** Runs the loop until it halts, is paused, reaches `steps`, or (with `untilIdle`) has nothing to do. */
  async run(options: RunOptions = {}): Promise<RunSummary> {
    const host = this.host
    const waiting = this.waiting
    const before = { events: host.exec.head, attempts: host.attempts(), steps: this.steps }
    this.control.on('run')
    // Group commits still being made durable; the next batch runs meanwhile.
    const inflight: Promise<void>[] = []
    try {
      while (this.control.active && !this.halted) {
        const left = options.steps === undefined ? Infinity : options.steps - (this.steps - before.steps)
        if (left <= 0 && this.started) break
        if (waiting.parked || !this.hasWork()) {
          if (waiting.parked?.wakeAt && host.jumpClock(waiting.parked.wakeAt)) {
            waiting.unpark()
            continue
          }
          // A step waiting for a safe read is not idle: its response is on the way.
          if (options.untilIdle && !waiting.parked?.wakeAt && !waiting.parked?.effect && !host.effectsBusy?.()) break
          if (inflight.length) {
            // Let the last batches become durable, then look again: a wake may have come meanwhile.
            await Promise.all(inflight.splice(0))
            continue
          }
          this.control.on(waiting.parked ? 'park' : 'idle')
          await waiting.sleep()
          if (this.control.active && !this.halted) this.control.on('wake')
          continue
        }
        const durable = this.batch(Math.max(0, left), true)
        if (durable) {
          // Handled now (a failed write must not crash the process before the loop awaits it), thrown when awaited.
          durable.catch(() => {})
          inflight.push(durable)
          // A few batches in the air keep both threads busy (measured: 2 leaves each ~20% idle).
          if (inflight.length > 3) await inflight.shift()
        }
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
      await Promise.all(inflight.splice(0))
    } finally {
      await Promise.allSettled(inflight)
      // Paused is what the app is, whether or not a step waits: a paused app does not wake when
      // what it waits for comes (the wait is still in `waiting`). Without a pause (a step count,
      // or nothing to do), the loop says where it stopped.
      if (this.halted) this.control.on('halt')
      else if (this.control.active) this.control.on(waiting.parked ? 'park' : this.hasWork() ? 'pause' : 'idle')
    }
    return {
      events: host.exec.head - before.events,
      attempts: host.attempts() - before.attempts,
      steps: this.steps - before.steps,
      status: this.control.state,
    }
  }

  /** Pauses the app in any state but halted; a running loop stops after the batch in progress. */
  pause(): void {
    this.control.on('pause')
    this.waiting.wake()
  }

  /** Runs one transaction (start until it commits, then step). Returns its event, or null if it waits. */
  step(): EventRecord | null {
    const waiting = this.waiting
    if (this.halted || (!this.hasWork() && !waiting.parked)) return null
    if (waiting.parked) waiting.unpark()
    const log = this.host.exec.log
    const head = log.head
    // A round of attempts can span batches (long attempts): one step goes until it commits or waits.
    do this.batch(1)
    while (this.round && !waiting.parked && !this.halted)
    const event = log.events(head + 1, 1)[0]
    // A step is taken while the app is not running: it stays paused, whether or not its next step waits
    // (what it waits for is in `waiting`); parked means running and waiting, which only run() is.
    this.control.on(this.halted ? 'halt' : 'step')
    return event ?? null
  }

  /** After every commit: a step waiting on something it changed may now get further. */
  committed(event: EventRecord): void {
    if (event.kind === 'start') this.started = true
    if (event.kind === 'step') this.steps++
    if (event.outputs.halt) this.halted = true
    const parked = this.waiting.parked
    if (parked && !this.host.exec.store.unchanged(parked.reads)) this.waiting.unpark()
  }

  /** New code: the step being tried starts over with it, and a waiting step runs again. */
  restart(): void {
    this.round = null
    if (this.waiting.parked) this.waiting.unpark()
  }

  /** Tty input came: a step waiting for input runs again. */
  inputCame(): void {
    if (this.waiting.parked?.input) this.waiting.unpark()
  }

  private get nextMethod(): MethodName | null {
    const methods = this.host.version().methods
    if (!this.started) return methods.start ? 'start' : ((this.started = true), this.nextMethod)
    return methods.step ? 'step' : null
  }

  private hasWork(): boolean {
    return !this.halted && this.nextMethod !== null
  }

  /**
   * Runs up to `max` step transactions in one batch (each under its own time
   * limit), then tells the listeners once it is durable. Pipelined (a log
   * that can write in the background), it returns the promise of that
   * instead of waiting.
   */
  private batch(max: number, pipelined = false): Promise<void> | void {
    const host = this.host
    const steps = this.steps
    const snapshot = host.snapshotter()
    const work = () => {
      for (;;) {
        host.checkDueTests()
        if (this.halted || this.waiting.parked || host.exec.batchSpent || host.testFailed()) return
        const method = this.nextMethod
        if (!method || (this.steps - steps >= max && method === 'step')) return
        this.runMethod(method)
        // A durable log wants a snapshot every K events: it is written with the batch's events.
        snapshot()
      }
    }
    host.inBatch(work, (tx) => {
      const round = this.round
      // The attempt that overran is an attempt like any other: the round goes on with its next choices, or waits.
      if (tx && round && tx.kind === (round.method === 'start' ? 'start' : 'step')) this.failed(round, tx)
      return false
    })
    const log = host.exec.log
    if (pipelined && log.flushAsync) {
      host.offerSnapshot()
      const batch = host.announcer.take()
      return log.flushAsync().then(() => host.announcer.announce(batch))
    }
    host.flush()
    host.announcer.announce()
  }

  /**
   * Runs `method` until it commits or every way its choices could go has
   * aborted; then it waits on everything those attempts read. A round left
   * unfinished when the batch ends goes on in the next.
   */
  private runMethod(method: MethodName): boolean {
    const host = this.host
    if (this.round?.method !== method) {
      const agent = this.stepAgent.reset(mix(host.seedNumber, mix(host.exec.head, this.rounds++)))
      this.round = { method, agent, tries: 0, reads: [], wakeAt: 0, input: false, effect: false, reason: '', threw: null }
    }
    const round = this.round
    const exec = host.exec
    const version = host.version()
    const call = methodCall(method)
    while (this.round === round && !exec.batchSpent) {
      const tx = exec.runCall(version, call, host.now(), round.agent)
      if (!tx.failure) {
        this.round = null
        host.commit(tx)
        return true
      }
      this.failed(round, tx)
    }
    return false
  }

  /** An attempt of `round` did not commit: try the next way its choices can go, or wait on what the attempts read. */
  private failed(round: Round, tx: Transaction): void {
    this.host.recordAttempt(tx)
    for (const r of tx.reads) round.reads.push(r)
    if (tx.wakeAt && (!round.wakeAt || tx.wakeAt < round.wakeAt)) round.wakeAt = tx.wakeAt
    round.input ||= tx.waitsForInput
    round.effect ||= (tx.wantsEffect !== null || tx.waitsForAction) && this.host.exec.config.performsEffects === true
    round.reason ||= tx.failure!.reason
    if (!tx.failure!.aborted) round.threw ??= tx.failure
    if (++round.tries < this.host.maxAlternatives && tx.choices.length && round.agent.next(tx.choices.length)) return
    this.round = null
    // A round that spanned batches: a commit in between (a request) may have changed what it read; then it runs again.
    if (!this.host.exec.store.unchanged(round.reads)) return
    const stuck = round.threw ? { method: round.method, reason: round.threw.reason, location: round.threw.location, ...(round.threw.runaway ? { runaway: true as const } : {}) } : undefined
    this.waiting.park({ reads: round.reads, wakeAt: round.wakeAt, input: round.input, effect: round.effect, reason: stuck ? stuckReason(stuck) : round.reason, ...(stuck ? { stuck } : {}) })
  }
}


/**
 * `stuck: step() throws TypeError: … at #work line 3`: what the status says of
 * a method that throws; `runaway: step() ran past its time limit of 1000 ms at
 * #work line 7` of one the time limit cuts off, at the line it was running.
 */
export function stuckReason(s: Stuck): string {
  return `${stuckWhat(s)}${s.location ? ` at #${s.location.cell} line ${s.location.line}` : ''}`
}

/** The first half of `stuckReason`, without the place. */
export function stuckWhat(s: Stuck): string {
  return s.runaway ? `runaway: ${s.method}() ${s.reason}` : `stuck: ${s.method}() throws ${s.reason}`
}
