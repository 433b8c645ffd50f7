// The durable log: one SQLite file (WAL) beside the notebook holding every
// branch's events as a hash chain, the code that ran them, snapshots and
// recent attempts. Events are written in groups: one SQLite transaction (one
// fsync) per engine batch, and nothing is acknowledged before it commits.
// This is the history module's front: it opens the file and puts together
// the concept files under history/ (schema, branches, reading, appending,
// stored values) behind HistoryLog. One concept kept whole (~440 lines, most
// of them a documented one-line forward to history/): the one class every
// reader and writer of a log holds, whose methods are HistoryLog's; split,
// its API would be pieced together from several files for no change in what
// any part does.
import Database from 'better-sqlite3'
import { existsSync } from 'node:fs'
import { takeWriterLock } from './writerLock.ts'
import { LogFormatError, LogDamageError, UnreadableLogError, type Damage } from './logErrors.ts'
import { readHeads, type HeadsRead } from './headsFile.ts'
import { headsPath } from './dbPath.ts'
import { damageAtOpen, damageOn, refusal, lostHistory } from './damage.ts'
import { tableNames, checkFormat } from './history/schema.ts'
import { initialiseEmpty, openDatabase } from './history/openDatabase.ts'
import { BranchTable, type BranchInfo } from './history/branchTable.ts'
import { abandonedBranches } from './history/unfinishedBranches.ts'
import { EventReader, type RawEvent, type WriteSet } from './history/eventReader.ts'
import { GroupCommit, type EncodedCommit, type Target } from './history/groupCommit.ts'
import { CodeTable, SnapshotTable, KeptCellsTable, type StoredCode } from './history/storedValues.ts'
import type { Written } from './chunk.ts'
import type { EventTiming } from './history/timings.ts'
import type { FailureList } from './history/failures.ts'
import { BesideLog } from './history/besideLog.ts'
import type { PendingSide } from './history/sideRecords.ts'
import type { Latency } from './history/latencies.ts'
import type { Profile } from './profile.ts'
import type { Attempt, EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { HistoryLog } from './historyLog.ts'
import type { Moment } from './seek.ts'
import { forkWithSnapshot, importBranch } from './branches.ts'
import { archiveBranch, deleteBranch, forkBranch, listBranches, renameBranch, restoreBranch, unusedName, type BranchEditsHost } from './history/branchEdits.ts'

export { FORMAT_VERSION } from './history/schema.ts'
export { MARKED_KINDS } from './history/eventReader.ts'
export { KEPT_CELLS } from './history/storedValues.ts'
export { LogFormatError, LogDamageError, type Damage, type BranchInfo, type RawEvent, type StoredCode, type EncodedCommit }

/** Default K; see the bench's seek figures for how it was chosen. */
export const SNAPSHOT_EVERY = 1000

export interface SqliteLogOptions {
  /** Create the file if it does not exist (default true). */
  create?: boolean
  /** The branch to append to (default: the live branch). */
  branch?: string
  maxAttempts?: number
  snapshotEvery?: number
  /** Write group commits in a thread of their own, so the engine runs on meanwhile (loom run does). */
  writerThread?: boolean
  /** fsync every group commit (default true): acknowledged events survive power loss, not only a crash. */
  fsync?: boolean
}

export class SqliteLog implements HistoryLog {
  readonly db: Database.Database
  /**
   * Damage found at open (each branch's newest group commit, every head
   * against the heads record). Nothing is ever cut: it is reported, and a
   * damaged branch takes no more events.
   */
  readonly damageAtOpen: Damage[]
  /** The heads record as found at open: 'missing' for a log written before it existed (or whose record was removed). */
  readonly headsAtOpen: HeadsRead['state']
  private readonly headsRead: HeadsRead
  /** K: a snapshot every K events bounds a seek to one snapshot load plus at most K write sets. */
  readonly snapshotEvery: number
  private readonly maxAttempts: number
  private readonly fsync: boolean
  private readonly table: BranchTable
  private readonly reader: EventReader
  private readonly code: CodeTable
  private readonly snapshotTable: SnapshotTable
  /** Timings, latencies and failures: kept beside the log, outside the hash chain. */
  private readonly beside: BesideLog
  /** Compiled cells, kept so that reopening the notebook does not start the compiler (derived data, not history). */
  readonly keptCells: KeptCellsTable
  /** Appends to the branch this log is open on. */
  private readonly commits: GroupCommit
  /** Lets go of the writer lock (writerThread); called once the log is closed. */
  private unlock: () => void = () => {}

  static open(path: string, options: SqliteLogOptions = {}): SqliteLog {
    const create = options.create ?? true
    if (!create && !existsSync(path)) throw new LogFormatError(`${path}: no such log (run the notebook first: loom run NB)`)
    // One writer per log (writerLock.ts): the process that will append takes the lock before anything else.
    const unlock = options.writerThread ? takeWriterLock(path) : () => {}
    try {
      const log = SqliteLog.openUnlocked(path, options, create)
      log.unlock = unlock
      return log
    } catch (err) {
      unlock()
      throw err
    }
  }

  private static openUnlocked(path: string, options: SqliteLogOptions, create: boolean): SqliteLog {
    // Read before the log: a writer records a head after its commit, so the log seen next is never behind a sound record.
    const heads = readHeads(headsPath(path))
    return openDatabase(path, create, heads, (db) => new SqliteLog(db, path, options, heads))
  }

  private constructor(db: Database.Database, readonly path: string, options: SqliteLogOptions, heads: HeadsRead) {
    this.db = db
    this.maxAttempts = options.maxAttempts ?? 1000
    this.snapshotEvery = options.snapshotEvery ?? SNAPSHOT_EVERY
    this.fsync = options.fsync !== false
    db.pragma(`synchronous = ${this.fsync ? 'FULL' : 'NORMAL'}`)
    const tables = tableNames(db)
    if (tables.length === 0) initialiseEmpty(db, path, heads, options.create ?? true)
    else if (!tables.includes('meta')) throw new UnreadableLogError(`${path} is an SQLite database but not a Loom log`)
    checkFormat(db, path, !!options.writerThread)
    this.table = new BranchTable(db, path)
    this.reader = new EventReader(db, path, this.table, (b) => this.branchInfo(b)?.head ?? 0)
    this.code = new CodeTable(db)
    this.snapshotTable = new SnapshotTable(db)
    this.keptCells = new KeptCellsTable(db, tables)
    this.beside = new BesideLog(db, this.table, (name) => this.branchInfo(name), this.maxAttempts)
    const branch = options.branch ?? this.live
    if (!this.table.row(branch)) {
      const acked = heads.state === 'ok' ? heads.heads.find((h) => h.name === branch && h.seq > 0) : undefined
      if (acked) throw lostHistory(path, heads, new UnreadableLogError(`${path}: there is no branch '${branch}'`))
      throw new LogFormatError(`${path}: there is no branch '${branch}'`)
    }
    this.headsAtOpen = heads.state
    this.headsRead = heads
    // A new log has no events to have lost: its record starts with its first commit.
    const fresh = heads.state === 'missing' && this.table.names().every((b) => this.table.stored(b)!.head === 0)
    this.damageAtOpen = fresh ? [] : damageAtOpen(this, heads, headsPath(path))
    // The thread's entry is named from here: in the bundle (scripts/build-engine.ts) it sits beside this file's output.
    const writerUrl = new URL('./logWriter.boot.js', import.meta.url)
    const writer = { path, fsync: this.fsync, writerFsync: options.writerThread ? this.fsync : null, maxAttempts: this.maxAttempts, snapshotEvery: this.snapshotEvery, writerUrl }
    this.commits = new GroupCommit(db, writer, this.target(branch))
    if (options.writerThread) this.removeAbandoned()
  }

  /**
   * Branches whose writer was killed half-way (history/unfinishedBranches.ts)
   * go, with their events; nothing of them was acknowledged. Forgotten in the
   * heads record first, as deleteBranch does.
   */
  private removeAbandoned(): void {
    for (const name of abandonedBranches(this.db, (n) => this.table.row(n) !== null)) {
      if (this.table.row(name)) {
        this.commits.heads().clear(this.table.idOf(name))
        this.table.remove(name)
      } else this.table.finish(name)
    }
  }

  /** Branch `name` as a place to append: its head as stored, the hash to continue from, and whether it takes events. */
  private target(name: string): Target {
    const row = this.table.row(name)
    if (!row) throw new Error(`there is no branch '${name}'`)
    const head = this.table.stored(name)!.head
    return {
      id: row.id, name, forkSeq: row.forkSeq, created: row.created, head,
      headHash: this.soundHashAt(name, head),
      refused: refusal(this, name, this.damageAtOpen),
      newestSnapshot: () => this.snapshotTable.newest(row.id),
    }
  }

  /** The hash to continue from, or '' when the head cannot be read (a damaged branch, which takes no events). */
  private soundHashAt(branch: string, seq: number): string {
    try {
      return this.hashAt(branch, seq)
    } catch {
      return ''
    }
  }

  // ---- appending (EventLog): history/groupCommit.ts ----------------------

  /** The branch this log appends to. */
  get branch(): string {
    return this.commits.branch
  }
  get head(): number {
    return this.commits.head
  }
  append(event: EventRecord): void {
    this.commits.append(event)
  }
  flush(): void {
    this.commits.flush()
  }
  flushAsync(): Promise<void> {
    return this.commits.flushAsync()
  }
  commitEncoded(part: EncodedCommit, untrusted = false): Promise<Written> {
    return this.commits.commitEncoded(part, untrusted)
  }
  addAttempt(attempt: Attempt): void {
    this.commits.addAttempt(attempt)
  }
  /** Failures and latencies for the next group commit (history/sideRecords.ts). */
  get side(): PendingSide {
    return this.commits.side
  }
  discardPending(): void {
    this.commits.discardPending()
  }
  offerSnapshot(seq: number, take: () => StoreSnapshot): void {
    this.commits.offerSnapshot(seq, take)
  }
  snapshotDue(): number {
    return this.commits.snapshotDue()
  }
  /** Why the branch being written takes no events (its history is damaged), with how to continue; null when sound. */
  refusal(): LogDamageError | null {
    return this.commits.refusal()
  }

  events(from = 1, limit = Infinity): EventRecord[] {
    this.flush()
    return this.eventsOf(this.branch, from, limit)
  }

  attempts(limit = this.maxAttempts): Attempt[] {
    this.flush()
    const rows = this.db.prepare('SELECT data FROM attempts WHERE branch = ? ORDER BY id DESC LIMIT ?').pluck().all(this.branch, Math.min(limit, this.maxAttempts)) as string[]
    return rows.reverse().map((r) => JSON.parse(r) as Attempt)
  }

  close(): void {
    // Closed already (a supervisor closes an ended engine's log, and may do so first when a new one asks for it).
    if (!this.db.open) return
    try {
      this.commits.flush()
      this.keptCells.write()
    } finally {
      this.commits.stop()
      this.db.close()
      this.unlock()
    }
  }

  // ---- reading any branch: history/eventReader.ts ------------------------

  /** Events of `branch` with seq in [from, from + limit), following its ancestry into parents. */
  eventsOf(branch: string, from = 1, limit = Infinity): EventRecord[] {
    return [...this.iterate(branch, from, from + limit - 1)]
  }
  iterate(branch: string, from = 1, to = Infinity): Generator<EventRecord> {
    return this.reader.iterate(branch, from, to)
  }
  raw(branch: string, from = 1, to = Infinity): Generator<RawEvent> {
    return this.reader.raw(branch, from, to)
  }
  writeSets(branch: string, from = 1, to = Infinity): Generator<WriteSet> {
    return this.reader.writeSets(branch, from, to)
  }
  event(branch: string, seq: number): EventRecord | null {
    return this.eventsOf(branch, seq, 1)[0] ?? null
  }
  hashAt(branch: string, seq: number): string {
    return this.reader.hashAt(branch, seq)
  }
  lastOfKind(branch: string, kind: string, seq: number): number | null {
    return this.reader.lastOfKind(branch, kind, seq)
  }
  newestChunk(branch: string): { first: number; last: number } | null {
    return this.reader.newestChunk(branch)
  }
  markCounts(branch: string, from: number, to: number, count: number): Record<string, number>[] {
    return this.reader.markCounts(branch, from, to, count)
  }
  ownerOf(branch: string, seq: number): string {
    return this.table.ownerOf(branch, seq)
  }
  segments(branch: string, from: number, to: number): [string, number, number][] {
    return this.table.segments(branch, from, to)
  }

  // ---- beside the log, outside the hash: history/besideLog.ts --------------

  /** How long the http events of `branch` with seq in [from, to] took from arrival to answer, following its ancestry. */
  latencies(branch: string, from = 1, to = Infinity): Generator<Latency> {
    return this.beside.latencies(branch, from, to)
  }
  /** The same, as a list: callers bound the range (a page of events). */
  latencyList(branch: string, from: number, to: number): Latency[] {
    return [...this.beside.latencies(branch, from, to)]
  }
  /** The measured events of `branch` with seq in [from, to], as a list: callers bound the range (a page of events). */
  timings(branch: string, from: number, to: number): EventTiming[] {
    return [...this.beside.timed(branch, from, to)]
  }
  /** How long each method of each cell took across the branch's whole history. */
  profile(branch: string): Profile {
    return this.beside.profile(branch)
  }
  /** The recorded failures after events `from`..`to` of `branch` (and its parents' up to the fork), the first `limit`. */
  failures(branch: string, from = 0, to = Infinity, limit = 1000): FailureList {
    return this.beside.failures(branch, from, to, limit)
  }

  // ---- damage: damage.ts --------------------------------------------------

  /** Every branch by its integer id (what the heads record keys on). */
  branchesById(): Map<number, BranchInfo> {
    return new Map(this.table.ids().map((r) => [r.id, this.branchInfo(r.name)!]))
  }

  /** The last event of `branch` the heads record says was acknowledged when the log was opened, or null when it has none. */
  acknowledgedAtOpen(branch: string): number | null {
    const b = this.table.row(branch)
    if (!b || this.headsRead.state !== 'ok') return null
    const h = this.headsRead.heads.find((x) => x.id === b.id && x.created === b.created)
    return h ? h.seq : null
  }

  /** The damage found at open that lies in `branch`'s history (see damage.ts). */
  damageOf(branch: string): Damage[] {
    return damageOn(this, branch, this.damageAtOpen)
  }

  // ---- branches: history/branchTable.ts, changed through history/branchEdits.ts

  branchInfo(name: string): BranchInfo | null {
    // The branch being written: with what is appended and not yet written (no query for its head).
    const row = this.commits && name === this.commits.branch ? this.table.row(name) : null
    if (row) return { name: row.name, parent: row.parent, forkSeq: row.forkSeq, created: row.created, head: this.commits.head }
    return this.table.stored(name)
  }

  branches(): BranchInfo[] {
    return listBranches(this.edits)
  }
  renameBranch(name: string, to: string): BranchInfo {
    return renameBranch(this.edits, name, to)
  }
  archiveBranch(name: string): BranchInfo {
    return archiveBranch(this.edits, name)
  }
  restoreBranch(name: string): BranchInfo {
    return restoreBranch(this.edits, name)
  }

  /** What branchEdits.ts changes the branch list through. */
  private get edits(): BranchEditsHost {
    // Read when used: the list is read while the log opens, before it appends anywhere.
    const log = this
    return {
      db: this.db, table: this.table, get live() { return log.live }, get branch() { return log.branch },
      branchInfo: (n) => this.branchInfo(n), flush: () => this.flush(), forgetHead: (id) => this.commits.heads().clear(id),
    }
  }

  get live(): string {
    return this.table.live
  }

  /** Makes `name` the branch the running system extends. */
  promote(name: string): void {
    if (!this.branchInfo(name)) throw new Error(`there is no branch '${name}'`)
    this.table.setLive(name)
  }

  /**
   * A new branch with no events of its own: forked from `from` (sharing its
   * history up to there, nothing copied, starting with a snapshot of that
   * moment), or a new root when `from` is null. See writeBranch.ts for a branch
   * made together with its events.
   */
  makeBranch(name: string, from: Moment | null, unfinished = false): BranchInfo {
    if (from) return forkWithSnapshot(this, name, from.branch, from.seq, unfinished)
    this.table.insert(name, null, 0, unfinished)
    return this.branchInfo(name)!
  }

  /** A branch made unfinished holds all it will (writeBranch): shown from now on, never removed as abandoned. */
  finishBranch(name: string): void {
    this.table.finish(name)
  }

  /** Another connection to this log, appending to `name`: what writeBranch gives its writer, so this one's branch stays put. */
  openBranch(name: string): SqliteLog {
    return SqliteLog.open(this.path, { create: false, branch: name, fsync: this.fsync, maxAttempts: this.maxAttempts, snapshotEvery: this.snapshotEvery })
  }

  fork(name: string, parent: string, seq: number, unfinished = false): BranchInfo {
    return forkBranch(this.edits, name, parent, seq, unfinished)
  }

  /** Imports a branch export (importBranch: written through a connection of its own, so the branch this one appends to stays put). */
  async importText(text: string, name?: string): Promise<BranchInfo> {
    return importBranch(this, { text }, name)
  }

  unusedName(base: string): string {
    return unusedName(this.edits, base)
  }
  deleteBranch(name: string): void {
    deleteBranch(this.edits, name)
  }

  /**
   * The app continues on `name`: this log appends there from now on (promote,
   * loom run --fresh). Only the app's own log moves so; a branch written
   * beside the app is written through writeBranch, on a connection of its own.
   */
  continueOn(name: string): void {
    this.flush()
    this.commits.retarget(this.target(name))
  }

  // ---- code and snapshots: history/storedValues.ts -----------------------

  putCode(code: StoredCode): void {
    this.code.put(code)
  }
  getCode(codeHash: string): StoredCode | null {
    return this.code.get(codeHash)
  }
  /** Every code version's hash as stored, and the hash of its text (they differ if a byte flipped). */
  codeBlobs(): Generator<{ codeHash: string; actual: string }> {
    return this.code.blobs()
  }

  /** A snapshot of `branch` after event `seq`, written now (a fork's first: see branches.ts). */
  putSnapshot(branch: string, seq: number, state: StoreSnapshot): void {
    this.commits.noteSnapshot(branch, seq)
    this.flush()
    this.snapshotTable.put(this.table.idOf(branch), seq, state)
  }

  /**
   * The latest snapshot of `branch` itself at or before `seq` (snapshots are
   * per branch: a fork starts with one) whose bytes match its hash. The rule
   * for the nearest one across ancestors is seek.ts nearestSnapshot.
   */
  snapshotAt(branch: string, seq: number): { seq: number; state: StoreSnapshot } | null {
    return this.snapshotTable.at(this.table.idOf(branch), seq)
  }

  snapshots(branch: string): Generator<{ seq: number; ok: boolean }> {
    return this.snapshotTable.all(this.table.idOf(branch))
  }
}
