// The engine's one pipeline for a transaction, whatever started it: run it in
// the sandbox under its time limit, commit it (a halt gets its marker), check
// the tests due (debug runs), make it durable, announce it. The step loop and
// HTTP requests run many per batch and flush and announce once; a hand edit,
// new code, a re-enactment or a preview's commit go through `runNow` and
// `commitNow`, one at a time.
import { FairAgent } from '../agent.ts'
import type { Executor, AppVersion, Call, TimeLimitHooks } from '../executor.ts'
import type { Announcer } from '../announcer.ts'
import type { Agent } from '../agent.ts'
import type { Transaction } from '../transaction.ts'
import type { Outcome } from '../sandbox.ts'
import type { MethodName } from '../compile.ts'
import type { EventRecord, SourceLocation, TestFailure, Write } from '../event.ts'
import type { EffectRequest } from '../effects/request.ts'
import { attemptFailureRecord, testFailureRecord } from '../../replay/history/failures.ts'

/** What the pipeline needs of the engine that owns it. */
export interface PipelineHost {
  readonly exec: Executor
  readonly announcer: Announcer
  readonly seedNumber: number
  version(): AppVersion
  codeHash(): string
  /** After every commit: whatever waits on what it changed runs again. */
  committed(event: EventRecord): void
  /** A transaction waits for a safe read (effects/effectRunner.ts performs it). */
  effectWanted?(wanted: { request: EffectRequest; hash: string }): void
}

/**
 * What a batch runner (the step loop, HTTP requests) needs of the pipeline:
 * commit, record an attempt, check the tests due, run the batch's work in the
 * sandbox, offer snapshots. The engine hands both the same functions.
 */
export interface BatchHost {
  readonly exec: Executor
  readonly announcer: Announcer
  version(): AppVersion
  now(): number
  commit(tx: Transaction): EventRecord
  recordAttempt(tx: Transaction): void
  checkDueTests(): void
  /** Runs a batch's work in the sandbox (see Pipeline.inBatch): each transaction under its limit, then the tests due at its end. */
  inBatch<T>(work: () => T, overran: (tx: Transaction | null) => boolean | void): Outcome<T>
  /** Offers the log a snapshot whenever one is due, mid-batch. */
  snapshotter(): () => void
  offerSnapshot(): void
}

/** 'commit' mode: the tests are checked at a batch's end at most this often (and when a run ends). */
const TEST_EVERY_MS = 50
/** 'commit' mode: tests are checked after every event while they take at most this share of the run's time. */
const TEST_BUDGET = 0.02

export class Pipeline {
  /** Debug runs: the next test to check on the state the last commit left (null: all checked). */
  private nextTest: number | null = null
  /** Attempts recorded so far. */
  attempts = 0
  readonly testFailures: TestFailure[] = []
  private readonly exec: Executor

  /** A commit since the tests were last checked ('commit' mode). */
  private testsPending = false
  /** The last event after which every test held, and whether a test failed in the check under way ('commit' mode). */
  private heldAfter: number | null = null
  /** When the tests were last checked ('commit' mode). */
  private lastCheck = -Infinity
  private checkFailed = false
  /** Time the tests took so far, and since when ('commit' mode): within budget they run after every event. */
  private testMs = 0
  private readonly since = performance.now()
  /** The check under way was scheduled after a single event (exact), not at a batch's end. */
  private perEvent = false
  /** 'commit' mode: the tests (by index) failing since they last held — a test that stays broken is reported once. */
  private readonly failing = new Set<number>()

  /**
   * `checkTests`: true, every test after every commit (debug runs, `loom
   * test`); 'commit' (`loom run`), every test after every commit while the
   * tests take at most a fiftieth of the run's time, else once per group commit,
   * on the state it leaves (a test costs a transaction, a flat-out run commits
   * hundreds of thousands of events a second, and a test may read the whole
   * state).
   */
  /** `stopOnFailure`: a test failed, and the run is to end (the step loop stops its batch). */
  stopRequested = false

  constructor(private readonly host: PipelineHost, private readonly checkTests: boolean | 'commit', private readonly stopOnFailure = false) {
    this.exec = host.exec
    if (checkTests) this.exec.log.side?.recordFailures()
  }

  /** Tests are due after a commit (debug runs). */
  get testsDue(): boolean {
    return this.nextTest !== null
  }

  /**
   * Runs one transaction outside the step loop (a hand edit, code, a re-enactment):
   * in the sandbox under its own time limit. Null when it ran past it.
   */
  runNow(call: Call, time: number, agent: Agent, version = this.host.version()): Transaction | null {
    const ran = this.inSandbox(() => this.exec.runCall(version, call, time, agent))
    return ran.ok ? ran.value : null
  }

  /**
   * The one pipeline after a transaction ran outside the step loop: commit, check the
   * tests due, make it durable, tell the listeners. (The step loop and requests do the
   * same per batch: commit each, then flush and announce once.) Committed outside the
   * sandbox: a commit runs no cell code, and nothing cuts it off.
   */
  commitNow(tx: Transaction, extraWrites?: Write[]): EventRecord {
    const event = this.commit(tx, extraWrites)
    this.inSandbox(() => this.checkBatchTests(true))
    this.flush()
    this.host.announcer.announce()
    return event
  }

  /** A check to call after each commit of a batch: it offers the log a snapshot whenever one is due (every K events). */
  snapshotter(): () => void {
    let due = this.exec.log.snapshotDue?.() ?? Infinity
    return () => {
      if (this.exec.head < due) return
      this.offerSnapshot()
      due = this.exec.log.snapshotDue!()
    }
  }

  offerSnapshot(): void {
    this.exec.log.offerSnapshot?.(this.exec.head, () => this.exec.store.serialize())
  }

  /** Makes everything committed so far durable (one group commit), and offers the log a snapshot. */
  flush(): void {
    this.exec.log.flush()
    this.offerSnapshot()
  }

  /** Commits a transaction as the next event; a halt is followed by its marker. */
  commit(tx: Transaction, extraWrites?: Write[]): EventRecord {
    const event = this.exec.commit(tx, this.host.codeHash(), extraWrites)
    this.committed(event)
    return event
  }

  /**
   * What follows every commit (also one the time limit cut off half-way and the executor
   * finished): it joins the batch to announce, a halt gets its marker, the tests are due
   * (debug runs), and the engine wakes whatever waits on what it changed.
   */
  private committed(event: EventRecord): void {
    const pending = this.host.announcer.pending.events
    pending.push(event)
    if (event.outputs.halt) pending.push(this.exec.commitMarker('halt', this.host.codeHash(), event.time))
    if (this.checkTests === true && this.host.version().tests.length) this.nextTest = 0
    else if (this.checkTests === 'commit') this.scheduleTests()
    this.host.committed(event)
  }

  /** 'commit' mode, after a commit: the tests now (within budget), or at the batch's end. */
  private scheduleTests(): void {
    if (!this.host.version().tests.length) return
    if (this.testMs <= TEST_BUDGET * (performance.now() - this.since)) {
      this.nextTest = 0
      this.perEvent = true
      this.checkFailed = false
      this.testsPending = false
    } else this.testsPending = true
  }

  /**
   * At the end of a batch ('commit' mode): every test, once, on the state the
   * batch left — at most every TEST_EVERY_MS (a test may read the whole state,
   * and a busy server commits hundreds of small batches a second), and always
   * when `now` (the run ends or pauses). Call inside `inSandbox`.
   */
  checkBatchTests(now = false): void {
    if (this.testsPending && this.host.version().tests.length && (now || performance.now() - this.lastCheck >= TEST_EVERY_MS)) {
      this.lastCheck = performance.now()
      this.testsPending = false
      this.nextTest = 0
      this.perEvent = false
      this.checkFailed = false
    }
    this.checkDueTests()
  }

  /**
   * Checks the tests due after the last commit, one transaction each (so a
   * batch cut off between them goes on with the next). Call inside `inSandbox`.
   */
  checkDueTests(): void {
    while (this.nextTest !== null) {
      const tests = this.host.version().tests
      const i = this.nextTest
      if (i >= tests.length) {
        this.nextTest = null
        if (!this.checkFailed) this.heldAfter = this.exec.head
        this.checkFailed = false
        return
      }
      const started = performance.now()
      const failure = this.exec.testFailure(this.host.version(), tests[i]!, new FairAgent(this.host.seedNumber))
      this.testMs += performance.now() - started
      this.nextTest = i + 1
      if (this.checkTests === 'commit') {
        if (!failure) this.failing.delete(i)
        else if (this.failing.has(i)) {
          this.checkFailed = true
          continue
        } else this.failing.add(i)
      }
      if (failure) {
        this.checkFailed = true
        if (this.checkTests === 'commit' && !this.perEvent) {
          failure.heldAfter = this.heldAfter ?? undefined
          failure.checkedPerCommit = true
        }
        this.testFailed(failure)
        if (this.stopOnFailure) this.stopRequested = true
      }
    }
  }

  recordAttempt(tx: Transaction): void {
    // A wait for a safe read: the runner performs it (outside the sandbox) and commits its effect event.
    if (tx.wantsEffect) this.host.effectWanted?.(tx.wantsEffect)
    this.attempts++
    const attempt = this.exec.attempt(tx)
    this.host.announcer.pending.attempts.push(attempt)
    const failure = attemptFailureRecord(attempt)
    if (failure) this.exec.log.side?.addFailure(failure)
  }

  /** A test failed: said with the batch, and kept beside the log (history/failures.ts). */
  private testFailed(failure: TestFailure): void {
    this.testFailures.push(failure)
    this.host.announcer.pending.failures.push(failure)
    this.exec.log.side?.addFailure(testFailureRecord(failure))
  }

  /**
   * Runs `work` in the sandbox, every transaction in it under its own time
   * limit (see `Executor.run`). A transaction that ran past it on its own is
   * an attempt with an error naming its cell; a test that did is a failing
   * test and the next test is checked. `overran` says what else happens
   * (true: the work goes on; the default: it stops there).
   */
  /** A batch of the step loop or of requests: its work, then (in the same call) the tests due at its end ('commit' mode). */
  inBatch<T>(work: () => T, overran: (tx: Transaction | null) => boolean | void) {
    return this.inSandbox(() => {
      const value = work()
      this.checkBatchTests()
      return value
    }, overran)
  }

  inSandbox<T>(work: () => T, overran: (tx: Transaction | null) => boolean | void = () => false) {
    const hooks: TimeLimitHooks = {
      committed: (event) => this.committed(event),
      overran: (tx) => {
        // Where it was cut off (runBatch), or else the method or test that ran.
        if (tx) tx.failure!.location ??= this.methodLocation(tx.method)
        if (tx?.kind === 'test') {
          if (this.nextTest !== null) this.nextTest++
          this.recordAttempt(tx)
          this.testFailed({ test: tx.method!, seq: this.exec.head, message: tx.failure!.reason, location: null, saw: {} })
          return true
        }
        return overran(tx)
      },
    }
    return this.exec.run(work, hooks)
  }

  private methodLocation(method: string | null): SourceLocation | null {
    const version = this.host.version()
    const test = version.tests.find((t) => t.name === method)
    return test?.at ?? version.app.methodAt[method as MethodName] ?? null
  }
}
