// The log host: the process outside the confinement that holds a session's
// SQLite log and serves it to the engine process over the link (logLink.ts,
// remoteLog.ts). The engine process cannot write the log's file, another
// file, or another branch: it can only hand over events for its branch, which
// are checked here, chained and hashed here, and acknowledged when durable.
import type { Socket } from 'node:net'
import type { Attempt, EventKind, EventRecord } from '../runtime/event.ts'
import type { StoreSnapshot } from '../runtime/store.ts'
import type { Resume } from '../runtime/engine.ts'
import { frame, FrameReader } from './logLink.ts'
import type { CommitRequest, CommitValue, Opened, Reply, Request, StoredCodeItem } from './remoteLog.ts'
import type { SqliteLog } from './sqliteLog.ts'

const KINDS = new Set<string>(['start', 'step', 'http', 'gui', 'edit', 'code', 'halt'] satisfies EventKind[])

export interface LogHostOptions {
  resume: Resume | undefined
  /** What the engine process is to do (the command's options), sent with the open answer. */
  job: unknown
  /** The link closed or broke the rules: the engine process should be ended. */
  onBroken?: (why: string) => void
}

/** Serves `log` on `link` until the link closes. Never throws: a bad message ends the link. */
export function serveLog(link: Socket, log: SqliteLog, options: LogHostOptions): { closed: Promise<void> } {
  const reader = new FrameReader()
  /** The branch's head once every commit received is written: what the next commit must follow. */
  let head = log.head
  let chain: Promise<void> = Promise.resolve()
  let broken = false
  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  const reply = (r: Reply) => {
    if (!link.destroyed) link.write(frame(r))
  }
  const breakLink = (why: string) => {
    if (broken) return
    broken = true
    options.onBroken?.(why)
    link.destroy()
  }
  link.on('close', () => resolveClosed())
  link.on('error', () => {})
  link.on('data', (bytes: Buffer) => {
    if (broken) return
    reader.push(bytes)
    for (;;) {
      let message: unknown
      try {
        message = reader.next()
      } catch (err) {
        return breakLink(`the engine process sent a bad frame: ${(err as Error).message}`)
      }
      if (message === undefined) return
      const request = message as Request
      if (!isObject(request) || !Number.isSafeInteger(request.id)) return breakLink('the engine process sent a message without an id')
      try {
        handle(request)
      } catch (err) {
        reply({ id: request.id, ok: false, error: (err as Error).message })
      }
    }
  })

  function handle(request: Request): void {
    switch (request.op) {
      case 'open': {
        const opened: Opened = {
          path: log.path, branch: log.branch, head: log.head,
          snapshotDue: log.snapshotDue(), snapshotEvery: log.snapshotEvery,
          resume: options.resume ?? null, job: options.job,
        }
        return reply({ id: request.id, ok: true, value: opened })
      }
      case 'commit': {
        const events = checkCommit(request, log, head)
        if (events.length) head = events[events.length - 1]!.seq
        // Durable in order: each commit is handed to the log after the one before it.
        const id = request.id
        chain = chain.then(async () => {
          if (broken) return
          for (const c of request.code) log.putCode(c)
          for (const [key, cell] of request.cells) log.keptCells.put(key, cell)
          for (const e of events) log.append(e)
          for (const a of request.attempts) log.addAttempt(a)
          for (const [seq, state] of request.snapshots) log.offerSnapshot(seq, () => state)
          try {
            await log.flushAsync()
            const value: CommitValue = { parent: events[0]?.parentHash ?? '', hashes: events.map((e) => e.hash!) }
            reply({ id, ok: true, value })
          } catch (err) {
            reply({ id, ok: false, error: (err as Error).message })
          }
        })
        return
      }
      case 'events': {
        const from = request.from
        const limit = request.limit ?? Infinity
        if (!Number.isSafeInteger(from) || !(limit === Infinity || Number.isSafeInteger(limit))) throw new Error('events: bad range')
        // After every commit before it.
        const id = request.id
        chain = chain.then(() => reply({ id, ok: true, value: log.events(from, limit) }))
        return
      }
      case 'attempts': {
        const id = request.id
        const limit = request.limit ?? undefined
        if (limit !== undefined && !Number.isSafeInteger(limit)) throw new Error('attempts: bad limit')
        chain = chain.then(() => reply({ id, ok: true, value: log.attempts(limit) }))
        return
      }
      case 'cell': {
        if (typeof request.key !== 'string') throw new Error('cell: bad key')
        return reply({ id: request.id, ok: true, value: log.keptCells.get(request.key) })
      }
      case 'close': {
        const id = request.id
        chain = chain.then(() => reply({ id, ok: true, value: null }))
        return
      }
      default:
        throw new Error(`unknown request '${String((request as { op?: unknown }).op)}'`)
    }
  }
  return { closed }
}

/** A commit's contents, checked: events that continue this branch, one after another, and well-formed side data. */
function checkCommit(r: CommitRequest, log: SqliteLog, head: number): EventRecord[] {
  if (!Array.isArray(r.events) || !Array.isArray(r.attempts) || !Array.isArray(r.snapshots) || !Array.isArray(r.code) || !Array.isArray(r.cells)) throw new Error('commit: malformed')
  let seq = head
  for (const e of r.events) {
    if (!isObject(e) || e.branch !== log.branch || typeof e.seq !== 'number' || e.seq !== ++seq) throw new Error(`commit: event ${isObject(e) ? String(e.seq) : '?'} does not follow event ${seq - 1} of branch '${log.branch}'`)
    if (!KINDS.has(e.kind) || typeof e.codeHash !== 'string' || typeof e.time !== 'number' || !Array.isArray(e.choices) || !Array.isArray(e.reads) || !Array.isArray(e.writes) || !isObject(e.outputs)) {
      throw new Error(`commit: event ${e.seq} is malformed`)
    }
    delete (e as Partial<EventRecord>).hash
    delete (e as Partial<EventRecord>).parentHash
  }
  for (const a of r.attempts as Attempt[]) if (!isObject(a) || a.branch !== log.branch) throw new Error('commit: an attempt of another branch')
  for (const s of r.snapshots as [number, StoreSnapshot][]) if (!Array.isArray(s) || !Number.isSafeInteger(s[0]) || s[0] > seq || !Array.isArray(s[1])) throw new Error('commit: a malformed snapshot')
  for (const c of r.code as StoredCodeItem[]) if (!isObject(c) || typeof c.codeHash !== 'string' || typeof c.path !== 'string' || typeof c.code !== 'string' || !Array.isArray(c.sources)) throw new Error('commit: malformed code')
  for (const c of r.cells) if (!Array.isArray(c) || typeof c[0] !== 'string' || !isObject(c[1]) || typeof c[1].code !== 'string' || typeof c[1].map !== 'string') throw new Error('commit: a malformed cell')
  return r.events
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
