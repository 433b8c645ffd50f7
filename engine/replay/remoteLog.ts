// The durable log as a confined engine process sees it (DESIGN §9): the same
// EventLog, but SQLite lives in the log host (logHost.ts, the process that
// started this one). Group commits cross the link (logLink.ts) and resolve
// when the host says they are durable; the few synchronous reads the engine
// makes (events, attempts, compiled cells) wait for the host's answer.
//
// No import of SQLite here, directly or not: this module runs where no native
// addon may be loaded.

import type { EffectRequest } from '../runtime/effects/request.ts'
import type { Performed } from '../runtime/effects/effectRunner.ts'
import type { EventLog } from '../runtime/log.ts'
import { encodeEvents } from './chunk.ts'
import { PendingSide } from './history/sideRecords.ts'
import type { Attempt, EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { KeptCells } from '../runtime/transformCell.ts'
import type { HttpResponse } from '../runtime/http.ts'
import { LINK_FD, LINK_OUT_FD } from './logLink.ts'
import { LinkClient } from './linkClient.ts'
import { errorOfRefusal } from './linkRefusal.ts'
import type { CommitRequest, CommitValue, Opened, Push, Reply, StoredCodeItem } from './logProtocol.ts'

export class RemoteLog implements EventLog {
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
  readonly opened: Opened
  /** The branch commits go to (continueOn changes it). */
  protected current: string
  /** The link, shared by this log and the side handles opened through it. */
  protected readonly link: LinkClient
  /** This log's number on the link: 0 for the first. */
  readonly h: number
  /** Opened beside the first log, on its link. */
  private readonly beside: boolean

  /** Opens the log through the link: answers come on `fd`, frames go on `out` (blocks until the host answers). */
  static open(fd = LINK_FD, out = LINK_OUT_FD): RemoteLog {
    return new RemoteLog(fd, { op: 'open' }, undefined, out)
  }

  /** `side`: a log the host opened beside the first on `side.link`. `out`: where frames go (LINK_OUT_FD), when not on `fd`. */
  protected constructor(protected readonly fd: number, openRequest: object = { op: 'open' }, side?: { link: LinkClient; opened: Opened }, out = fd) {
    this.link = side?.link ?? new LinkClient(fd, out, (reply) => this.errorOf(reply))
    this.h = side?.opened.h ?? 0
    this.beside = !!side
    this.opened = side?.opened ?? (this.link.call(openRequest) as Opened)
    this.current = this.opened.branch
    this.sentSeq = this.opened.head
    this.due = this.opened.snapshotDue
    if (side) return
    this.link.path = this.opened.path
    // Answers to pipelined commits arrive while the engine runs on.
    this.link.listen(() => `${this.opened.path}: the log host is gone; nothing after event ${this.sentSeq} is known to be durable`)
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
    this.link.onPush(fn, keepAlive)
  }

  /** A read of the launcher's log for a confined replay (event, lastOfKind, getCode: history requests, read-only), answered synchronously. */
  read(what: 'event' | 'lastOfKind' | 'getCode', ...args: unknown[]): unknown {
    return this.link.call({ op: 'log', method: what, args })
  }

  /** A confined replay's verdict on a batch the launcher sent. */
  checked(rid: number, failure: unknown): void {
    this.link.post({ op: 'checked', rid, failure })
  }

  /** A job's one answer (explore, replay --code, a trace to commit), after everything committed before it. */
  result(value: unknown): void {
    this.flush()
    this.link.call({ op: 'result', value })
  }

  /** The app is open and running: the launcher may start serving it. */
  ready(): void {
    this.link.post({ op: 'ready' })
  }

  /** The app's answer to a request the launcher relayed (its server is outside this process). */
  answer(rid: number, response: HttpResponse): void {
    this.link.post({ op: 'answer', rid, response })
  }

  /** A safe read performed by the launcher (the only one here that may reach the world, and only where the notebook grants). */
  effect(request: EffectRequest): Promise<Performed> {
    return this.link.promiseOf(this.link.send({ op: 'effect', request }, { outOfTurn: true })) as Promise<Performed>
  }

  /** Makes everything durable and lets the host close the log (a side handle: only its own). */
  close(): void {
    if (this.beside) {
      this.flush()
      this.link.call({ op: 'close', h: this.h })
      return
    }
    this.link.release()
    try {
      this.flush()
      this.link.call({ op: 'close' })
    } finally {
      this.link.close()
    }
  }

  /** Forgets what was appended and not yet sent (it was never acknowledged). */
  protected discardUnsent(): void {
    // Code and compiled cells are the log's, not the branch's: they still go with the next commit.
    this.pending = []
    this.pendingAttempts = []
    this.pendingSnapshots = []
    this.side.discard()
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
    const { events, attempts, snapshots, code, cells } = this.takePending()
    const { kinds: _, ...encoded } = encodeEvents(events)
    const side = this.side.take()
    const request: CommitRequest = {
      op: 'commit', ...(this.h ? { h: this.h } : {}), first: events.length ? events[0]!.seq : this.sentSeq + 1, ...encoded,
      code: events.length ? events[events.length - 1]!.codeHash : '',
      snapshots: snapshots.map(([seq, state]) => [seq, JSON.stringify(state)]),
      attempts: attempts.map((a) => JSON.stringify(a)),
      ...(side ? { side } : {}),
      storedCode: code, cells,
    }
    if (events.length) this.sentSeq = events[events.length - 1]!.seq
    return this.link.send(request, { fatal: true, take: (reply) => this.hashed(events, reply) })
  }

  /** Gives each committed event its hash from the answer; what is wrong with an answer that does not (the log's state is then unknown). */
  private hashed(events: EventRecord[], reply: Extract<Reply, { ok: true }>): string | null {
    const parent = (reply.value as CommitValue | null)?.parent
    const hexes = reply.texts ?? ''
    if (typeof parent !== 'string' || hexes.length !== 64 * events.length) return `${this.opened.path}: the log host answered a commit of ${events.length} events without their hashes`
    let p = parent
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!
      e.parentHash = p
      e.hash = p = hexes.slice(i * 64, i * 64 + 64)
    }
    return null
  }

  /** What was appended and not sent yet, taken (the log holds none after). */
  private takePending() {
    const taken = { events: this.pending, attempts: this.pendingAttempts, snapshots: this.pendingSnapshots, code: this.pendingCode, cells: this.pendingCells }
    this.pending = []
    this.pendingAttempts = []
    this.pendingSnapshots = []
    this.pendingCode = []
    this.pendingCells = []
    return taken
  }

  /** The error a refused request throws here: a damaged or unusable log keeps its kind (the process says it, not a stack). */
  protected errorOf(reply: Extract<Reply, { ok: false }>): Error {
    return errorOfRefusal(reply)
  }
}
