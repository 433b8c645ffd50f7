// Appending to one branch: events wait in memory until the engine's batch
// ends, then go as one group commit (one SQLite transaction, one fsync) —
// written here, or in the log's writer thread while the engine runs on —
// and are acknowledged, with their hashes, only once durable. The heads
// record is written after each commit, before anyone hears of its events.
import type Database from 'better-sqlite3'
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import { writeChunk, encodeEvents, ConflictError, type Chunk, type Written } from '../chunk.ts'
import { LogFormatError, type LogDamageError } from '../logErrors.ts'
import { HeadsWriter } from '../headsFile.ts'
import { headsPath } from '../dbPath.ts'
import { contentHash } from './hashChain.ts'
import type { Ack } from '../logWriter.ts'
import { PendingSide, type SideRecords } from './sideRecords.ts'
import type { Attempt, EventRecord } from '../../runtime/event.ts'
import type { StoreSnapshot } from '../../runtime/store.ts'

/** The branch a GroupCommit appends to, as it stands when it starts. */
export interface Target {
  id: number
  name: string
  forkSeq: number
  created: number
  /** Its last event, and that event's hash ('' when it cannot be read: a damaged branch, which takes no events). */
  head: number
  headHash: string
  /** Why it takes no events (its history is damaged), or null. */
  refused: LogDamageError | null
  /** The seq of its own newest snapshot, or null (asked when first needed). */
  newestSnapshot: () => number | null
}

/** Events already in their canonical encoding (see Chunk), with the snapshots and attempts that go with them. */
export interface EncodedCommit {
  first: number
  count: number
  /** As a string, or as UTF-8 bytes, which move to the writer thread unread. */
  texts: string | Uint8Array
  cuts: Chunk['cuts']
  /** Absent from a confined engine's commit: the writer reads each event's kind from its text (checkEvents). */
  kinds?: string[]
  timings?: Chunk['timings']
  code: string
  snapshots: [seq: number, data: string][]
  attempts: string[]
  side?: SideRecords
}

export interface GroupCommitOptions {
  path: string
  fsync: boolean
  /** With a writer thread: whether it fsyncs (null: no writer thread). */
  writerFsync: boolean | null
  maxAttempts: number
  snapshotEvery: number
  /** The writer thread's entry (logWriter.boot.js), as the opener finds it: beside the sources, or beside the bundle. */
  writerUrl: URL
}

type Waiting = { events: EventRecord[]; resolve: () => void; reject: (err: Error) => void; promise: Promise<void>; encoded?: { last: number; written: (w: Written) => void } }

export class GroupCommit {
  private pending: EventRecord[] = []
  private pendingAttempts: Attempt[] = []
  /** Failed tests, errors and latencies, for the next group commit (history/sideRecords.ts). */
  readonly side = new PendingSide()
  private pendingSnapshots: [seq: number, data: string, hash: string][] = []
  /** The last seq handed to be written, the last one known durable, and its hash. */
  private sentSeq: number
  private ackedSeq: number
  private headHash: string
  private writer: { worker: Worker; port: MessagePort; signal: Int32Array; posted: number; waiting: Waiting[] } | null = null
  private failed: LogFormatError | null = null
  /** Writes the heads record after each group commit this thread makes (opened at the first). */
  private headsWriter: HeadsWriter | null = null
  /** The seq of the last snapshot kept or due, per branch. */
  private readonly lastSnapshot = new Map<string, number>()

  constructor(private readonly db: Database.Database, private readonly options: GroupCommitOptions, private target: Target) {
    this.sentSeq = this.ackedSeq = target.head
    this.headHash = target.headHash
  }

  get branch(): string {
    return this.target.name
  }

  get head(): number {
    return this.sentSeq + this.pending.length
  }

  /** Appends to another branch from now on (everything before is written first). */
  retarget(target: Target): void {
    this.flush()
    this.target = target
    this.sentSeq = this.ackedSeq = target.head
    this.headHash = target.headHash
  }

  /** The heads record this connection writes (deleting a branch clears its slot). */
  heads(): HeadsWriter {
    return (this.headsWriter ??= new HeadsWriter(headsPath(this.options.path), this.options.fsync))
  }

  refusal(): LogDamageError | null {
    return this.target.refused
  }

  append(event: EventRecord): void {
    if (event.seq <= this.head) return
    if (this.target.refused) throw this.target.refused
    if (event.seq !== this.head + 1) throw new Error(`log: expected event ${this.head + 1}, got ${event.seq}`)
    this.pending.push(event)
  }

  addAttempt(attempt: Attempt): void {
    this.pendingAttempts.push(attempt)
  }


  /** Forgets events appended but not yet flushed (they were never acknowledged). */
  discardPending(): void {
    this.pending = []
    this.pendingSnapshots = []
    this.pendingAttempts = []
    this.side.discard()
  }

  /** Keeps a snapshot every `snapshotEvery` events of the branch being written. */
  offerSnapshot(seq: number, take: () => StoreSnapshot): void {
    if (seq < this.snapshotDue()) return
    // Written in the same transaction as the events up to `seq`, at the next flush.
    const data = JSON.stringify(take())
    this.pendingSnapshots.push([seq, data, contentHash(data)])
    this.lastSnapshot.set(this.target.name, seq)
  }

  snapshotDue(): number {
    let last = this.lastSnapshot.get(this.target.name)
    if (last === undefined) {
      last = this.target.newestSnapshot() ?? this.target.forkSeq
      this.lastSnapshot.set(this.target.name, last)
    }
    // Snapshots land on multiples of K, so a seek applies fewer than K write sets.
    const k = this.options.snapshotEvery
    return (Math.floor(last / k) + 1) * k
  }

  /** A snapshot of `branch` at `seq` was written directly (a fork's first). */
  noteSnapshot(branch: string, seq: number): void {
    this.lastSnapshot.set(branch, Math.max(seq, this.lastSnapshot.get(branch) ?? 0))
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
      if (events.length) this.heads().write({ id: chunk.branch, name: chunk.branchName, created: chunk.created, seq: events[events.length - 1]!.seq, hash: written.last })
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
    if (!this.writer && this.options.writerFsync !== null && this.db.open) this.startWriter(this.options.writerFsync)
    if (!this.writer) {
      this.flush()
      return Promise.resolve()
    }
    if (this.failed) return Promise.reject(this.failed)
    const sealed = this.seal()
    if (!sealed) return this.writer.waiting.at(-1)?.promise ?? Promise.resolve()
    const { chunk, events } = sealed
    return this.post(chunk, events)
  }

  /**
   * A group commit encoded elsewhere — by a confined engine process, whose
   * events reach this log as their canonical encodings (logHost.ts checks
   * them) — written as it is, by the writer thread when there is one.
   * Resolves with the events' hashes once durable. `untrusted`: the events
   * are checked where they are split to be hashed (checkEvents), and a commit
   * that fails the check is refused like one SQLite could not write.
   */
  commitEncoded(part: EncodedCommit, untrusted = false): Promise<Written> {
    if (!this.writer && this.options.writerFsync !== null && this.db.open) this.startWriter(this.options.writerFsync)
    if (this.failed) return Promise.reject(this.failed)
    if (this.pending.length) throw new Error('log: an encoded commit while events are pending')
    const first = part.count ? part.first : this.sentSeq + 1
    if (part.count && part.first !== this.sentSeq + 1) throw new Error(`log: expected event ${this.sentSeq + 1}, got ${part.first}`)
    const snapshots = part.snapshots.map(([seq, data]): [number, string, string] => [seq, data, contentHash(data)])
    for (const [seq] of snapshots) this.lastSnapshot.set(this.target.name, seq)
    const chunk = this.chunk(first, { texts: part.texts, count: part.count, cuts: part.cuts, kinds: part.kinds ?? [], ...(part.timings ? { timings: part.timings } : {}) }, part.code, snapshots, part.attempts)
    if (part.side) chunk.side = part.side
    if (untrusted) chunk.untrusted = true
    const last = first + part.count - 1
    if (part.count) this.sentSeq = last
    if (!this.writer) {
      try {
        const written = writeChunk(this.db, chunk, this.headHash)
        // Recorded outside SQLite before anyone hears of these events, as flush() does (see headsFile.ts).
        if (part.count) this.heads().write({ id: chunk.branch, name: chunk.branchName, created: chunk.created, seq: last, hash: written.last })
        this.advance(last, written.last)
        return Promise.resolve(written)
      } catch (err) {
        this.sentSeq = this.ackedSeq
        return Promise.reject(err instanceof ConflictError ? new LogFormatError(err.message) : err)
      }
    }
    let result!: Written
    return this.post(chunk, [], { last, written: (w) => (result = w) }).then(() => result)
  }

  private chunk(first: number, events: Pick<Chunk, 'texts' | 'count' | 'cuts' | 'kinds' | 'timings'>, code: string, snapshots: Chunk['snapshots'], attempts: string[]): Chunk {
    const t = this.target
    return {
      path: this.options.path, branch: t.id, branchName: t.name, forkSeq: t.forkSeq, created: t.created,
      parent: this.ackedSeq === first - 1 ? this.headHash : null,
      first, ...events, code, snapshots, attempts, maxAttempts: this.options.maxAttempts,
    }
  }

  /** Hands a chunk to the writer thread; resolves when it is durable. */
  private post(chunk: Chunk, events: EventRecord[], encoded?: Waiting['encoded']): Promise<void> {
    const w = this.writer!
    let resolve!: () => void, reject!: (err: Error) => void
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
    w.waiting.push({ events, resolve, reject, promise, ...(encoded ? { encoded } : {}) })
    // Keep the process alive until the writer answers: an unanswered commit must not be dropped at exit.
    w.port.ref()
    w.posted++
    // Texts as bytes in a buffer of their own (FrameReader) are moved, not copied.
    const t = chunk.texts
    w.port.postMessage(chunk, typeof t !== 'string' && t.byteOffset === 0 && t.byteLength === t.buffer.byteLength && t.buffer instanceof ArrayBuffer ? [t.buffer] : undefined)
    return promise
  }

  /** Seals pending events, snapshots and attempts into a chunk (null when there is nothing). */
  private seal(): { chunk: Chunk; events: EventRecord[] } | null {
    if (!this.pending.length && !this.pendingAttempts.length && !this.side.waiting && !this.pendingSnapshots.length) return null
    const events = this.pending
    const first = events.length ? events[0]!.seq : this.sentSeq + 1
    const code = events.length ? events[events.length - 1]!.codeHash : ''
    const chunk = this.chunk(first, encodeEvents(events), code, this.pendingSnapshots, this.pendingAttempts.map((a) => JSON.stringify(a)))
    const side = this.side.take()
    if (side) chunk.side = side
    if (events.length) this.sentSeq = events[events.length - 1]!.seq
    this.discardPending()
    return { chunk, events }
  }

  /** Events are durable: give them their hashes (they are announced after this). */
  private acknowledge(events: EventRecord[], written: Written): void {
    let parent = written.parent
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!
      e.parentHash = parent
      e.hash = parent = written.hashes.slice(i * 64, i * 64 + 64)
    }
    if (events.length) this.advance(events[events.length - 1]!.seq, written.last)
  }

  private advance(last: number, hash: string): void {
    if (last > this.ackedSeq) {
      this.ackedSeq = last
      this.headHash = hash
    }
  }

  /** Blocks until the writer thread has written everything handed to it, and takes its answers. */
  private drain(): void {
    const w = this.writer
    if (!w) return
    if (!waitFor(w.signal, w.posted, 60_000)) {
      this.failed ??= new LogFormatError(`${this.options.path}: the log writer has not answered for 60 s; nothing after event ${this.ackedSeq} is known to be durable`)
    }
    for (let msg = receiveMessageOnPort(w.port); msg; msg = receiveMessageOnPort(w.port)) this.onAck(msg.message as Ack)
    if (this.failed) throw this.failed
  }

  private onAck(ack: Ack): void {
    const waiting = this.writer!.waiting.shift()!
    if (!this.writer!.waiting.length) this.writer!.port.unref()
    if (ack.ok) {
      const written = { hashes: ack.hashes, parent: ack.parent, last: ack.last }
      this.acknowledge(waiting.events, written)
      if (waiting.encoded) {
        this.advance(waiting.encoded.last, written.last)
        waiting.encoded.written(written)
      }
      waiting.resolve()
    } else if (ack.refused) {
      // A confined engine's forged commit: nothing of it was written, and what was acknowledged stands.
      this.sentSeq = this.ackedSeq
      waiting.reject(new Error(ack.error))
    } else {
      // Nothing after a failed chunk can be written: the chain would have a hole.
      this.failed ??= new LogFormatError(ack.error)
      this.sentSeq = this.ackedSeq
      waiting.reject(this.failed)
    }
  }

  /** Stops the writer thread (once everything handed to it is written) and closes the heads record. */
  stop(): void {
    if (this.writer) {
      const { port, worker, signal, posted } = this.writer
      this.writer = null
      port.postMessage('close')
      waitFor(signal, posted + 1, 5000)
      port.close()
      void worker.terminate()
    }
    this.headsWriter?.close()
  }

  /** Starts the writer thread: group commits are then written beside the engine instead of in its way. */
  private startWriter(fsync: boolean): void {
    const { port1, port2 } = new MessageChannel()
    const signal = new Int32Array(new SharedArrayBuffer(4))
    const worker = new Worker(this.options.writerUrl, {
      workerData: { path: this.options.path, heads: headsPath(this.options.path), fsync, port: port2, signal },
      transferList: [port2],
    })
    worker.unref()
    port1.on('message', (ack: Ack) => this.onAck(ack))
    port1.unref()
    const fail = (why: string) => {
      this.failed ??= new LogFormatError(`${this.options.path}: the log writer stopped (${why}); nothing after the last acknowledged event was written`)
      for (const w of this.writer?.waiting.splice(0) ?? []) w.reject(this.failed)
      if (this.writer) this.writer.posted = Atomics.load(this.writer.signal, 0)
    }
    worker.on('error', (err) => fail(err.message))
    worker.on('exit', (code) => this.writer && fail(`exit ${code}`))
    this.writer = { worker, port: port1, signal, posted: 0, waiting: [] }
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
