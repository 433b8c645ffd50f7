// Re-execution, event by event: each recorded event run again with the code
// it recorded, against the state the previous ones left, and compared with
// what was logged (replay.ts's verifyBranch drives it; a confined replay runs
// it in another process).
import { parseGrants } from '../runtime/effects/grants.ts'
import { Executor, callOf, cannotRun, methodCall, type AppVersion } from '../runtime/executor.ts'
import { compileNotebook, type CompiledApp, type MethodName } from '../runtime/compile.ts'
import { ReplayAgent } from '../runtime/agent.ts'
import { encodeEvent, type EventLog } from '../runtime/log.ts'
import { canonicalJson } from '../runtime/values.ts'
import type { Notebook } from '../runtime/notebook.ts'
import type { EventRecord, SourceLocation } from '../runtime/event.ts'
import type { Transaction } from '../runtime/transaction.ts'
import { seekStore } from './seek.ts'
import type { StoredCode } from './sqliteLog.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { Divergence, ReplaySource } from './replay.ts'
import type { HistoryLog } from './historyLog.ts'

/**
 * Replay gives every event this many times the time limit it ran under. The
 * event committed within its limit once, and re-executing it does the same
 * work on the same state, so only a slower or busier machine makes it take
 * longer — and that is not a divergence. An event that now loops forever is
 * still caught, only later.
 */
export const REPLAY_MARGIN = 10

/** A log that only counts: replay commits into it to keep the executor's seq in step. */
class CountingLog implements EventLog {
  constructor(public head: number) {}
  append(e: EventRecord): void {
    if (e.seq > this.head) this.head = e.seq
  }
  flush(): void {}
  events(): EventRecord[] {
    return []
  }
  addAttempt(): void {}
  attempts() {
    return []
  }
}

/** Re-executes events one after another, each against the state the previous ones left. */
export class Replayer {
  readonly exec: Executor
  private version: AppVersion | null = null
  private readonly apps = new Map<string, CompiledApp>()

  /**
   * `before`: the state after event from - 1, when the caller has it (a confined replay gets it from the launcher).
   * `timeLimitMs`: the limit the history was made under; each event gets `REPLAY_MARGIN` times it.
   */
  constructor(private readonly log: ReplaySource, readonly branch: string, from: number, before?: StoreSnapshot, timeLimitMs = 1000) {
    const first = log.event(branch, 1)
    const config = (first?.input ?? {}) as { env?: Record<string, string>; args?: string[] }
    this.exec = new Executor(
      { path: '<replay>', branch, seed: '', env: config.env ?? {}, args: config.args ?? [], timeLimitMs: timeLimitMs * REPLAY_MARGIN },
      new CountingLog(from - 1),
    )
    if (from > 1) {
      const state = before ?? seekStore(log as HistoryLog, { branch, seq: from - 1 }).serialize()
      this.exec.restore(state, log.event(branch, from - 1)!.time)
      this.pendingCode = log.lastOfKind(branch, 'code', from - 1)
    }
  }

  /** A replay that starts mid-history first loads the code in force there. */
  private pendingCode: number | null = null

  /** A code event records the configuration the code ran with: seed, env and args. */
  private configure(code: EventRecord): void {
    const config = (code.input ?? {}) as { seed?: string; env?: Record<string, string>; args?: string[]; effects?: unknown }
    // The grants the code ran with; replay performs nothing (the executor's performsEffects stays unset).
    const effects = config.effects === undefined ? undefined : parseGrants(config.effects)
    this.exec.configure({ seed: config.seed ?? '', env: config.env ?? {}, args: config.args ?? [], effects: typeof effects === 'string' ? undefined : effects })
  }

  /**
   * Re-executes events in order, in batches (each event under its own time
   * limit); returns the first that differs from its record, or null.
   */
  async checkAll(events: EventRecord[], bodies?: string[]): Promise<Divergence | null> {
    // Code is compiled outside the sandbox first (esbuild is asynchronous).
    if (this.pendingCode !== null) {
      const code = this.log.event(this.branch, this.pendingCode)!
      this.pendingCode = null
      if (!(await this.app(code.codeHash))) return this.differ(events[0] ?? code, null, `the log does not hold the code in force (${code.codeHash.slice(0, 12)}…)`)
      const failure = this.loadVersion(code)
      if (typeof failure === 'string') return this.differ(events[0] ?? code, null, failure)
    }
    let i = 0
    while (i < events.length) {
      let end = i
      while (end < events.length && (events[end]!.kind !== 'code' || end === i)) end++
      if (events[i]!.kind === 'code' && !(await this.app(events[i]!.codeHash))) {
        return this.differ(events[i]!, null, `the log does not hold the code it ran (${events[i]!.codeHash.slice(0, 12)}…)`)
      }
      let at = i
      let failure: Divergence | null = null
      const work = () => {
        while (at < end && !failure) {
          const e = events[at]!
          // An event already applied was committed by a check the time limit cut off (and the executor finished).
          if (e.seq > this.exec.head) failure = this.check(e, bodies?.[at])
          if (failure) return
          at++
          if (this.exec.batchSpent) return
        }
      }
      // Past the last event, what ran on was a promise callback some event's cell left behind: not an event's doing.
      const hooks = { overran: (tx: Transaction | null) => !tx && at >= end }
      while (at < end && !failure) {
        // `at` is the event being checked when the time limit cuts a batch off: only it alone is blamed.
        if (!this.exec.run(work, hooks).ok) {
          const e = events[at]!
          return this.differ(e, this.at(e), `it committed when recorded; re-executed, it ran past ${REPLAY_MARGIN} times the time limit (${this.exec.config.timeLimitMs} ms)`)
        }
      }
      if (failure) return failure
      i = end
    }
    return null
  }

  /** Re-executes one event and compares it with the record. Call inside `exec.run`. */
  private check(e: EventRecord, body?: string): Divergence | null {
    this.body = body ?? null
    if (e.kind === 'code') return this.code(e)
    if (e.kind === 'halt') return this.same(e, { reads: [], writes: [], outputs: {}, choices: [] }, null)
    if (!this.version) return this.differ(e, null, 'there is no code event before it')
    const call = callOf(e)
    const cannot = cannotRun(this.version, call)
    if (cannot) return this.differ(e, null, cannot)
    const tx = this.exec.runCall(this.version, call, e.time, new ReplayAgent(e.choices))
    return this.same(e, { reads: tx.reads, writes: tx.writes, outputs: tx.outputs(), choices: tx.choices, failure: tx.failure }, tx.failure ? this.at(e) : null)
  }

  /** Loads the code a code event names (compiled already by `app`); returns why not, in words. */
  private loadVersion(e: EventRecord): { version: AppVersion; declares: EventRecord['writes']; app: CompiledApp } | string {
    const app = this.apps.get(e.codeHash)!
    this.configure(e)
    const fn = this.exec.compile(app)
    let loaded
    try {
      loaded = this.exec.run(() => this.exec.load(app, fn), STOP)
    } catch (err) {
      return `its code does not load: ${(err as Error).message}`
    }
    if (!loaded.ok) return 'loading its code ran past the time limit'
    this.version = loaded.value.version
    return { ...loaded.value, app }
  }

  private code(e: EventRecord): Divergence | null {
    const app = this.apps.get(e.codeHash)!
    this.configure(e)
    let loaded
    try {
      loaded = this.exec.load(app, this.exec.compile(app))
    } catch (err) {
      return this.differ(e, null, `its code does not load: ${(err as Error).message}`)
    }
    const { version, declares } = loaded
    let tx: Transaction | null = null
    if (e.method === 'switch') tx = this.exec.runCall(version, methodCall('switch', e.input, ''), e.time, new ReplayAgent(e.choices))
    this.version = version
    const outcome = tx
      ? { reads: tx.reads, writes: [...declares, ...tx.writes], outputs: tx.outputs(), choices: tx.choices, failure: tx.failure }
      : { reads: [], writes: declares, outputs: {}, choices: [], failure: null }
    return this.same(e, outcome, tx?.failure ? app.methodAt.switch ?? null : null)
  }

  private async app(codeHash: string): Promise<CompiledApp | null> {
    let app = this.apps.get(codeHash)
    if (!app) {
      const stored = this.log.getCode(codeHash)
      if (!stored) return null
      app = await withLineMap(storedApp(stored))
      this.apps.set(codeHash, app)
    }
    return app
  }

  /** Compares an outcome with the record; if equal, applies the recorded event to the state. */
  /** The stored encoding of the event being checked, when the caller has it. */
  private body: string | null = null

  /**
   * Compares an outcome with the record — one string comparison of the two
   * canonical encodings, field by field only to explain a difference — and
   * if equal, applies it to the state.
   */
  private same(e: EventRecord, got: { reads: EventRecord['reads']; writes: EventRecord['writes']; outputs: EventRecord['outputs']; choices: EventRecord['choices']; failure?: { reason: string; location: SourceLocation | null } | null }, at: SourceLocation | null): Divergence | null {
    if (got.failure) return this.differ(e, got.failure.location ?? at, `it committed when recorded; re-executed, it aborts: ${got.failure.reason}`)
    const again: EventRecord = { ...e, choices: got.choices, reads: got.reads, writes: got.writes, outputs: got.outputs }
    if (encodeEvent(again) !== (this.body ?? encodeEvent(e))) {
      for (const field of ['choices', 'reads', 'writes', 'outputs'] as const) {
        const recorded = canonicalJson(e[field])
        const now = canonicalJson(again[field])
        if (recorded !== now) return this.differ(e, this.at(e), `its ${field} differ: recorded ${abbreviate(recorded)}, re-executed ${abbreviate(now)}`)
      }
      return this.differ(e, this.at(e), 'its encoding differs from the record')
    }
    // The re-executed writes equal the recorded ones and are already the sandbox's values.
    this.exec.commitEvent(again)
    return null
  }

  private at(e: EventRecord): SourceLocation | null {
    return this.version?.app.methodAt[e.method as MethodName] ?? null
  }

  private differ(e: EventRecord, location: SourceLocation | null, what: string): Divergence {
    return { seq: e.seq, kind: e.kind, method: e.method, location, what }
  }
}

/** One transaction past its time limit stops the call into the sandbox. */
const STOP = { overran: () => false }

function abbreviate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}

/**
 * Rebuilds a compiled app from stored code. The stored text runs as it is;
 * recompiling the stored cells gives back the line map for messages when
 * this esbuild produces the same text, and otherwise errors name no line.
 */
export function storedApp(stored: StoredCode): CompiledApp {
  return {
    path: stored.path,
    codeHash: stored.codeHash,
    code: stored.code,
    methods: [],
    methodAt: {},
    declaredAt: {},
    sources: stored.sources,
    locate: () => null,
  }
}

/** Recompiles stored cells for their line map; used when messages should name cells and lines. */
export async function withLineMap(app: CompiledApp): Promise<CompiledApp> {
  const nb = { path: app.path, cells: app.sources.map((c) => ({ ...c, type: 'code' })) } as unknown as Notebook
  try {
    const again = await compileNotebook(nb)
    return again.codeHash === app.codeHash ? again : app
  } catch {
    return app
  }
}
