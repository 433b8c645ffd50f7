// Replay: re-execute a branch's history with the code each event recorded and
// check that every event comes out exactly as logged — the same reads,
// writes, outputs and choices, and the same hash chain. Replay is verification.
import { parseGrants } from '../runtime/effects/grants.ts'
import { chainHash } from './history/hashChain.ts'
import { Executor, callOf, cannotRun, methodCall, type AppVersion } from '../runtime/executor.ts'
import { compileNotebook, formatLocation, type CompiledApp, type MethodName } from '../runtime/compile.ts'
import { ReplayAgent } from '../runtime/agent.ts'
import { encodeEvent, type EventLog } from '../runtime/log.ts'
import { canonicalJson } from '../runtime/values.ts'
import type { Notebook } from '../runtime/notebook.ts'
import type { EventRecord, SourceLocation } from '../runtime/event.ts'
import type { Transaction } from '../runtime/transaction.ts'
import { seekStore } from './seek.ts'
import { LogDamageError, type Damage } from './logErrors.ts'
import type { StoredCode } from './sqliteLog.ts'
import type { HistoryLog } from './historyLog.ts'
import type { StoreSnapshot } from '../runtime/store.ts'

/**
 * A recorded event that re-execution did not reproduce: by replay (verify:
 * where in the code, when known) or by a re-run with new code onto a branch
 * (`now`: that branch's event for it, null when it now aborts).
 */
export interface Divergence {
  seq: number
  kind: string
  method: string | null
  location: SourceLocation | null
  /** A re-run's event for it on the new branch (null: it aborts now); absent for verify. */
  now?: number | null
  /** A re-run's event that no longer commits: the new branch's last event then (it would have come next). */
  after?: number
  /** What differed, in words. */
  what: string
}

export interface VerifyResult {
  ok: boolean
  branch: string
  /** Events checked (hash chain and re-execution). */
  events: number
  failure: Divergence | null
  /** Damage in this branch's history found when the log was opened (acknowledged events missing, a damaged heads record, …). */
  damage: Damage[]
}

export interface VerifyOptions {
  from?: number
  to?: number
  /** Also re-execute every event (default true); false checks only the hash chain, code and snapshots. */
  execute?: boolean
  /** Called after each batch; a promise it returns is awaited (a host yields to other work there). */
  onProgress?: (done: number, total: number) => void | Promise<void>
  /** The time limit the history was made under (default 1000 ms); each event is re-executed with `REPLAY_MARGIN` times it. */
  timeLimitMs?: number
  /** Re-executes somewhere else (a confined process): given the first seq to re-execute. Default: a Replayer here. */
  replayer?: (from: number) => BatchChecker
}

/**
 * Replay gives every event this many times the time limit it ran under. The
 * event committed within its limit once, and re-executing it does the same
 * work on the same state, so only a slower or busier machine makes it take
 * longer — and that is not a divergence. An event that now loops forever is
 * still caught, only later.
 */
export const REPLAY_MARGIN = 10

/** Checks a branch of the log: its hash chain, its code and snapshots, and (by re-execution) every event's outcome. */
/** What re-executes a batch of events (in this process, or in a confined one: engine/cli/history.ts). */
export interface BatchChecker {
  checkAll(events: EventRecord[], bodies?: string[]): Promise<Divergence | null>
}

/** What the Replayer reads of the log: three lookups (a confined replay asks them over its link). */
export interface ReplaySource {
  event(branch: string, seq: number): EventRecord | null
  lastOfKind(branch: string, kind: string, seq: number): number | null
  getCode(codeHash: string): StoredCode | null
}

export async function verifyBranch(log: HistoryLog, branch: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const info = log.branchInfo(branch)
  if (!info) throw new Error(`there is no branch '${branch}'`)
  const from = Math.max(1, options.from ?? 1)
  const to = Math.min(info.head, options.to ?? info.head)
  const damage = log.damageOf(branch)
  const result = (failure: Divergence | null, events: number): VerifyResult => ({ ok: !failure && !damage.length, branch, events, failure, damage })

  // Code versions and snapshots are stored by hash, so a changed byte shows.
  const badCode = new Set<string>()
  for (const c of log.codeBlobs()) if (c.actual !== c.codeHash) badCode.add(c.codeHash)
  // The snapshots of this branch's history: its own, and its ancestors' up to where it forked.
  const pieces = log.segments(branch, 1, Math.max(info.head, 1))
  if (!pieces.some(([b]) => b === branch)) pieces.push([branch, 0, Infinity])
  for (const [b, , upTo] of pieces) {
    for (const s of log.snapshots(b)) {
      if (s.seq > upTo && b !== branch) continue
      if (!s.ok) return result({ seq: s.seq, kind: 'snapshot', method: null, location: null, what: `the snapshot of branch '${b}' after event ${s.seq} does not match its hash: the log was changed after it was written` }, 0)
    }
  }
  // One pass over the stored events: the hash chain (every hash covers its
  // parent's hash and the event's bytes), then re-execution in batches.
  let replayer: BatchChecker | null = null
  try {
    replayer = options.execute === false ? null : options.replayer ? options.replayer(from) : new Replayer(log, branch, from, undefined, options.timeLimitMs)
  } catch (err) {
    // Its first event, or the state it starts from, cannot be read: that is the failure.
    if (!(err instanceof LogDamageError) || !err.damage[0]) throw err
    const d = err.damage[0]
    return result({ seq: d.seq, kind: 'unreadable', method: null, location: null, what: d.message }, 0)
  }
  const total = to - from + 1
  let parent = log.hashAt(branch, 0)
  let checked = 0
  let done = 0
  let events: EventRecord[] = []
  let bodies: string[] = []
  const run = async (): Promise<Divergence | null> => {
    const failure = await replayer!.checkAll(events, bodies)
    done += events.length
    events = []
    bodies = []
    await options.onProgress?.(done, total)
    return failure
  }
  let reading = 1
  try {
    for (const raw of log.raw(branch, 1, to)) {
      reading = raw.seq + 1
      let e: EventRecord | null = null
      try {
        e = JSON.parse(raw.body) as EventRecord
      } catch {
        e = null
      }
      if (chainHash(parent, raw.body) !== raw.hash || e?.seq !== raw.seq) {
        return result({ seq: raw.seq, kind: e?.kind ?? '?', method: e?.method ?? null, location: null, what: `event ${raw.seq} of branch '${raw.branch}' does not match its hash: the log was changed after it was written` }, checked)
      }
      if (badCode.has(e.codeHash)) {
        return result({ seq: e.seq, kind: e.kind, method: e.method, location: null, what: `event ${e.seq} of branch '${raw.branch}' ran code (${e.codeHash.slice(0, 12)}…) that does not match its hash: the stored code was changed` }, checked)
      }
      parent = e.hash = raw.hash
      checked++
      if (replayer && raw.seq >= from) {
        events.push(e)
        bodies.push(raw.body)
        if (events.length === 2000) {
          const failure = await run()
          if (failure) return result(failure, checked)
        }
      }
    }
  } catch (err) {
    // An event that cannot be read is damage, named like any other; SQLite's own errors (a malformed file) too.
    if (!(err instanceof LogDamageError) && !String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_')) throw err
    const d = err instanceof LogDamageError ? err.damage[0] : undefined
    const where = d?.branch ? `branch '${d.branch}': ` : `branch '${log.ownerOf(branch, Math.min(reading, to))}': `
    const what = d ? d.message : `${where}event ${reading} cannot be read: ${(err as Error).message}`
    return result({ seq: d?.seq ?? reading, kind: 'unreadable', method: null, location: null, what }, checked)
  }
  if (replayer && events.length) {
    const failure = await run()
    if (failure) return result(failure, checked)
  }
  return result(null, checked)
}

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

/** "event 12 (step, cell #step line 4): what" — a divergence in the user's words. */
export function describeDivergence(path: string, d: Divergence): string {
  const what = d.method && d.method !== d.kind ? `${d.kind} ${d.method}` : d.kind
  return `event ${d.seq} (${what})${d.location ? ` at ${formatLocation(path, d.location)}` : ''}: ${d.what}`
}
