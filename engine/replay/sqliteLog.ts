// The durable log: one SQLite file (WAL) beside the notebook holding every
// branch's events as a hash chain, the code that ran them, snapshots and
// recent attempts. Events are written in groups: one SQLite transaction (one
// fsync) per engine batch, and nothing is acknowledged before it commits.
import Database from 'better-sqlite3'
import { hash as digest } from 'node:crypto'
import { existsSync } from 'node:fs'
import { encodeEventParts, GENESIS_HASH, type EventLog } from '../runtime/log.ts'
import type { Attempt, EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'

/** The log format this version writes; it reads this one and refuses newer ones. */
export const FORMAT_VERSION = 1
const FORMAT = 'loom-log'
/** Default K; see the bench's seek figures for how it was chosen. */
export const SNAPSHOT_EVERY = 1000
/** Values whose encoding is at least this long are stored once, by hash. */
const BLOB_MIN = 1024

/** A file that is not a Loom log, is damaged, or is from a newer Loom: exit 2, with what to do. */
export class LogFormatError extends Error {}

export interface BranchInfo {
  name: string
  parent: string | null
  /** The seq of the parent's event this branch starts after (0 for a root branch). */
  forkSeq: number
  head: number
  created: number
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

interface Row {
  seq: number
  body: string
  refs: string | null
  hash: Buffer
}

export interface SqliteLogOptions {
  /** Create the file if it does not exist (default true). */
  create?: boolean
  /** The branch to append to (default: the live branch). */
  branch?: string
  maxAttempts?: number
  snapshotEvery?: number
  /** fsync every group commit (default true): acknowledged events survive power loss, not only a crash. */
  fsync?: boolean
}

export class SqliteLog implements EventLog {
  readonly db: Database.Database
  branch: string
  /** Events dropped at open because their hash chain did not hold (a damaged tail). */
  readonly droppedAtOpen: number
  private pending: EventRecord[] = []
  private pendingAttempts: Attempt[] = []
  private headSeq: number
  private headHash: string
  private readonly maxAttempts: number
  private readonly stmt: ReturnType<SqliteLog['prepare']>
  private readonly lastSnapshot = new Map<string, number>()
  /** K: a snapshot every K events bounds a seek to one snapshot load plus at most K write sets. */
  readonly snapshotEvery: number

  static open(path: string, options: SqliteLogOptions = {}): SqliteLog {
    const create = options.create ?? true
    if (!create && !existsSync(path)) throw new LogFormatError(`${path}: no such log (run the notebook first: loom run NB)`)
    let db: Database.Database
    try {
      db = new Database(path, { fileMustExist: !create })
      db.pragma('journal_mode = WAL')
    } catch (err) {
      throw new LogFormatError(`${path} is not a Loom log: ${(err as Error).message}`)
    }
    try {
      return new SqliteLog(db, path, options)
    } catch (err) {
      db.close()
      if (err instanceof LogFormatError) throw err
      throw new LogFormatError(`${path} is not a Loom log or is damaged: ${(err as Error).message}`)
    }
  }

  private constructor(db: Database.Database, readonly path: string, options: SqliteLogOptions) {
    this.db = db
    this.maxAttempts = options.maxAttempts ?? 1000
    this.snapshotEvery = options.snapshotEvery ?? SNAPSHOT_EVERY
    db.pragma(`synchronous = ${options.fsync === false ? 'NORMAL' : 'FULL'}`)
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]
    if (tables.length === 0) this.initialise()
    else if (!tables.includes('meta')) throw new LogFormatError(`${path} is an SQLite database but not a Loom log`)
    this.checkFormat()
    this.stmt = this.prepare()
    this.branch = options.branch ?? this.live
    if (!this.branchInfo(this.branch)) throw new LogFormatError(`${path}: there is no branch '${this.branch}'`)
    this.droppedAtOpen = this.cutTornTails()
    this.headSeq = this.branchInfo(this.branch)!.head
    this.headHash = this.hashAt(this.branch, this.headSeq)
  }

  private initialise(): void {
    this.db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE branches (name TEXT PRIMARY KEY, parent TEXT, fork_seq INTEGER NOT NULL, created INTEGER NOT NULL);
      CREATE TABLE events (branch TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, time INTEGER NOT NULL,
        body TEXT NOT NULL, refs TEXT, hash BLOB NOT NULL, PRIMARY KEY (branch, seq)) WITHOUT ROWID;
      CREATE TABLE blobs (hash TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE code (hash TEXT PRIMARY KEY, path TEXT NOT NULL, code TEXT NOT NULL, sources TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE snapshots (branch TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (branch, seq)) WITHOUT ROWID;
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
    if (get('format') !== FORMAT) throw new LogFormatError(`${this.path} is an SQLite database but not a Loom log`)
    const version = Number(get('version'))
    if (!(version >= 1)) throw new LogFormatError(`${this.path}: the log's format version is missing or damaged`)
    if (version > FORMAT_VERSION) {
      throw new LogFormatError(`${this.path} was written by a newer Loom (log format ${version}); this Loom reads format ${FORMAT_VERSION} — upgrade Loom to open it`)
    }
  }

  private prepare() {
    const db = this.db
    return {
      insert: db.prepare('INSERT INTO events (branch, seq, kind, time, body, refs, hash) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      blob: db.prepare('INSERT OR IGNORE INTO blobs (hash, data) VALUES (?, ?)'),
      getBlob: db.prepare('SELECT data FROM blobs WHERE hash = ?').pluck(),
      range: db.prepare('SELECT seq, body, refs, hash FROM events WHERE branch = ? AND seq >= ? AND seq <= ? ORDER BY seq'),
      one: db.prepare('SELECT seq, body, refs, hash FROM events WHERE branch = ? AND seq = ?'),
      hashOf: db.prepare('SELECT hash FROM events WHERE branch = ? AND seq = ?').pluck(),
      maxSeq: db.prepare('SELECT max(seq) FROM events WHERE branch = ?').pluck(),
      attempt: db.prepare('INSERT INTO attempts (branch, data) VALUES (?, ?)'),
      trimAttempts: db.prepare('DELETE FROM attempts WHERE id <= (SELECT max(id) FROM attempts) - ?'),
    }
  }

  // ---- EventLog ----------------------------------------------------------

  get head(): number {
    return this.headSeq + this.pending.length
  }

  append(event: EventRecord): void {
    if (event.seq <= this.head) return
    if (event.seq !== this.head + 1) throw new Error(`log: expected event ${this.head + 1}, got ${event.seq}`)
    this.pending.push(event)
  }

  /** Group commit: every pending event, sealed into the chain, in one SQLite transaction. */
  flush(): void {
    if (!this.pending.length && !this.pendingAttempts.length) return
    const events = this.pending
    const attempts = this.pendingAttempts
    let parent = this.headHash
    const rows: unknown[][] = []
    const blobs: [string, string][] = []
    for (const e of events) {
      const { text, cuts } = encodeEventParts(e, BLOB_MIN)
      const hash = digest('sha256', parent + text, 'hex')
      e.parentHash = parent
      e.hash = hash
      parent = hash
      let body = text
      let refs: string | null = null
      if (cuts.length) {
        // Cut large values out, back to front so earlier offsets stay valid; `refs` says where they go.
        const list: [number, string][] = []
        for (let i = cuts.length - 1; i >= 0; i--) {
          const [a, b] = cuts[i]!
          const piece = text.slice(a, b)
          const h = digest('sha256', piece, 'hex')
          blobs.push([h, piece])
          body = body.slice(0, a) + body.slice(b)
          list.unshift([a, h])
        }
        refs = JSON.stringify(list)
      }
      rows.push([this.branch, e.seq, e.kind, e.time, body, refs, Buffer.from(hash, 'hex')])
    }
    this.db.transaction(() => {
      for (const [h, data] of blobs) this.stmt.blob.run(h, data)
      for (const row of rows) this.stmt.insert.run(...row)
      for (const a of attempts) this.stmt.attempt.run(a.branch, JSON.stringify(a))
      if (attempts.length) this.stmt.trimAttempts.run(this.maxAttempts)
    })()
    this.pending = []
    this.pendingAttempts = []
    if (events.length) {
      this.headSeq = events[events.length - 1]!.seq
      this.headHash = parent
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
    this.flush()
    this.db.close()
  }

  // ---- reading any branch ------------------------------------------------

  /** Events of `branch` with seq in [from, from + limit), following its ancestry into parents. */
  eventsOf(branch: string, from = 1, limit = Infinity): EventRecord[] {
    const out: EventRecord[] = []
    const to = Math.min(this.branchInfo(branch)?.head ?? 0, from + limit - 1)
    if (to < from) return out
    let parent = from > 1 ? this.hashAt(branch, from - 1) : GENESIS_HASH
    for (const [b, a, z] of this.segments(branch, from, to)) {
      for (const row of this.stmt.range.all(b, a, z) as Row[]) {
        const e = JSON.parse(this.body(row)) as EventRecord
        e.parentHash = parent
        e.hash = parent = row.hash.toString('hex')
        out.push(e)
      }
    }
    return out
  }

  /** The stored encoding and hash of each event, for verification. */
  *raw(branch: string, from = 1, to = Infinity): Generator<RawEvent> {
    const end = Math.min(this.branchInfo(branch)?.head ?? 0, to)
    for (const [b, a, z] of this.segments(branch, from, end)) {
      // Page through so a long history does not sit in memory.
      for (let s = a; s <= z; s += 5000) {
        for (const row of this.stmt.range.all(b, s, Math.min(z, s + 4999)) as Row[]) {
          yield { branch: b, seq: row.seq, body: this.body(row), hash: row.hash.toString('hex') }
        }
      }
    }
  }

  /** The seq of the last event of `kind` at or before `seq` on `branch` (following its ancestry), or null. */
  lastOfKind(branch: string, kind: string, seq: number): number | null {
    const q = this.db.prepare('SELECT max(seq) FROM events WHERE branch = ? AND kind = ? AND seq BETWEEN ? AND ?').pluck()
    for (const [b, a, z] of this.segments(branch, 1, seq).reverse()) {
      const found = q.get(b, kind, a, z) as number | null
      if (found !== null) return found
    }
    return null
  }

  event(branch: string, seq: number): EventRecord | null {
    return this.eventsOf(branch, seq, 1)[0] ?? null
  }

  /** The hash of event `seq` as seen from `branch` (the genesis hash for 0). */
  hashAt(branch: string, seq: number): string {
    if (seq <= 0) return GENESIS_HASH
    const owner = this.ownerOf(branch, seq)
    const h = this.stmt.hashOf.get(owner, seq) as Buffer | undefined
    if (!h) throw new LogFormatError(`${this.path}: event ${seq} of branch '${branch}' is missing`)
    return h.toString('hex')
  }

  /** Which branch physically holds event `seq` of `branch`. */
  ownerOf(branch: string, seq: number): string {
    let b = this.branchInfo(branch)
    while (b && b.parent !== null && seq <= b.forkSeq) b = this.branchInfo(b.parent)
    if (!b) throw new LogFormatError(`${this.path}: there is no branch '${branch}'`)
    return b.name
  }

  /** [owner, from, to] pieces covering seqs from..to of `branch`, oldest first. */
  private segments(branch: string, from: number, to: number): [string, number, number][] {
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

  private body(row: Row): string {
    if (!row.refs) return row.body
    let body = row.body
    // Offsets refer to the full text; re-insert front to back.
    for (const [at, h] of JSON.parse(row.refs) as [number, string][]) {
      const data = this.stmt.getBlob.get(h) as string | undefined
      if (data === undefined) throw new LogFormatError(`${this.path}: a stored value (${h.slice(0, 12)}…) is missing`)
      body = body.slice(0, at) + data + body.slice(at)
    }
    return body
  }

  // ---- branches ----------------------------------------------------------

  branchInfo(name: string): BranchInfo | null {
    const row = this.db.prepare('SELECT name, parent, fork_seq AS forkSeq, created FROM branches WHERE name = ?').get(name) as Omit<BranchInfo, 'head'> | undefined
    if (!row) return null
    const own = (this.stmt.maxSeq.get(name) as number | null) ?? null
    const pending = name === this.branch ? this.pending.length : 0
    return { ...row, head: (own ?? row.forkSeq) + pending }
  }

  branches(): BranchInfo[] {
    const names = this.db.prepare('SELECT name FROM branches ORDER BY created, name').pluck().all() as string[]
    return names.map((n) => this.branchInfo(n)!)
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
    return this.branchInfo(name)!
  }

  /** Deletes a branch and its own events; one that others were forked from, or the live one, stays. */
  deleteBranch(name: string): void {
    if (!this.branchInfo(name)) throw new Error(`there is no branch '${name}'`)
    const children = this.db.prepare('SELECT name FROM branches WHERE parent = ?').pluck().all(name) as string[]
    if (children.length) throw new Error(`branch '${name}' has branches forked from it (${children.join(', ')}); delete those first`)
    if (name === this.live) throw new Error(`branch '${name}' is the live branch; promote another first`)
    if (name === this.branch) throw new Error(`branch '${name}' is open for writing`)
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM events WHERE branch = ?').run(name)
      this.db.prepare('DELETE FROM snapshots WHERE branch = ?').run(name)
      this.db.prepare('DELETE FROM attempts WHERE branch = ?').run(name)
      this.db.prepare('DELETE FROM branches WHERE name = ?').run(name)
    })()
  }

  /** Switches which branch this log appends to. */
  useBranch(name: string): void {
    this.flush()
    if (!this.branchInfo(name)) throw new Error(`there is no branch '${name}'`)
    this.branch = name
    this.headSeq = this.branchInfo(name)!.head
    this.headHash = this.hashAt(name, this.headSeq)
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
    let last = this.lastSnapshot.get(this.branch)
    if (last === undefined) {
      last = (this.db.prepare('SELECT max(seq) FROM snapshots WHERE branch = ?').pluck().get(this.branch) as number | null) ?? 0
      this.lastSnapshot.set(this.branch, last)
    }
    if (seq - last >= this.snapshotEvery) this.putSnapshot(this.branch, seq, take())
  }

  putSnapshot(branch: string, seq: number, state: StoreSnapshot): void {
    this.lastSnapshot.set(branch, Math.max(seq, this.lastSnapshot.get(branch) ?? 0))
    this.flush()
    const data = JSON.stringify(state)
    this.db.prepare('INSERT OR REPLACE INTO snapshots (branch, seq, data, hash) VALUES (?, ?, ?, ?)').run(branch, seq, data, digest('sha256', data, 'hex'))
  }

  /**
   * The latest snapshot of `branch` itself at or before `seq` (snapshots are
   * per branch: a fork starts with one). Throws if its bytes do not match its hash.
   */
  snapshotAt(branch: string, seq: number): { seq: number; state: StoreSnapshot } | null {
    const row = this.db.prepare('SELECT seq, data, hash FROM snapshots WHERE branch = ? AND seq <= ? ORDER BY seq DESC LIMIT 1').get(branch, seq) as { seq: number; data: string; hash: string } | undefined
    if (!row) return null
    if (digest('sha256', row.data, 'hex') !== row.hash) throw new LogFormatError(`${this.path}: the snapshot of branch '${branch}' at event ${row.seq} is damaged (its hash does not match)`)
    return { seq: row.seq, state: JSON.parse(row.data) as StoreSnapshot }
  }

  *snapshots(branch: string): Generator<{ seq: number; ok: boolean }> {
    for (const row of this.db.prepare('SELECT seq, data, hash FROM snapshots WHERE branch = ? ORDER BY seq').iterate(branch) as Iterable<{ seq: number; data: string; hash: string }>) {
      yield { seq: row.seq, ok: digest('sha256', row.data, 'hex') === row.hash }
    }
  }

  /**
   * SQLite commits are atomic, so a crash cannot tear a group commit; this
   * checks the newest events of every branch anyway (a file copied mid-write,
   * a disk that lied) and cuts a tail whose hash chain does not hold.
   */
  private cutTornTails(): number {
    let dropped = 0
    for (const b of this.branches()) {
      const from = Math.max(b.parent === null ? 1 : b.forkSeq + 1, b.head - 1000)
      if (from > b.head) continue
      let parent = this.hashAt(b.name, from - 1)
      for (const row of this.stmt.range.all(b.name, from, b.head) as Row[]) {
        let ok = false
        try {
          ok = digest('sha256', parent + this.body(row), 'hex') === row.hash.toString('hex')
        } catch {
          ok = false
        }
        if (!ok) {
          const cut = this.db.prepare('DELETE FROM events WHERE branch = ? AND seq >= ?').run(b.name, row.seq)
          this.db.prepare('DELETE FROM snapshots WHERE branch = ? AND seq >= ?').run(b.name, row.seq)
          dropped += cut.changes
          break
        }
        parent = row.hash.toString('hex')
      }
    }
    return dropped
  }
}
