// The engine process's end of the log link: requests numbered and sent as
// frames, answered in order by the log host — synchronously (the engine
// blocks reading the link while the event loop is not running) or as a
// promise (pipelined commits) — and what the launcher pushes unasked.
// RemoteLog and its side handles share one.
import { readSync, writeSync } from 'node:fs'
import { Socket } from 'node:net'
import { FrameReader, frame } from './logLink.ts'
import type { Push, Reply } from './logProtocol.ts'

const WAIT_MS = 60_000
const nap = new Int32Array(new SharedArrayBuffer(4))
/**
 * How long to sleep when the link is full (or has no answer yet) before trying again. A commit of a
 * thousand events is larger than the socket's buffer, so a send often waits for the launcher to read:
 * it reads within microseconds, and a whole millisecond's nap cost the confined run about a fifth of
 * its rate (measured with bench-isolation/confinedRun.mjs).
 */
const NAP_MS = 0.05

/** A request waiting for its answer. `fatal`: a refusal fails the link (a commit: nothing after it is known durable). `take`: checks an answer before it is handed out; a message fails the link. */
interface Waiting {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  fatal?: boolean
  take?: (reply: Extract<Reply, { ok: true }>) => string | null
  /** Answered when done, not in turn (a safe read the host performs, as long as the world takes): a drain does not wait for it. */
  outOfTurn?: true
}

export class LinkClient {
  private readonly reader = new FrameReader()
  private readonly waiting = new Map<number, Waiting>()
  /** Answers taken by a synchronous wait, by id. */
  private readonly answered = new Map<number, Reply>()
  private nextId = 1
  private socket: Socket | null = null
  private onPushed: ((push: Push) => void) | null = null
  /** Pushes that came before anyone took them (a save or a stop while the notebook was loading): handed over, in order, once someone does. */
  private early: Push[] = []
  private kept = false
  failed: Error | null = null
  /** The log's path, for messages (known once it is open). */
  path = 'log'

  /** Answers come on `fd`, frames go on `out`; `errorOf`: the error a refused request throws. */
  constructor(
    private readonly fd: number,
    private readonly out: number,
    private readonly errorOf: (reply: Extract<Reply, { ok: false }>) => Error,
  ) {}

  /** Listens for answers while the engine runs on (pipelined commits, pushes); `lost` says what is lost if the host goes. */
  listen(lost: () => string): void {
    const socket = new Socket({ fd: this.fd, readable: true, writable: false })
    socket.on('data', (bytes: Buffer) => {
      this.reader.push(bytes)
      this.dispatch()
    })
    const gone = () => this.fail(new Error(lost()))
    socket.on('end', gone)
    socket.on('error', gone)
    socket.unref()
    this.socket = socket
  }

  /** Sends a request; its id. */
  send(request: object, waiting: Omit<Waiting, 'resolve' | 'reject'> = {}): number {
    const id = this.nextId++
    const bytes = frame({ id, ...request })
    let at = 0
    const start = Date.now()
    while (at < bytes.length) {
      try {
        at += writeSync(this.out, bytes, at, bytes.length - at)
      } catch (err) {
        // EAGAIN only where frames share the socket answers come on (libuv reads it, non-blocking): serve's engine.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw this.fail(new Error(`${this.path}: the log host is gone (${(err as Error).message})`))
        if (Date.now() - start > WAIT_MS) throw this.fail(new Error('the log host has not read for 60 s'))
        Atomics.wait(nap, 0, 0, NAP_MS)
      }
    }
    this.waiting.set(id, { resolve: () => {}, reject: () => {}, ...waiting })
    return id
  }

  /** Sends a request whose answer no one waits for; nothing once the link has failed. */
  post(request: object): void {
    if (!this.failed) this.send(request)
  }

  /** A request answered synchronously. */
  call(request: object): unknown {
    const reply = this.wait(this.send(request))
    if (!reply.ok) throw this.errorOf(reply)
    return reply.value
  }

  promiseOf(id: number): Promise<unknown> {
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

  /** Blocks until the answer to `id` is in, reading the link directly (the event loop is not running meanwhile). */
  wait(id: number): Reply {
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

  /** Waits for every request sent so far that is answered in turn (the last one's answer comes after the others'). */
  drain(): void {
    let last: number | null = null
    for (const [id, w] of this.waiting) if (!w.outOfTurn) last = id
    if (last !== null) this.wait(last)
  }

  /** Takes what the launcher sends unasked; `keepAlive`: and keeps the process alive to hear it (--watch). */
  onPush(fn: (push: Push) => void, keepAlive: boolean): void {
    this.onPushed = fn
    for (const push of this.early.splice(0)) setImmediate(() => this.onPushed?.(push))
    if (!keepAlive) return
    this.kept = true
    this.socket?.ref()
  }

  /** Lets the process end when nothing is waiting (a closing log hears no more pushes). */
  release(): void {
    this.kept = false
  }

  close(): void {
    this.socket?.destroy()
    this.socket = null
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
      const wrong = reply.ok && w.take ? w.take(reply) : null
      if (wrong !== null) {
        this.fail(new Error(wrong))
        return w.reject(this.failed!)
      }
      if (!reply.ok && w.fatal) {
        this.fail(new Error(reply.error))
        w.reject(this.failed!)
      } else if (!reply.ok) w.reject(this.errorOf(reply))
      else w.resolve(reply.value)
      this.answered.set(reply.id, reply)
      // A promise that was made will not ask again; keep only what a synchronous wait may come for.
      if (this.answered.size > 64) this.answered.delete(this.answered.keys().next().value!)
    }, (err) => this.fail(err))
  }

  fail(err: Error): Error {
    this.failed ??= err
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id)
      w.reject(this.failed)
    }
    return this.failed
  }
}
