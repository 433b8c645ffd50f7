// The UI's side of the protocol: typed calls that resolve with their result
// (or reject with the host's problem), and notices by type. Works over any
// Transport; shared by the renderer and the tests, so no Node and no DOM.
import type { Message, Notice, Op, Params, LoomError, Result, Transport } from './messages.ts'
import { loomError } from './loomError.ts'
import { readLoomError } from './validate.ts'

/** A request the host refused: its LoomError (what, of which kind, and where: file, cell, line). */
export class ProtocolError extends Error {
  readonly where: LoomError['where']
  readonly code: LoomError['code']
  constructor(readonly error: LoomError, readonly op: string) {
    super(error.message)
    this.where = error.where
    this.code = error.code
  }
}

type NoticeOf<T extends Notice['type']> = Extract<Notice, { type: T }>

export class EngineClient {
  private nextId = 1
  private readonly waiting = new Map<number, { op: string; resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private readonly listeners = new Map<string, Set<(n: Notice) => void>>()
  private closedBecause: string | null = null

  constructor(private readonly transport: Transport) {
    transport.onMessage((m) => this.receive(m))
    transport.onClose((reason) => {
      this.closedBecause = reason
      for (const w of this.waiting.values()) w.reject(new ProtocolError({ code: 'stopped', message: `the connection to the engine closed (${reason}) before it answered` }, w.op))
      this.waiting.clear()
    })
  }

  call<K extends Op>(op: K, params: Params<K>): Promise<Result<K>> {
    if (this.closedBecause !== null) return Promise.reject(new ProtocolError({ code: 'stopped', message: `the connection to the engine is closed (${this.closedBecause})` }, op))
    const id = this.nextId++
    return new Promise<Result<K>>((resolve, reject) => {
      this.waiting.set(id, { op, resolve: resolve as (v: unknown) => void, reject })
      this.transport.send({ kind: 'request', id, op, params })
    })
  }

  on<T extends Notice['type']>(type: T, fn: (notice: NoticeOf<T>) => void): () => void {
    let set = this.listeners.get(type)
    if (!set) this.listeners.set(type, (set = new Set()))
    const listener = fn as (n: Notice) => void
    set.add(listener)
    return () => set.delete(listener)
  }

  close(): void {
    this.transport.close()
  }

  private receive(m: Message): void {
    if (m.kind === 'notice') {
      for (const fn of this.listeners.get(m.notice.type) ?? []) fn(m.notice)
    } else if (m.kind === 'response') {
      const w = this.waiting.get(m.id)
      if (!w) return
      this.waiting.delete(m.id)
      if (m.ok) w.resolve(m.result)
      // An error is shown as it came only when it has LoomError's shape.
      else w.reject(new ProtocolError(readLoomError(m.error) ?? loomError('internal', `the engine refused ${w.op} with an error Loom cannot read`), w.op))
    }
  }
}
