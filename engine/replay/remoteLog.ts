// The durable log as a confined engine process sees it (DESIGN §9): the same
// EventLog, but SQLite lives in the log host (logHost.ts, the process that
// started this one). Group commits cross the link (logLink.ts) and resolve
// when the host says they are durable; the few synchronous reads the engine
// makes (events, attempts, compiled cells) wait for the host's answer.
//
// No import of SQLite here, directly or not: this module runs where no native
// addon may be loaded.
import { readSync, writeSync } from 'node:fs'
import { Socket } from 'node:net'
import type { EventLog } from '../runtime/log.ts'
import { encodeEvents } from './chunk.ts'
import type { Timings } from './history/timings.ts'
import { PendingSide, type SideRecords } from './history/sideRecords.ts'
import type { Attempt, EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { KeptCells } from '../runtime/compile.ts'
import type { Resume } from '../runtime/engine.ts'
import { FrameReader, frame, LINK_FD, LINK_OUT_FD } from './logLink.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'

/** What the host says when the engine process opens the log. */
export interface Opened {
  path: string
  branch: string
  head: number
  /** The seq at which the log next wants a snapshot, and the distance between snapshots. */
  snapshotDue: number
  snapshotEvery: number
  resume: Resume | null
  /** What the launcher asks this process to do (the command's options): passed through, not read here. */
  job: unknown
  /** `loom serve`: there is no log yet (the engine asked without `create`). */
  absent?: true
  /** `loom serve`: the branch's history is damaged, so it takes no events (LogDamageError's fields); resume is null. */
  refused?: { message: string; path: string; damage: unknown[] } | null
  /** A log opened beside the first (a side handle, see LinkedLog.openSide): its number on the link. */
  h?: number
}

export interface StoredCodeItem {
  codeHash: string
  path: string
  code: string
  sources: { id: string; line: number; source: string }[]
}

/**
 * A group commit as it crosses: the events in their canonical encoding, as
 * the log stores them (encoded here, as the engine's thread does in one
 * process: the log host only checks and relays them to its writer thread),
 * and what goes with them.
 */
export interface CommitRequest {
  op: 'commit'
  first: number
  count: number
  /** One encoding per line (canonical JSON has no raw newline). The log host takes them as UTF-8 bytes (FrameReader 'bytes'). */
  texts: string | Uint8Array
  cuts: ([number, number][] | null)[]
  /** No kinds: each event's is in its text, where the log's writer reads it (checkEvents). */
  /** How long each event ran (profile): beside the log, outside the hash. */
  timings?: Timings
  code: string
  snapshots: [seq: number, data: string][]
  attempts: string[]
  /** Failed tests, errors and latencies found (history/sideRecords.ts): beside the log, outside the hash. */
  side?: SideRecords
  storedCode: StoredCodeItem[]
  cells: [key: string, cell: { code: string; map: string }][]
}

export type Request = { id: number; h?: number } & (
  | { op: 'open'; create?: boolean }
  | { op: 'log'; method: string; args: unknown[] }
  | CommitRequest
  | { op: 'events'; from: number; limit: number | null }
  | { op: 'attempts'; limit: number | null }
  | { op: 'cell'; key: string }
  | { op: 'close' }
  | { op: 'answer'; rid: number; response: HttpResponse }
  | { op: 'ready' }
  | { op: 'checked'; rid: number; failure: unknown }
  | { op: 'result'; value: unknown }
)

/** `texts`: a commit's answer carries its events' hashes there, raw (CommitValue). */
export type Reply = { id: number; ok: true; value: unknown; texts?: string } | { id: number; ok: false; error: string; damage?: unknown[]; path?: string; format?: true }

/** What the launcher sends unasked: a saved notebook's new text (`loom run --watch`), or a stop (Ctrl-C, SIGTERM). */
export type Push =
  | { push: 'code'; text: string }
  | { push: 'stop' }
  | { push: 'http'; rid: number; request: HttpRequest; deadlineMs?: number }
  /** The client of relayed request `rid` hung up. */
  | { push: 'cancel'; rid: number }
  /** A replay batch: the stored encodings, one per line (travelling raw), and each event's hash. */
  | { push: 'check'; rid: number; texts: string; hashes: string[] }

/**
 * The answer to a commit: the hash before the first event; each event's hash
 * follows in the reply's raw part (`texts`), 64 hex digits each, one after
 * another — the form events keep them in, so the engine takes each as it is.
 */
export type CommitValue = { parent: string }

const WAIT_MS = 60_000
const nap = new Int32Array(new SharedArrayBuffer(4))
/**
 * How long to sleep when the link is full (or has no answer yet) before trying again. A commit of a
 * thousand events is larger than the socket's buffer, so a send often waits for the launcher to read:
 * it reads within microseconds, and a whole millisecond's nap cost the confined run about a fifth of
 * its rate (measured with bench-isolation/confinedRun.mjs).
 */
const NAP_MS = 0.05

export class RemoteLog implements EventLog {
  private readonly reader = new FrameReader()
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; events?: EventRecord[] }>()
  /** Answers taken by a synchronous wait, by id. */
  private readonly answered = new Map<number, Reply>()
  private nextId = 1
  private socket: Socket | null = null
  private failed: Error | null = null
  private pending: EventRecord[] = []
  private pendingAttempts: Attempt[] = []
  /** Failed tests, errors and latencies, for the next commit (history/sideRecords.ts). */
  readonly side = new PendingSide()
  private pendingSnapshots: [number, StoreSnapshot][] = []
  private pendingCode: StoredCodeItem[] = []
  private pendingCells: [string, { code: string; map: string }][] = []
  private readonly unwrittenCells = new Map<string, { code: string; map: string }>()
  private sentSeq: number
  private due: number
  private lastCommit: Promise<void> = Promise.resolve()
  private onPushed: ((push: Push) => void) | null = null
  /** Pushes that came before anyone took them (a save or a stop while the notebook was loading): handed over, in order, once someone does. */
  private early: Push[] = []
  private kept = false
  readonly opened: Opened
  /** The branch commits go to (continueOn changes it). */
  protected current: string
  /** The link's owner: this log, or for a side handle the log that opened it (whose link it shares). */
  protected readonly link: RemoteLog
  /** This log's number on the link: 0 for the first. */
  readonly h: number

  /** Opens the log through the link: answers come on `fd`, frames go on `out` (blocks until the host answers). */
  static open(fd = LINK_FD, out = LINK_OUT_FD): RemoteLog {
    return new RemoteLog(fd, { op: 'open' }, undefined, out)
  }

  /** `side`: a log the host opened beside `side.link`'s, sharing its link. `out`: where frames go (LINK_OUT_FD), when not on `fd`. */
  protected constructor(protected readonly fd: number, openRequest: object = { op: 'open' }, side?: { link: RemoteLog; opened: Opened }, private readonly out = fd) {
    this.link = side?.link ?? this
    this.h = side?.opened.h ?? 0
    this.opened = side?.opened ?? (this.call(openRequest) as Opened)
    this.current = this.opened.branch
    this.sentSeq = this.opened.head
    this.due = this.opened.snapshotDue
    if (side) return
    // Answers to pipelined commits arrive while the engine runs on.
    const socket = new Socket({ fd, readable: true, writable: false })
    socket.on('data', (bytes: Buffer) => {
      this.reader.push(bytes)
      this.dispatch()
    })
    const lost = () => this.fail(new Error(`${this.opened.path}: the log host is gone; nothing after event ${this.sentSeq} is known to be durable`))
    socket.on('end', lost)
    socket.on('error', lost)
    socket.unref()
    this.socket = socket
  }

  get path(): string {
    return this.opened.path
  }
  get branch(): string {
    return this.current
  }
  get head(): number {
    return this.sentSeq + this.pending.length
  }

  append(event: EventRecord): void {
    if (event.seq <= this.head) return
    if (event.seq !== this.head + 1) throw new Error(`log: expected event ${this.head + 1}, got ${event.seq}`)
    this.pending.push(event)
  }

  /** Group commit, synchronously: returns once the host has everything appended so far durable. */
  flush(): void {
    const id = this.sendCommit()
    // Answers come in order: the last commit's answer means every earlier one was answered.
    if (id !== null) this.link.wait(id)
    else this.link.drain()
    if (this.link.failed) throw this.link.failed
  }

  /** Group commit, pipelined: resolves once the host says it is durable. */
  flushAsync(): Promise<void> {
    if (this.link.failed) return Promise.reject(this.link.failed)
    const id = this.sendCommit()
    if (id === null) return this.lastCommit
    return (this.lastCommit = this.link.promiseOf(id).then(() => undefined))
  }

  events(from = 1, limit = Infinity): EventRecord[] {
    this.flush()
    return this.link.call({ op: 'events', h: this.h, from, limit: Number.isFinite(limit) ? limit : null }) as EventRecord[]
  }

  addAttempt(attempt: Attempt): void {
    this.pendingAttempts.push(attempt)
  }


  attempts(limit?: number): Attempt[] {
    this.flush()
    return this.link.call({ op: 'attempts', h: this.h, limit: limit ?? null }) as Attempt[]
  }

  putCode(code: StoredCodeItem): void {
    this.pendingCode.push({ codeHash: code.codeHash, path: code.path, code: code.code, sources: code.sources })
  }

  readonly keptCells: KeptCells = {
    get: (key) => this.unwrittenCells.get(key) ?? (this.link.call({ op: 'cell', h: this.h, key }) as { code: string; map: string } | null),
    put: (key, cell) => {
      this.unwrittenCells.set(key, cell)
      this.pendingCells.push([key, cell])
    },
  }

  offerSnapshot(seq: number, take: () => StoreSnapshot): void {
    if (seq < this.due) return
    this.pendingSnapshots.push([seq, take()])
    this.due = (Math.floor(seq / this.opened.snapshotEvery) + 1) * this.opened.snapshotEvery
  }

  snapshotDue(): number {
    return this.due
  }

  /** Takes what the launcher sends unasked; `keepAlive`: and keeps the process alive to hear it (--watch). */
  onPush(fn: (push: Push) => void, keepAlive: boolean): void {
    this.onPushed = fn
    for (const push of this.early.splice(0)) setImmediate(() => this.onPushed?.(push))
    if (!keepAlive) return
    this.kept = true
    this.socket?.ref()
  }

  /** A read of the launcher's log for a confined replay (event, lastOfKind, getCode: history requests, read-only), answered synchronously. */
  read(what: 'event' | 'lastOfKind' | 'getCode', ...args: unknown[]): unknown {
    return this.call({ op: 'log', method: what, args })
  }

  /** A confined replay's verdict on a batch the launcher sent. */
  checked(rid: number, failure: unknown): void {
    if (this.failed) return
    const id = this.send({ op: 'checked', rid, failure })
    this.waiting.set(id, { resolve: () => {}, reject: () => {} })
  }

  /** A job's one answer (explore, replay --code, a trace to commit), after everything committed before it. */
  result(value: unknown): void {
    this.flush()
    this.call({ op: 'result', value })
  }

  /** The app is open and running: the launcher may start serving it. */
  ready(): void {
    if (this.failed) return
    const id = this.send({ op: 'ready' })
    this.waiting.set(id, { resolve: () => {}, reject: () => {} })
  }

  /** The app's answer to a request the launcher relayed (its server is outside this process). */
  answer(rid: number, response: HttpResponse): void {
    if (this.failed) return
    const id = this.send({ op: 'answer', rid, response })
    this.waiting.set(id, { resolve: () => {}, reject: () => {} })
  }

  /** Makes everything durable and lets the host close the log. */
  close(): void {
    this.kept = false
    if (this.link !== this) {
      this.flush()
      this.link.call({ op: 'close', h: this.h })
      return
    }
    try {
      this.flush()
      this.call({ op: 'close' })
    } finally {
      this.socket?.destroy()
      this.socket = null
    }
  }

  // ---- the link ----------------------------------------------------------

  /** Forgets what was appended and not yet sent (it was never acknowledged). */
  protected discardUnsent(): void {
    this.pending = []
    this.pendingAttempts = []
    this.side.discard()
    this.pendingSnapshots = []
  }

  /** After the host switched this log's branch: commits follow that branch's head. */
  protected switched(branch: string, head: number, snapshotDue: number): void {
    this.current = branch
    this.sentSeq = head
    this.due = snapshotDue
  }

  /** Sends pending work as one commit; its id, or null when there was nothing. */
  protected sendCommit(): number | null {
    if (this.link.failed) throw this.link.failed
    if (!this.pending.length && !this.pendingAttempts.length && !this.side.waiting && !this.pendingSnapshots.length && !this.pendingCode.length && !this.pendingCells.length) return null
    const events = this.pending
    const { kinds: _, ...encoded } = encodeEvents(events)
    const side = this.side.take()
    const request: CommitRequest = {
      op: 'commit', ...(this.h ? { h: this.h } : {}), first: events.length ? events[0]!.seq : this.sentSeq + 1, ...encoded,
      code: events.length ? events[events.length - 1]!.codeHash : '',
      snapshots: this.pendingSnapshots.map(([seq, state]) => [seq, JSON.stringify(state)]),
      attempts: this.pendingAttempts.map((a) => JSON.stringify(a)),
      ...(side ? { side } : {}),
      storedCode: this.pendingCode, cells: this.pendingCells,
    }
    this.pending = []
    this.pendingAttempts = []
    this.pendingSnapshots = []
    this.pendingCode = []
    this.pendingCells = []
    if (events.length) this.sentSeq = events[events.length - 1]!.seq
    const id = this.link.send(request)
    this.link.waiting.set(id, { resolve: () => {}, reject: () => {}, events })
    return id
  }

  private send(request: object): number {
    const id = this.nextId++
    const bytes = frame({ id, ...request })
    let at = 0
    const start = Date.now()
    while (at < bytes.length) {
      try {
        at += writeSync(this.out, bytes, at, bytes.length - at)
      } catch (err) {
        // EAGAIN only where frames share the socket answers come on (libuv reads it, non-blocking): serve's engine.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw this.fail(new Error(`${this.opened?.path ?? 'log'}: the log host is gone (${(err as Error).message})`))
        if (Date.now() - start > WAIT_MS) throw this.fail(new Error('the log host has not read for 60 s'))
        Atomics.wait(nap, 0, 0, NAP_MS)
      }
    }
    return id
  }

  private promiseOf(id: number): Promise<unknown> {
    const w = this.waiting.get(id)
    const answered = this.answered.get(id)
    if (answered) {
      this.answered.delete(id)
      return answered.ok ? Promise.resolve(answered.value) : Promise.reject(new Error(answered.error))
    }
    if (!w) return this.failed ? Promise.reject(this.failed) : Promise.resolve()
    this.socket?.ref()
    return new Promise((resolve, reject) => {
      w.resolve = resolve
      w.reject = reject
    })
  }

  /** A request answered synchronously. */
  protected call(request: object): unknown {
    const id = this.send(request)
    this.waiting.set(id, { resolve: () => {}, reject: () => {} })
    const reply = this.wait(id)
    if (!reply.ok) throw this.errorOf(reply)
    return reply.value
  }

  /** The error a refused request throws here. */
  protected errorOf(reply: Extract<Reply, { ok: false }>): Error {
    return new Error(reply.error)
  }

  /** Blocks until the answer to `id` is in, reading the link directly (the event loop is not running meanwhile). */
  private wait(id: number): Reply {
    const start = Date.now()
    const buf = Buffer.allocUnsafe(1 << 16)
    for (;;) {
      this.dispatch()
      const got = this.answered.get(id)
      if (got) {
        this.answered.delete(id)
        return got
      }
      if (this.failed) throw this.failed
      let n: number
      try {
        n = readSync(this.fd, buf, 0, buf.length, null)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw this.fail(new Error(`the log host is gone (${(err as Error).message})`))
        if (Date.now() - start > WAIT_MS) throw this.fail(new Error(`the log host has not answered for 60 s; nothing after the last acknowledged event is known to be durable`))
        Atomics.wait(nap, 0, 0, NAP_MS)
        continue
      }
      if (n === 0) throw this.fail(new Error('the log host closed the link'))
      this.reader.push(Buffer.from(buf.subarray(0, n)))
    }
  }

  /** Waits for every commit sent so far. */
  private drain(): void {
    const ids = [...this.waiting.keys()]
    if (ids.length) this.wait(ids[ids.length - 1]!)
  }

  /** Hands out every whole answer received. */
  private dispatch(): void {
    this.reader.drain((message) => {
      if (typeof message === 'object' && message !== null && 'push' in message) {
        const push = message as Push
        if ((push.push === 'code' && typeof push.text === 'string') || push.push === 'stop' || (push.push === 'http' && typeof push.request === 'object') || (push.push === 'cancel' && Number.isSafeInteger(push.rid)) || (push.push === 'check' && typeof push.texts === 'string' && Array.isArray(push.hashes))) {
          if (this.onPushed) setImmediate(() => this.onPushed?.(push))
          else this.early.push(push)
        }
        return
      }
      const reply = message as Reply
      const w = this.waiting.get(reply.id)
      if (!w) return
      this.waiting.delete(reply.id)
      if (!this.waiting.size && !this.kept) this.socket?.unref()
      if (reply.ok && w.events) {
        const parent = (reply.value as CommitValue | null)?.parent
        const hexes = reply.texts ?? ''
        // An answer that does not give each event its hash leaves the log's state unknown: the link has failed.
        if (typeof parent !== 'string' || hexes.length !== 64 * w.events.length) {
          this.fail(new Error(`${this.opened.path}: the log host answered a commit of ${w.events.length} events without their hashes`))
          return w.reject(this.failed!)
        }
        let p = parent
        for (let i = 0; i < w.events.length; i++) {
          const e = w.events[i]!
          e.parentHash = p
          e.hash = p = hexes.slice(i * 64, i * 64 + 64)
        }
      }
      // A refused commit leaves nothing after it known durable: the log has failed. A refused read or change is that request's answer.
      if (!reply.ok && w.events) {
        this.fail(new Error(reply.error))
        w.reject(this.failed!)
      } else if (!reply.ok) w.reject(this.errorOf(reply))
      else w.resolve(reply.value)
      this.answered.set(reply.id, reply)
      // A promise that was made will not ask again; keep only what a synchronous wait may come for.
      if (this.answered.size > 64) this.answered.delete(this.answered.keys().next().value!)
    }, (err) => this.fail(err))
  }

  private fail(err: Error): Error {
    this.failed ??= err
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id)
      w.reject(this.failed)
    }
    return this.failed
  }
}
