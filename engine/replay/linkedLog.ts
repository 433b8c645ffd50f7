// The engine process's log under `loom serve` (DESIGN §9): a RemoteLog (its
// own branch's group commits, pipelined, over the link on fd 4) that also
// answers everything else the host asks of a log — any branch's history,
// snapshots, code, damage, and the branches themselves (HistoryLog) — by
// synchronous requests to the supervisor, which holds the SQLite log and
// answers only the methods logHost.ts lists, with their arguments checked.
// Logs for other branches (a rerun, a saved trace, a forked preview) are side
// handles on the same link. No SQLite here, directly or not.
import type { EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import { RemoteLog } from './remoteLog.ts'
import type { LinkClient } from './linkClient.ts'
import type { Opened } from './logProtocol.ts'
import { resumeFrom, type Moment } from './seek.ts'
import type { Resume } from '../runtime/engine.ts'
import type { HistoryLog } from './historyLog.ts'
import type { EventTiming } from './history/timings.ts'
import type { FailureList } from './history/failures.ts'
import type { Latency } from './history/latencies.ts'
import type { Profile } from './profile.ts'
import type { BranchInfo, RawEvent, StoredCode } from './sqliteLog.ts'
import type { WriteSet } from './history/eventReader.ts'
import { LogDamageError, type Damage } from './logErrors.ts'

/** The fd of the log link in serve's engine process (fd 3 carries the supervisor's messages). */
export const SERVE_LOG_FD = 4
/** Events per request when reading a long range. */
export const PAGE = 2000

export class LinkedLog extends RemoteLog implements HistoryLog {
  private readonly every: number
  private resumeTaken = false

  /**
   * Opens the session's log through the supervisor (blocks until it answers);
   * null when there is none and `create` is false. Which file, and which
   * branch, the supervisor decides.
   */
  static openLinked(create: boolean, fd = SERVE_LOG_FD): LinkedLog | null {
    const log = new LinkedLog(fd, { op: 'open', create })
    return log.opened.absent ? null : log
  }

  private constructor(fd: number, openRequest: object, side?: { link: LinkClient; opened: Opened }) {
    super(fd, openRequest, side)
    this.every = this.opened.snapshotEvery
  }

  /**
   * Where the branch stands, to continue the app: the first time as the
   * supervisor computed it at open (no round trips on the start path), after
   * that — a promote, a restart of the app — asked afresh.
   */
  takeResume(): Resume | undefined {
    if (!this.resumeTaken && this.branch === this.opened.branch && this.head === this.opened.head) {
      this.resumeTaken = true
      const r = this.opened.refused
      if (r) throw new LogDamageError(r.message, r.path, r.damage as Damage[])
      return this.opened.resume ?? undefined
    }
    return resumeFrom(this)
  }

  /**
   * Another connection to the log, on the live branch (see HostAccess.openLog)
   * or on `branch`, which must have been made through this link (writeBranch).
   */
  openSide(options: { fsync?: boolean } = {}, branch: string | null = null): LinkedLog {
    const fsync = options.fsync !== false
    this.sendCommit()
    const opened = this.link.call({ op: 'log', h: 0, method: 'openLog', args: [fsync, branch] }) as Opened
    const side = new LinkedLog(this.fd, {}, { link: this.link, opened })
    side.fsync = fsync
    return side
  }

  /** Whether this handle's commits are fsynced (side handles may not be: a rerun's). */
  private fsync = true

  openBranch(name: string): LinkedLog {
    return this.openSide({ fsync: this.fsync }, name)
  }

  get snapshotEvery(): number {
    return this.every
  }

  get live(): string {
    return this.ask('live') as string
  }

  branchInfo(name: string): BranchInfo | null {
    return this.ask('branchInfo', name) as BranchInfo | null
  }
  branches(): BranchInfo[] {
    return this.ask('branches') as BranchInfo[]
  }
  eventsOf(branch: string, from = 1, limit = Infinity): EventRecord[] {
    return [...this.iterate(branch, from, from + limit - 1)]
  }
  iterate(branch: string, from = 1, to = Infinity): Generator<EventRecord> {
    return this.paged<EventRecord>('eventsOf', branch, from, to)
  }
  writeSets(branch: string, from = 1, to = Infinity): Generator<WriteSet> {
    return this.paged<WriteSet>('writeSets', branch, from, to)
  }
  raw(branch: string, from = 1, to = Infinity): Generator<RawEvent> {
    return this.paged<RawEvent>('raw', branch, from, to)
  }
  /** A history method's answers for `from`..`to`, asked a page (PAGE events) at a time. */
  private *paged<T>(method: 'eventsOf' | 'writeSets' | 'raw', branch: string, from: number, to: number): Generator<T> {
    for (let at = from; at <= to; ) {
      const page = this.ask(method, branch, at, Math.min(PAGE, to - at + 1)) as T[]
      yield* page
      if (page.length < Math.min(PAGE, to - at + 1)) return
      at += page.length
    }
  }
  event(branch: string, seq: number): EventRecord | null {
    return this.ask('event', branch, seq) as EventRecord | null
  }
  hashAt(branch: string, seq: number): string {
    return this.ask('hashAt', branch, seq) as string
  }
  lastOfKind(branch: string, kind: string, seq: number): number | null {
    return this.ask('lastOfKind', branch, kind, seq) as number | null
  }
  ownerOf(branch: string, seq: number): string {
    return this.ask('ownerOf', branch, seq) as string
  }
  segments(branch: string, from: number, to: number): [string, number, number][] {
    return this.ask('segments', branch, from, to) as [string, number, number][]
  }
  snapshotAt(branch: string, seq: number): { seq: number; state: StoreSnapshot } | null {
    return this.ask('snapshotAt', branch, seq) as { seq: number; state: StoreSnapshot } | null
  }
  markCounts(branch: string, from: number, to: number, count: number): Record<string, number>[] {
    return this.ask('markCounts', branch, from, to, count) as Record<string, number>[]
  }
  timings(branch: string, from: number, to: number): EventTiming[] {
    return this.ask('timings', branch, from, to) as EventTiming[]
  }
  profile(branch: string): Profile {
    return this.ask('profile', branch) as Profile
  }
  latencyList(branch: string, from: number, to: number): Latency[] {
    return this.ask('latencyList', branch, from, to) as Latency[]
  }
  failures(branch: string, from = 0, to = Number.MAX_SAFE_INTEGER, limit = 1000): FailureList {
    return this.ask('failures', branch, from, Math.min(to, Number.MAX_SAFE_INTEGER), limit) as FailureList
  }
  snapshots(branch: string): { seq: number; ok: boolean }[] {
    return this.ask('snapshots', branch) as { seq: number; ok: boolean }[]
  }
  codeBlobs(): { codeHash: string; actual: string }[] {
    return this.ask('codeBlobs') as { codeHash: string; actual: string }[]
  }
  damageOf(branch: string): Damage[] {
    return this.ask('damageOf', branch) as Damage[]
  }
  refusal(): LogDamageError | null {
    const r = this.ask('refusal') as { message: string; path: string; damage: Damage[] } | null
    return r ? new LogDamageError(r.message, r.path, r.damage) : null
  }
  getCode(codeHash: string): StoredCode | null {
    return this.ask('getCode', codeHash) as StoredCode | null
  }

  // Changes go after every commit sent before them (the host answers in order).
  makeBranch(name: string, from: Moment | null, unfinished = false): BranchInfo {
    return this.ask('makeBranch', name, from?.branch ?? null, from?.seq ?? 0, unfinished) as BranchInfo
  }
  finishBranch(name: string): void {
    this.ask('finishBranch', name)
  }
  /** Checked and written by the supervisor, on a connection of its own: nothing to re-execute. */
  importText(text: string, name?: string): Promise<BranchInfo> {
    try {
      return Promise.resolve(this.ask('importText', text, name ?? null) as BranchInfo)
    } catch (err) {
      return Promise.reject(err)
    }
  }
  promote(name: string): void {
    this.ask('promote', name)
  }
  deleteBranch(name: string): void {
    this.ask('deleteBranch', name)
  }
  renameBranch(name: string, to: string): BranchInfo {
    return this.ask('renameBranch', name, to) as BranchInfo
  }
  archiveBranch(name: string): BranchInfo {
    return this.ask('archiveBranch', name) as BranchInfo
  }
  restoreBranch(name: string): BranchInfo {
    return this.ask('restoreBranch', name) as BranchInfo
  }
  continueOn(name: string): void {
    this.flush()
    const to = this.ask('continueOn', name) as { branch: string; head: number; snapshotDue: number }
    this.switched(to.branch, to.head, to.snapshotDue)
  }
  discardPending(): void {
    this.discardUnsent()
  }

  /** A request for this log's handle, after whatever was appended before it. */
  private ask(method: string, ...args: unknown[]): unknown {
    this.sendCommit()
    return this.link.call({ op: 'log', h: this.h, method, args })
  }
}
