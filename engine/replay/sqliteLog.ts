// The durable log: one SQLite file (WAL) beside the notebook holding every
// branch's events as a hash chain, the code that ran them, snapshots and
// recent attempts. Events are written in groups: one SQLite transaction (one
// fsync) per engine batch, and nothing is acknowledged before it commits.
import Database from 'better-sqlite3'
import { hash as digest } from 'node:crypto'
import { existsSync } from 'node:fs'
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import { GENESIS_HASH } from '../runtime/log.ts'
import { writeChunk, expandBody, encodeEvents, ConflictError, type Chunk, type Written } from './chunk.ts'
import { takeWriterLock } from './writerLock.ts'
import { LogFormatError, LogDamageError, UnreadableLogError, type Damage } from './logErrors.ts'
import { readHeads, HeadsWriter, type HeadsRead } from './headsFile.ts'
import { headsPath } from './dbPath.ts'
import { damageAtOpen, damageOn, refusal, lostHistory } from './damage.ts'
import type { Ack } from './logWriter.ts'
import type { Attempt, EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { KeptCells } from '../runtime/compile.ts'
import type { HistoryLog } from './historyLog.ts'
import { forkWithSnapshot, importBranch } from './branches.ts'
import { branchNames, checkBranchName, forgetName, setArchived, setLabel, storedNameOf } from './branchNames.ts'

/** The log format this version writes; it reads this one and refuses newer ones. */
export const FORMAT_VERSION = 1
const FORMAT = 'loom-log'
/** Default K; see the bench's seek figures for how it was chosen. */
export const SNAPSHOT_EVERY = 1000
/** Compiled cells kept (the newest): enough for every cell of a notebook and the versions of a long live-coding session. */
export const KEPT_CELLS = 1000
/** The kinds the marks table holds: every kind but 'step'. */
export const MARKED_KINDS = ['start', 'http', 'gui', 'edit', 'code', 'halt'] as const

export { LogFormatError, LogDamageError, type Damage }

export interface BranchInfo {
  name: string
  parent: string | null
  /** The seq of the parent's event this branch starts after (0 for a root branch). */
  forkSeq: number
  head: number
  created: number
  /** What people call it, when renamed (the stored name stays in the hash chain; see branchNames.ts). */
  label?: string
  /** Deleted by a person: hidden from the lists, kept in the log, restorable. */
  archived?: true
}

export interface StoredCode {
  codeHash: string
  path: string
  code: string
  sources: { id: string; line: number; source: string }[]
}

/** An event as stored: its canonical encoding and hash, for verification without decoding. */
export interface RawEvent {
  branch: string
  seq: number
  body: string
  hash: string
}

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

/** Events already in their canonical encoding (see Chunk), with the snapshots and attempts that go with them. */
export interface EncodedCommit {
  first: number
  count: number
  texts: string
  cuts: Chunk['cuts']
  kinds: string[]
  code: string
  snapshots: [seq: number, data: string][]
  attempts: string[]
}

export class SqliteLog implements HistoryLog {
  readonly db: Database.Database
  branch: string
  private branchId = 0
  /**
   * Damage found at open (each branch's newest group commit, every head
   * against the heads record). Nothing is ever cut: it is reported, and a
   * damaged branch takes no more events.
   */
  readonly damageAtOpen: Damage[]
  /** The heads record as found at open: 'missing' for a log written before it existed (or whose record was removed). */
  readonly headsAtOpen: HeadsRead['state']
  private readonly headsRead: HeadsRead
  /** Set when the branch being written is damaged: every append is refused with it. */
  private refused: LogDamageError | null = null
  /** Writes the heads record after each group commit this thread makes (opened at the first). */
  private headsWriter: HeadsWriter | null = null
  private pending: EventRecord[] = []
  private pendingAttempts: Attempt[] = []
  private pendingSnapshots: [seq: number, data: string, hash: string][] = []
  /** The last seq handed to be written, the last one known durable, and its hash. */
  private sentSeq!: number
  private ackedSeq = 0
  private headHash: string
  private writer: { worker: Worker; port: MessagePort; signal: Int32Array; posted: number; waiting: { events: EventRecord[]; resolve: () => void; reject: (err: Error) => void; promise: Promise<void>; encoded?: { last: number; written: (w: Written) => void } }[] } | null = null
  private failed: LogFormatError | null = null
  /** With a writer thread: whether it fsyncs (null: no writer thread). */
  private readonly writerFsync: boolean | null
  private readonly maxAttempts: number
  private readonly fsync: boolean
  private readonly stmt: ReturnType<SqliteLog['prepare']>
  private readonly lastSnapshot = new Map<string, number>()
  /** Lets go of the writer lock (writerThread); called once the log is closed. */
  private unlock: () => void = () => {}
  /** K: a snapshot every K events bounds a seek to one snapshot load plus at most K write sets. */
  readonly snapshotEvery: number

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
    let db: Database.Database
    try {
      db = new Database(path, { fileMustExist: !create })
      // Chunks are large rows: big pages cut the write work (measured: 290k → 380k events/s). Only a new file takes it.
      db.pragma('page_size = 65536')
      db.pragma('journal_mode = WAL')
    } catch (err) {
      throw lostHistory(path, heads, new UnreadableLogError(`${path} is not a Loom log: ${(err as Error).message}`))
    }
    try {
      return new SqliteLog(db, path, options, heads)
    } catch (err) {
      db.close()
      if (err instanceof LogFormatError) throw lostHistory(path, heads, err)
      throw lostHistory(path, heads, new UnreadableLogError(`${path} is not a Loom log or is damaged: ${(err as Error).message}`))
    }
  }

  private constructor(db: Database.Database, readonly path: string, options: SqliteLogOptions, heads: HeadsRead) {
    this.db = db
    this.maxAttempts = options.maxAttempts ?? 1000
    this.snapshotEvery = options.snapshotEvery ?? SNAPSHOT_EVERY
    db.pragma(`synchronous = ${options.fsync === false ? 'NORMAL' : 'FULL'}`)
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]
    if (tables.length === 0) this.initialiseEmpty(heads, options.create ?? true)
    else if (!tables.includes('meta')) throw new UnreadableLogError(`${path} is an SQLite database but not a Loom log`)
    this.hasKeptCells = tables.includes('kept_cells')
    this.checkFormat()
    this.stmt = this.prepare()
    this.branch = options.branch ?? this.live
    if (!this.branchInfo(this.branch)) {
      const acked = heads.state === 'ok' ? heads.heads.find((h) => h.name === this.branch && h.seq > 0) : undefined
      if (acked) throw lostHistory(path, heads, new UnreadableLogError(`${path}: there is no branch '${this.branch}'`))
      throw new LogFormatError(`${path}: there is no branch '${this.branch}'`)
    }
    this.branchId = this.idOf(this.branch)
    this.fsync = options.fsync !== false
    this.headsAtOpen = heads.state
    this.headsRead = heads
    // A new log has no events to have lost: its record starts with its first commit.
    const fresh = heads.state === 'missing' && this.branches().every((b) => b.head === 0)
    this.damageAtOpen = fresh ? [] : damageAtOpen(this, heads, headsPath(path))
    this.sentSeq = this.ackedSeq = this.branchInfo(this.branch)!.head
    this.headHash = this.soundHashAt(this.branch, this.sentSeq)
    this.refused = refusal(this, this.branch, this.damageAtOpen)
    this.writerFsync = options.writerThread ? this.fsync : null
  }

  /**
   * An empty database becomes a new log only when nothing says it had a
   * history: if the heads record names acknowledged events, the whole log was
   * in a WAL that is gone, and a fresh start would hide that.
   */
  private initialiseEmpty(heads: HeadsRead, create: boolean): void {
    const lost = lostHistory(this.path, heads, new UnreadableLogError(`${this.path} holds no events at all`))
    if (lost instanceof LogDamageError) throw lost
    if (!create) throw new LogFormatError(`${this.path} is an empty database, not a Loom log (a notebook's log is written by loom run)`)
    this.initialise()
  }

  private initialise(): void {
    this.db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE branches (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, parent TEXT, fork_seq INTEGER NOT NULL, created INTEGER NOT NULL);
      -- One row per group commit: the events' canonical encodings (one per line), their hashes (32 bytes each).
      -- The bodies come last: reading a column after a large one walks its overflow pages.
      CREATE TABLE chunks (branch INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, code TEXT NOT NULL,
        hashes BLOB NOT NULL, refs TEXT, bodies TEXT NOT NULL, PRIMARY KEY (branch, first)) WITHOUT ROWID;
      -- The events of the rare kinds a resume looks for (code, start, halt), by seq.
      CREATE TABLE marks (branch INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (branch, kind, seq)) WITHOUT ROWID;
      CREATE TABLE blobs (hash TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE code (hash TEXT PRIMARY KEY, path TEXT NOT NULL, code TEXT NOT NULL, sources TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE snapshots (branch INTEGER NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (branch, seq)) WITHOUT ROWID;
      CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, branch TEXT NOT NULL, data TEXT NOT NULL);
    `)
    const meta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)')
    meta.run('format', FORMAT)
    meta.run('version', String(FORMAT_VERSION))
    meta.run('live', 'main')
    this.db.prepare('INSERT INTO branches (name, parent, fork_seq, created) VALUES (?, NULL, 0, ?)').run('main', Date.now())
  }

  private checkFormat(): void {
    const get = (key: string) => (this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined) ?? null
    if (get('format') !== FORMAT) throw new UnreadableLogError(`${this.path} is an SQLite database but not a Loom log`)
    const version = Number(get('version'))
    if (!(version >= 1)) throw new UnreadableLogError(`${this.path}: the log's format version is missing or damaged`)
    if (version > FORMAT_VERSION) {
      throw new LogFormatError(`${this.path} was written by a newer Loom (log format ${version}); this Loom reads format ${FORMAT_VERSION} — upgrade Loom to open it`)
    }
  }

  private prepare() {
    const db = this.db
    return {
      getBlob: db.prepare('SELECT data FROM blobs WHERE hash = ?').pluck(),
      // Chunks are disjoint and ordered: start from the one holding `from` (an index seek), not from the branch's first.
      chunks: db.prepare(`SELECT first, last, code, bodies, refs, hashes FROM chunks WHERE branch = @branch AND first <= @to
        AND first >= coalesce((SELECT first FROM chunks WHERE branch = @branch AND first <= @from ORDER BY first DESC LIMIT 1), 0) ORDER BY first`),
      hashOf: db.prepare('SELECT substr(hashes, (? - first) * 32 + 1, 32) FROM chunks WHERE branch = ? AND first <= ? ORDER BY first DESC LIMIT 1').pluck(),
      maxSeq: db.prepare('SELECT last FROM chunks WHERE branch = ? ORDER BY first DESC LIMIT 1').pluck(),
      lastMark: db.prepare('SELECT max(seq) FROM marks WHERE branch = ? AND kind = ? AND seq BETWEEN ? AND ?').pluck(),
    }
  }

  /** A branch's integer id (rows refer to branches by id). */
  private idOf(name: string): number {
    const row = this.row(name)
    if (!row) throw new LogFormatError(`${this.path}: there is no branch '${name}'`)
    return row.id
  }

  /**
   * A branch's row, cached: a branch's row never changes, and delete clears it.
   * A missing one is not cached: another connection (an import, a rerun) may make it.
   */
  private row(name: string): { id: number; name: string; parent: string | null; forkSeq: number; created: number } | null {
    let row = this.rows.get(name)
    if (row === undefined) {
      row = (this.db.prepare('SELECT id, name, parent, fork_seq AS forkSeq, created FROM branches WHERE name = ?').get(name) as typeof row) ?? null
      if (row) this.rows.set(name, row)
    }
    // A label stands for its branch wherever a name is typed; not cached: another connection may relabel.
    if (!row) {
      const stored = storedNameOf(this.db, name)
      if (stored !== null && stored !== name) return this.row(stored)
    }
    return row
  }
  private readonly rows = new Map<string, { id: number; name: string; parent: string | null; forkSeq: number; created: number } | null>()

  // ---- compiled cells ----------------------------------------------------

  /** Whether the kept_cells table exists yet: a log written before it has none until a cell is kept. */
  private hasKeptCells: boolean

  /**
   * Compiled cells, kept so that reopening the notebook does not start the
   * compiler (see compile.ts KeptCells). Derived data, not history: a lost or
   * unreadable row only means that cell compiles again.
   */
  readonly keptCells: KeptCells = {
    get: (key) => {
      const unwritten = this.unwrittenCells.get(key)
      if (unwritten) return unwritten
      if (!this.hasKeptCells || !this.db.open) return null
      return (this.db.prepare('SELECT code, map FROM kept_cells WHERE key = ?').get(key) as { code: string; map: string } | undefined) ?? null
    },
    put: (key, cell) => {
      if (!this.unwrittenCells.size) setImmediate(() => this.writeKeptCells())
      this.unwrittenCells.set(key, cell)
    },
  }
  /** Kept, and not yet written: found by `get` meanwhile. */
  private readonly unwrittenCells = new Map<string, { code: string; map: string }>()

  /** Written after the edit that compiled them has run: these writes (and their fsync) are not on the way to the running app. */
  private writeKeptCells(): void {
    const cells = [...this.unwrittenCells]
    this.unwrittenCells.clear()
    if (!cells.length || !this.db.open) return
    try {
      this.db.exec('CREATE TABLE IF NOT EXISTS kept_cells (key TEXT NOT NULL UNIQUE, code TEXT NOT NULL, map TEXT NOT NULL)')
      this.hasKeptCells = true
      const insert = this.db.prepare('INSERT OR REPLACE INTO kept_cells (key, code, map) VALUES (?, ?, ?)')
      this.db.transaction(() => {
        for (const [key, cell] of cells) insert.run(key, cell.code, cell.map)
        this.db.prepare('DELETE FROM kept_cells WHERE rowid <= (SELECT max(rowid) FROM kept_cells) - ?').run(KEPT_CELLS)
      }).immediate()
    } catch {
      // A log opened read-only, or busy beyond the timeout: the cells compile again next time.
    }
  }

  // ---- EventLog ----------------------------------------------------------

  get head(): number {
    return this.sentSeq + this.pending.length
  }

  append(event: EventRecord): void {
    if (event.seq <= this.head) return
    if (this.refused) throw this.refused
    if (event.seq !== this.head + 1) throw new Error(`log: expected event ${this.head + 1}, got ${event.seq}`)
    this.pending.push(event)
  }

  /**
   * Group commit, synchronously: everything appended so far is durable when
   * this returns (waiting first for chunks the writer thread still holds).
   */
  flush(): void {
    this.drain()
    const sealed = this.seal()
    if (!sealed) return
    const { chunk, events } = sealed
    try {
      const written = writeChunk(this.db, chunk, this.headHash)
      // Recorded outside SQLite before anyone hears of these events (see headsFile.ts).
      if (events.length) (this.headsWriter ??= new HeadsWriter(headsPath(this.path), this.fsync)).write({ id: chunk.branch, name: chunk.branchName, created: chunk.created, seq: events[events.length - 1]!.seq, hash: written.last })
      this.acknowledge(events, written)
    } catch (err) {
      this.sentSeq = this.ackedSeq
      throw err instanceof ConflictError ? new LogFormatError(err.message) : err
    }
  }

  /**
   * Group commit, pipelined: hands the batch to the writer thread and
   * resolves when it is durable, so the caller can run the next batch
   * meanwhile. Without a writer thread it is `flush()`.
   */
  flushAsync(): Promise<void> {
    // Started with the first batch, not at open: an app that waits (a window opened on a paused app)
    // does not pay for a thread (~45 ms of CPU) while the window loads.
    if (!this.writer && this.writerFsync !== null && this.db.open) this.startWriter(this.writerFsync)
    if (!this.writer) {
      this.flush()
      return Promise.resolve()
    }
    if (this.failed) return Promise.reject(this.failed)
    const sealed = this.seal()
    if (!sealed) return this.writer.waiting.at(-1)?.promise ?? Promise.resolve()
    const { chunk, events } = sealed
    let resolve!: () => void, reject!: (err: Error) => void
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
    this.writer.waiting.push({ events, resolve, reject, promise })
    // Keep the process alive until the writer answers: an unanswered commit must not be dropped at exit.
    this.writer.port.ref()
    this.writer.posted++
    this.writer.port.postMessage(chunk)
    return promise
  }

  /**
   * A group commit encoded elsewhere — by a confined engine process, whose
   * events reach this log as their canonical encodings (logHost.ts checks
   * them) — written as it is, by the writer thread when there is one.
   * Resolves with the events' hashes once durable.
   */
  commitEncoded(part: EncodedCommit): Promise<Written> {
    if (!this.writer && this.writerFsync !== null && this.db.open) this.startWriter(this.writerFsync)
    if (this.failed) return Promise.reject(this.failed)
    if (this.pending.length) throw new Error('log: an encoded commit while events are pending')
    const first = part.count ? part.first : this.sentSeq + 1
    if (part.count && part.first !== this.sentSeq + 1) throw new Error(`log: expected event ${this.sentSeq + 1}, got ${part.first}`)
    const snapshots = part.snapshots.map(([seq, data]): [number, string, string] => [seq, data, digest('sha256', data, 'hex')])
    for (const [seq] of snapshots) this.lastSnapshot.set(this.branch, seq)
    const info = this.branchInfo(this.branch)!
    const chunk: Chunk = {
      path: this.path, branch: this.branchId, branchName: this.branch, forkSeq: info.forkSeq, created: info.created,
      parent: this.ackedSeq === first - 1 ? this.headHash : null,
      first, texts: part.texts, count: part.count, cuts: part.cuts, kinds: part.kinds, code: part.code,
      snapshots, attempts: part.attempts, maxAttempts: this.maxAttempts,
    }
    const last = first + part.count - 1
    if (part.count) this.sentSeq = last
    if (!this.writer) {
      try {
        const written = writeChunk(this.db, chunk, this.headHash)
        // Recorded outside SQLite before anyone hears of these events, as flush() does (see headsFile.ts).
        if (part.count) (this.headsWriter ??= new HeadsWriter(headsPath(this.path), this.fsync)).write({ id: chunk.branch, name: chunk.branchName, created: chunk.created, seq: last, hash: written.last })
        if (last > this.ackedSeq) {
          this.ackedSeq = last
          this.headHash = written.last
        }
        return Promise.resolve(written)
      } catch (err) {
        this.sentSeq = this.ackedSeq
        return Promise.reject(err instanceof ConflictError ? new LogFormatError(err.message) : err)
      }
    }
    let resolve!: () => void, reject!: (err: Error) => void, result!: Written
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
    this.writer.waiting.push({ events: [], resolve, reject, promise, encoded: { last, written: (w) => (result = w) } })
    this.writer.port.ref()
    this.writer.posted++
    this.writer.port.postMessage(chunk)
    return promise.then(() => result)
  }

  /** Seals pending events, snapshots and attempts into a chunk (null when there is nothing). */
  private seal(): { chunk: Chunk; events: EventRecord[] } | null {
    if (!this.pending.length && !this.pendingAttempts.length && !this.pendingSnapshots.length) return null
    const events = this.pending
    const first = events.length ? events[0]!.seq : this.sentSeq + 1
    const chunk: Chunk = {
      path: this.path, branch: this.branchId, branchName: this.branch, forkSeq: this.branchInfo(this.branch)!.forkSeq, created: this.branchInfo(this.branch)!.created,
      parent: this.ackedSeq === first - 1 ? this.headHash : null,
      first, ...encodeEvents(events),
      code: events.length ? events[events.length - 1]!.codeHash : '',
      snapshots: this.pendingSnapshots,
      attempts: this.pendingAttempts.map((a) => JSON.stringify(a)),
      maxAttempts: this.maxAttempts,
    }
    if (events.length) this.sentSeq = events[events.length - 1]!.seq
    this.pending = []
    this.pendingAttempts = []
    this.pendingSnapshots = []
    return { chunk, events }
  }

  /** Events are durable: give them their hashes (they are announced after this). */
  private acknowledge(events: EventRecord[], written: Written): void {
    let parent = written.parent
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!
      e.parentHash = parent
      e.hash = parent = written.hashes.toString('hex', i * 32, i * 32 + 32)
    }
    if (events.length && events[events.length - 1]!.seq > this.ackedSeq) {
      this.ackedSeq = events[events.length - 1]!.seq
      this.headHash = written.last
    }
  }

  /** Blocks until the writer thread has written everything handed to it, and takes its answers. */
  private drain(): void {
    const w = this.writer
    if (!w) return
    if (!waitFor(w.signal, w.posted, 60_000)) {
      this.failed ??= new LogFormatError(`${this.path}: the log writer has not answered for 60 s; nothing after event ${this.ackedSeq} is known to be durable`)
    }
    for (let msg = receiveMessageOnPort(w.port); msg; msg = receiveMessageOnPort(w.port)) this.onAck(msg.message as Ack)
    if (this.failed) throw this.failed
  }

  private onAck(ack: Ack): void {
    const waiting = this.writer!.waiting.shift()!
    if (!this.writer!.waiting.length) this.writer!.port.unref()
    if (ack.ok) {
      const written = { hashes: Buffer.from(ack.hashes), parent: ack.parent, last: ack.last }
      this.acknowledge(waiting.events, written)
      if (waiting.encoded) {
        if (waiting.encoded.last > this.ackedSeq) {
          this.ackedSeq = waiting.encoded.last
          this.headHash = written.last
        }
        waiting.encoded.written(written)
      }
      waiting.resolve()
    } else {
      // Nothing after a failed chunk can be written: the chain would have a hole.
      this.failed ??= new LogFormatError(ack.error)
      this.sentSeq = this.ackedSeq
      waiting.reject(this.failed)
    }
  }

  events(from = 1, limit = Infinity): EventRecord[] {
    this.flush()
    return this.eventsOf(this.branch, from, limit)
  }

  addAttempt(attempt: Attempt): void {
    this.pendingAttempts.push(attempt)
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
      this.flush()
      this.writeKeptCells()
    } finally {
      if (this.writer) {
        const { port, worker, signal, posted } = this.writer
        this.writer = null
        port.postMessage('close')
        waitFor(signal, posted + 1, 5000)
        port.close()
        void worker.terminate()
      }
      this.headsWriter?.close()
      this.db.close()
      this.unlock()
    }
  }

  /** Starts the writer thread: group commits are then written beside the engine instead of in its way. */
  private startWriter(fsync: boolean): void {
    const { port1, port2 } = new MessageChannel()
    const signal = new Int32Array(new SharedArrayBuffer(4))
    const worker = new Worker(new URL('./logWriter.boot.js', import.meta.url), {
      workerData: { path: this.path, heads: headsPath(this.path), fsync, port: port2, signal },
      transferList: [port2],
    })
    worker.unref()
    port1.on('message', (ack: Ack) => this.onAck(ack))
    port1.unref()
    const fail = (why: string) => {
      this.failed ??= new LogFormatError(`${this.path}: the log writer stopped (${why}); nothing after the last acknowledged event was written`)
      for (const w of this.writer?.waiting.splice(0) ?? []) w.reject(this.failed)
      if (this.writer) this.writer.posted = Atomics.load(this.writer.signal, 0)
    }
    worker.on('error', (err) => fail(err.message))
    worker.on('exit', (code) => this.writer && fail(`exit ${code}`))
    this.writer = { worker, port: port1, signal, posted: 0, waiting: [] }
  }

  // ---- reading any branch ------------------------------------------------

  /** Events of `branch` with seq in [from, from + limit), following its ancestry into parents. */
  eventsOf(branch: string, from = 1, limit = Infinity): EventRecord[] {
    return [...this.iterate(branch, from, from + limit - 1)]
  }

  /** Events of `branch` from `from` to `to`, decoded one chunk at a time. */
  *iterate(branch: string, from = 1, to = Infinity): Generator<EventRecord> {
    const end = Math.min(this.branchInfo(branch)?.head ?? 0, to)
    if (end < from) return
    let parent = this.hashAt(branch, from - 1)
    for (const raw of this.raw(branch, from, end)) {
      let e: EventRecord
      try {
        e = JSON.parse(raw.body) as EventRecord
      } catch {
        this.unreadable(raw.branch, raw.seq, raw.seq, 'its stored encoding is not JSON')
      }
      e.parentHash = parent
      e.hash = parent = raw.hash
      yield e
    }
  }

  /** The stored encoding and hash of each event, chunk by chunk, for verification and reading. */
  *raw(branch: string, from = 1, to = Infinity): Generator<RawEvent> {
    const end = Math.min(this.branchInfo(branch)?.head ?? 0, to)
    for (const [b, a, z] of this.segments(branch, from, end)) {
      const id = this.idOf(b)
      // A page of chunks at a time, so a long history does not sit in memory.
      let s = a
      while (s <= z) {
        const rows = this.stmt.chunks.all({ branch: id, from: s, to: Math.min(z, s + 9999) }) as { first: number; last: number; code: string; bodies: string; refs: string | null; hashes: Buffer }[]
        if (!rows.length) break
        let expected = s
        for (const row of rows) {
          const { bodies, refs } = this.decodeRow(b, row, expected)
          expected = Math.max(expected, row.last + 1)
          for (let seq = Math.max(row.first, s); seq <= Math.min(row.last, z); seq++) {
            const i = seq - row.first
            const full = expandBody(bodies[i] ?? '', row.code)
            let body = full
            try {
              if (refs?.[i]) body = this.withBlobs(full, refs[i]!)
            } catch (err) {
              this.unreadable(b, seq, seq, (err as Error).message)
            }
            yield { branch: b, seq, body, hash: row.hashes.subarray(i * 32, i * 32 + 32).toString('hex') }
          }
        }
        s = rows[rows.length - 1]!.last + 1
      }
      if (s <= z) this.unreadable(b, s, z, 'the log holds no group commit with them')
    }
  }

  /** A stored row's parts, checked to fit together: a damaged row is reported, never half-read. */
  private decodeRow(branch: string, row: { first: number; last: number; bodies: string; refs: string | null; hashes: Buffer }, expected: number): { bodies: string[]; refs: Record<string, [number, string][]> | null } {
    const count = row.last - row.first + 1
    if (row.first > expected) this.unreadable(branch, expected, row.first - 1, 'the log holds no group commit with them')
    const bodies = typeof row.bodies === 'string' ? row.bodies.split('\n') : []
    if (count < 1 || bodies.length !== count) this.unreadable(branch, row.first, row.last, `their group commit holds ${bodies.length} encodings for ${count} events`)
    if (!Buffer.isBuffer(row.hashes) || row.hashes.length !== 32 * count) this.unreadable(branch, row.first, row.last, `their group commit holds ${Buffer.isBuffer(row.hashes) ? row.hashes.length : 0} bytes of hashes for ${count} events`)
    let refs: Record<string, [number, string][]> | null = null
    try {
      refs = row.refs ? (JSON.parse(row.refs) as Record<string, [number, string][]>) : null
    } catch {
      this.unreadable(branch, row.first, row.last, 'the list of their large values is not readable')
    }
    return { bodies, refs }
  }

  private unreadable(branch: string, seq: number, to: number, why: string): never {
    const what = seq === to ? `event ${seq}` : `events ${seq}..${to}`
    const message = `branch '${branch}': ${what} cannot be read: ${why}`
    throw new LogDamageError(`${this.path}: ${message} (loom replay ${this.path} --verify checks the whole log)`, this.path, [{ code: 'unreadable-chunk', branch, seq, to, message }])
  }

  /** The range of `branch`'s own newest group commit row, or null when it has none. */
  newestChunk(branch: string): { first: number; last: number } | null {
    return (this.db.prepare('SELECT first, last FROM chunks WHERE branch = ? ORDER BY first DESC LIMIT 1').get(this.idOf(branch)) as { first: number; last: number } | undefined) ?? null
  }

  /** Every branch by its integer id (what the heads record keys on). */
  branchesById(): Map<number, BranchInfo> {
    const ids = this.db.prepare('SELECT id, name FROM branches').all() as { id: number; name: string }[]
    return new Map(ids.map((r) => [r.id, this.branchInfo(r.name)!]))
  }

  /** The last event of `branch` the heads record says was acknowledged when the log was opened, or null when it has none. */
  acknowledgedAtOpen(branch: string): number | null {
    const b = this.row(branch)
    if (!b || this.headsRead.state !== 'ok') return null
    const h = this.headsRead.heads.find((x) => x.id === b.id && x.created === b.created)
    return h ? h.seq : null
  }

  /** Why the branch being written takes no events (its history is damaged), with how to continue; null when sound. */
  refusal(): LogDamageError | null {
    return this.refused
  }

  /** The damage found at open that lies in `branch`'s history (see damage.ts). */
  damageOf(branch: string): Damage[] {
    return damageOn(this, branch, this.damageAtOpen)
  }

  /** The hash to continue from, or '' when the head cannot be read (a damaged branch, which takes no events). */
  private soundHashAt(branch: string, seq: number): string {
    try {
      return this.hashAt(branch, seq)
    } catch {
      return ''
    }
  }

  event(branch: string, seq: number): EventRecord | null {
    return this.eventsOf(branch, seq, 1)[0] ?? null
  }

  /** The hash of event `seq` as seen from `branch` (the genesis hash for 0). */
  hashAt(branch: string, seq: number): string {
    if (seq <= 0) return GENESIS_HASH
    const owner = this.ownerOf(branch, seq)
    const h = this.stmt.hashOf.get(seq, this.idOf(owner), seq) as Buffer | undefined
    if (!h || h.length !== 32) throw new LogFormatError(`${this.path}: event ${seq} of branch '${branch}' is missing`)
    return h.toString('hex')
  }

  /** The seq of the last event of `kind` at or before `seq` on `branch` (following its ancestry), or null. */
  lastOfKind(branch: string, kind: string, seq: number): number | null {
    for (const [b, a, z] of this.segments(branch, 1, seq).reverse()) {
      const found = this.stmt.lastMark.get(this.idOf(b), kind, a, z) as number | null
      if (found !== null) return found
    }
    return null
  }

  /** Which branch physically holds event `seq` of `branch`. */
  ownerOf(branch: string, seq: number): string {
    let b = this.branchInfo(branch)
    while (b && b.parent !== null && seq <= b.forkSeq) b = this.branchInfo(b.parent)
    if (!b) throw new LogFormatError(`${this.path}: there is no branch '${branch}'`)
    return b.name
  }

  /** [owner, from, to] pieces covering seqs from..to of `branch`, oldest first: a fork's history is its ancestors' prefix, then its own. */
  segments(branch: string, from: number, to: number): [string, number, number][] {
    const out: [string, number, number][] = []
    let b = this.branchInfo(branch)
    let hi = to
    while (b && hi >= from) {
      const lo = Math.max(from, b.parent === null ? 1 : b.forkSeq + 1)
      if (hi >= lo) out.unshift([b.name, lo, hi])
      if (b.parent === null) break
      hi = Math.min(hi, b.forkSeq)
      b = this.branchInfo(b.parent)
    }
    return out
  }

  private withBlobs(body: string, refs: [number, string][]): string {
    // Offsets refer to the full text; re-insert front to back.
    for (const [at, h] of refs) {
      const data = this.stmt.getBlob.get(h) as string | undefined
      if (data === undefined) throw new LogFormatError(`a stored value (${h.slice(0, 12)}…) is missing`)
      body = body.slice(0, at) + data + body.slice(at)
    }
    return body
  }

  // ---- branches ----------------------------------------------------------

  branchInfo(name: string): BranchInfo | null {
    const row = this.row(name)
    if (!row) return null
    const head = name === this.branch && this.sentSeq !== undefined ? this.head : ((this.stmt.maxSeq.get(row.id) as number | null) ?? row.forkSeq)
    return { name: row.name, parent: row.parent, forkSeq: row.forkSeq, created: row.created, head }
  }

  branches(): BranchInfo[] {
    const names = this.db.prepare('SELECT name FROM branches ORDER BY created, name').pluck().all() as string[]
    const shown = branchNames(this.db)
    return names.map((n) => ({ ...this.branchInfo(n)!, ...shown.get(n) }))
  }

  /** Shows branch `name` as `to` from now on; its events keep the stored name their hashes include. */
  renameBranch(name: string, to: string): BranchInfo {
    const b = this.branchInfo(name)
    if (!b) throw new Error(`there is no branch '${name}'`)
    checkBranchName(to)
    const taken = this.branchInfo(to)
    if (taken && taken.name !== b.name) throw new Error(`branch '${to}' already exists`)
    setLabel(this.db, b.name, to === b.name ? null : to)
    return this.branches().find((x) => x.name === b.name)!
  }

  /**
   * Deletes a branch the way a person may: archived, never erased (its events
   * were acknowledged). The live branch, the one being written and one that
   * other branches fork from stay.
   */
  archiveBranch(name: string): BranchInfo {
    const b = this.branchInfo(name)
    if (!b) throw new Error(`there is no branch '${name}'`)
    const shown = branchNames(this.db)
    const called = (n: string) => shown.get(n)?.label ?? n
    if (b.name === this.live) throw new Error(`branch '${called(b.name)}' is the live branch; promote another first`)
    if (b.name === this.branch) throw new Error(`branch '${called(b.name)}' is open for writing`)
    const children = (this.db.prepare('SELECT name FROM branches WHERE parent = ?').pluck().all(b.name) as string[]).filter((n) => !shown.get(n)?.archived)
    if (children.length) throw new Error(`branch '${called(b.name)}' has branches forked from it (${children.map(called).join(', ')}); delete those first`)
    setArchived(this.db, b.name, true)
    return this.branches().find((x) => x.name === b.name)!
  }

  /** Brings an archived branch back into the lists. */
  restoreBranch(name: string): BranchInfo {
    const b = this.branchInfo(name)
    if (!b) throw new Error(`there is no branch '${name}'`)
    if (!branchNames(this.db).get(b.name)?.archived) throw new Error(`branch '${name}' is not deleted; there is nothing to restore`)
    setArchived(this.db, b.name, false)
    return this.branches().find((x) => x.name === b.name)!
  }

  get live(): string {
    return (this.db.prepare(`SELECT value FROM meta WHERE key = 'live'`).pluck().get() as string | undefined) ?? 'main'
  }

  /** Makes `name` the branch the running system extends. */
  promote(name: string): void {
    if (!this.branchInfo(name)) throw new Error(`there is no branch '${name}'`)
    this.db.prepare(`UPDATE meta SET value = ? WHERE key = 'live'`).run(name)
  }

  /** A new branch that shares `parent`'s history up to `seq`; nothing is copied. */
  fork(name: string, parent: string, seq: number): BranchInfo {
    if (!/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/.test(name)) throw new Error(`'${name}' is not a branch name (letters, digits, . _ / -)`)
    if (this.branchInfo(name)) throw new Error(`branch '${name}' already exists`)
    const p = this.branchInfo(parent)
    if (!p) throw new Error(`there is no branch '${parent}'`)
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > p.head) throw new Error(`branch '${parent}' has events 1..${p.head}; cannot fork at ${seq}`)
    this.flush()
    this.db.prepare('INSERT INTO branches (name, parent, fork_seq, created) VALUES (?, ?, ?, ?)').run(name, parent, seq, Date.now())
    this.rows.delete(name)
    return this.branchInfo(name)!
  }

  /** fork, starting with a snapshot of the moment forked at (see branches.ts). */
  forkAt(name: string, parent: string, seq: number): BranchInfo {
    return forkWithSnapshot(this, name, parent, seq)
  }

  /** Imports a branch export through a connection of its own, so the branch this one appends to stays put. */
  async importText(text: string, name?: string): Promise<BranchInfo> {
    const side = SqliteLog.open(this.path, { create: false, branch: this.live })
    try {
      return await importBranch(side, { text }, name)
    } finally {
      side.close()
    }
  }

  /** `base`, or `base-2`, `base-3`…: the first that names no branch yet. */
  unusedName(base: string): string {
    for (let i = 1; ; i++) {
      const name = i === 1 ? base : `${base}-${i}`
      if (!this.branchInfo(name)) return name
    }
  }

  /** A new branch with no parent (an imported history, or a run started afresh). */
  createRoot(name: string): BranchInfo {
    if (!/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/.test(name)) throw new Error(`'${name}' is not a branch name (letters, digits, . _ / -)`)
    if (this.branchInfo(name)) throw new Error(`branch '${name}' already exists`)
    this.db.prepare('INSERT INTO branches (name, parent, fork_seq, created) VALUES (?, NULL, 0, ?)').run(name, Date.now())
    this.rows.delete(name)
    return this.branchInfo(name)!
  }

  /** Forgets events appended but not yet flushed (they were never acknowledged). */
  discardPending(): void {
    this.pending = []
    this.pendingSnapshots = []
    this.pendingAttempts = []
  }

  /** Deletes a branch and its own events; one that others were forked from, or the live one, stays. */
  deleteBranch(name: string): void {
    if (!this.branchInfo(name)) throw new Error(`there is no branch '${name}'`)
    const children = this.db.prepare('SELECT name FROM branches WHERE parent = ?').pluck().all(name) as string[]
    if (children.length) throw new Error(`branch '${name}' has branches forked from it (${children.join(', ')}); delete those first`)
    if (name === this.live) throw new Error(`branch '${name}' is the live branch; promote another first`)
    if (name === this.branch) throw new Error(`branch '${name}' is open for writing`)
    const id = this.idOf(name)
    // Forgotten in the heads record first: a record naming a branch the log lacks means a lost WAL.
    ;(this.headsWriter ??= new HeadsWriter(headsPath(this.path), this.fsync)).clear(id)
    this.db.transaction(() => {
      for (const table of ['chunks', 'marks', 'snapshots']) this.db.prepare(`DELETE FROM ${table} WHERE branch = ?`).run(id)
      this.db.prepare('DELETE FROM attempts WHERE branch = ?').run(name)
      this.db.prepare('DELETE FROM branches WHERE id = ?').run(id)
      forgetName(this.db, name)
    })()
    this.rows.delete(name)
  }

  /** Switches which branch this log appends to. */
  useBranch(name: string): void {
    this.flush()
    if (!this.branchInfo(name)) throw new Error(`there is no branch '${name}'`)
    this.branch = name
    this.branchId = this.idOf(name)
    this.sentSeq = undefined as unknown as number
    this.sentSeq = this.ackedSeq = this.branchInfo(name)!.head
    this.headHash = this.soundHashAt(name, this.sentSeq)
    this.refused = refusal(this, name, this.damageAtOpen)
  }

  // ---- code and snapshots ------------------------------------------------

  putCode(code: StoredCode): void {
    this.db.prepare('INSERT OR IGNORE INTO code (hash, path, code, sources) VALUES (?, ?, ?, ?)').run(code.codeHash, code.path, code.code, JSON.stringify(code.sources))
  }

  getCode(codeHash: string): StoredCode | null {
    const row = this.db.prepare('SELECT hash, path, code, sources FROM code WHERE hash = ?').get(codeHash) as { hash: string; path: string; code: string; sources: string } | undefined
    return row ? { codeHash: row.hash, path: row.path, code: row.code, sources: JSON.parse(row.sources) } : null
  }

  /** Every code version's hash as stored, and the hash of its text (they differ if a byte flipped). */
  *codeBlobs(): Generator<{ codeHash: string; actual: string }> {
    for (const row of this.db.prepare('SELECT hash, code FROM code').iterate() as Iterable<{ hash: string; code: string }>) {
      yield { codeHash: row.hash, actual: digest('sha256', row.code, 'hex') }
    }
  }

  /** Keeps a snapshot every `snapshotEvery` events of the branch being written. */
  offerSnapshot(seq: number, take: () => StoreSnapshot): void {
    if (seq < this.snapshotDue()) return
    // Written in the same transaction as the events up to `seq`, at the next flush.
    const data = JSON.stringify(take())
    this.pendingSnapshots.push([seq, data, digest('sha256', data, 'hex')])
    this.lastSnapshot.set(this.branch, seq)
  }

  snapshotDue(): number {
    let last = this.lastSnapshot.get(this.branch)
    if (last === undefined) {
      const own = this.db.prepare('SELECT max(seq) FROM snapshots WHERE branch = ?').pluck().get(this.branchId) as number | null
      last = own ?? this.branchInfo(this.branch)!.forkSeq
      this.lastSnapshot.set(this.branch, last)
    }
    // Snapshots land on multiples of K, so a seek applies fewer than K write sets.
    return (Math.floor(last / this.snapshotEvery) + 1) * this.snapshotEvery
  }

  putSnapshot(branch: string, seq: number, state: StoreSnapshot): void {
    this.lastSnapshot.set(branch, Math.max(seq, this.lastSnapshot.get(branch) ?? 0))
    this.flush()
    const data = JSON.stringify(state)
    this.db.prepare('INSERT OR REPLACE INTO snapshots (branch, seq, data, hash) VALUES (?, ?, ?, ?)').run(this.idOf(branch), seq, data, digest('sha256', data, 'hex'))
  }

  /**
   * The latest snapshot of `branch` itself at or before `seq` (snapshots are
   * per branch: a fork starts with one) whose bytes match its hash.
   */
  snapshotAt(branch: string, seq: number): { seq: number; state: StoreSnapshot } | null {
    const rows = this.db.prepare('SELECT seq, data, hash FROM snapshots WHERE branch = ? AND seq <= ? ORDER BY seq DESC').iterate(this.idOf(branch), seq) as IterableIterator<{ seq: number; data: string; hash: string }>
    // A damaged snapshot is passed over (verify reports it): the one before it and more write sets give the same state.
    for (const row of rows) {
      if (digest('sha256', row.data, 'hex') !== row.hash) continue
      rows.return?.()
      return { seq: row.seq, state: JSON.parse(row.data) as StoreSnapshot }
    }
    return null
  }

  /** The seq of the snapshot a seek to `seq` of `branch` would start from (0 when there is none). */
  snapshotBefore(branch: string, seq: number): number {
    const owner = this.ownerOf(branch, seq)
    return (this.db.prepare('SELECT max(s.seq) FROM snapshots s JOIN branches b ON b.id = s.branch WHERE b.name = ? AND s.seq <= ?').pluck().get(owner, seq) as number | null) ?? 0
  }

  /**
   * How many events of each marked kind (every kind but 'step', see the marks
   * table) fall in each of `count` equal ranges of seqs `from`..`to` of
   * `branch`: bin i holds the seqs s with floor((s - from) * count / n) = i,
   * n = to - from + 1. Reads no event.
   */
  markCounts(branch: string, from: number, to: number, count: number): Record<string, number>[] {
    const n = to - from + 1
    const out: Record<string, number>[] = Array.from({ length: Math.max(0, count) }, () => ({}))
    if (n <= 0 || count <= 0) return out
    // Parameters arrive as floating point: made integers, the division is floor division. One kind at a time: the key is (branch, kind, seq).
    const binOf = this.db.prepare(`SELECT ((seq - CAST(@from AS INTEGER)) * CAST(@count AS INTEGER)) / CAST(@n AS INTEGER) AS bin, count(*) AS events FROM marks
      WHERE branch = @id AND kind = @kind AND seq BETWEEN @a AND @z GROUP BY bin`)
    for (const [owner, a, z] of this.segments(branch, from, to)) {
      const id = this.idOf(owner)
      for (const kind of MARKED_KINDS) {
        for (const row of binOf.all({ from, count, n, id, kind, a, z }) as { bin: number; events: number }[]) {
          const kinds = out[row.bin]
          if (kinds) kinds[kind] = (kinds[kind] ?? 0) + row.events
        }
      }
    }
    return out
  }

  *snapshots(branch: string): Generator<{ seq: number; ok: boolean }> {
    for (const row of this.db.prepare('SELECT seq, data, hash FROM snapshots WHERE branch = ? ORDER BY seq').iterate(this.idOf(branch)) as Iterable<{ seq: number; data: string; hash: string }>) {
      yield { seq: row.seq, ok: digest('sha256', row.data, 'hex') === row.hash }
    }
  }
}

/**
 * Blocks until the writer thread has finished `count` jobs; false if it made
 * no progress for `ms` (a writer that died cannot say so while we block).
 */
function waitFor(signal: Int32Array, count: number, ms: number): boolean {
  for (;;) {
    const done = Atomics.load(signal, 0)
    if (done >= count) return true
    if (Atomics.wait(signal, 0, done, ms) === 'timed-out') return false
  }
}
