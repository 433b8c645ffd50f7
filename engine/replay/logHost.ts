// The log host: the process outside the confinement that holds a session's
// SQLite log and serves it to the engine process over the link (logLink.ts,
// remoteLog.ts). The engine process cannot write the log's file, another
// file, or another branch: it can only hand over events for its branch, which
// are checked here, chained and hashed here, and acknowledged when durable.
import type { Socket } from 'node:net'
import type { Resume } from '../runtime/engine.ts'
import { frame, FrameReader } from './logLink.ts'
import type { CommitValue, Opened, Push, Reply, Request } from './logProtocol.ts'
import type { SqliteLog } from './sqliteLog.ts'
import { LogDamageError } from './logErrors.ts'
import { resumeFrom } from './seek.ts'
import { checkCommit, isObject } from './commitCheck.ts'
import { ARG_KINDS, argOk, Forbidden, HISTORY_METHODS } from './historyMethods.ts'
import { damageOf, refusalOf } from './linkRefusal.ts'
import { AppRelay, type LinkedApp } from './appRelay.ts'

export interface LogHostOptions {
  resume: Resume | undefined
  /** What the engine process is to do (the command's options), sent with the open answer. */
  job: unknown
  /** The link closed or broke the rules: the engine process should be ended. */
  onBroken?: (why: string) => void
  /** A replay job: the log it may read (the history requests that change nothing), not write. */
  reader?: SqliteLog
  /** A job's answer (explore, replay --code, a trace): taken once, when every commit before it is written. */
  onResult?: (value: unknown) => void
  /**
   * `loom serve`: the session's log, opened when the engine process first
   * asks (`create`: make the file if there is none; without it, null when
   * there is none). The engine process names no file and no branch.
   */
  open?: (create: boolean) => SqliteLog | null | Promise<SqliteLog | null>
  /** `loom serve`: another connection to the same log, on `branch` (a side handle: a rerun, a saved trace, a forked preview). */
  openSide?: (branch: string, fsync: boolean) => SqliteLog
  /** Performs a safe read the engine process asks for (`loom run`): checked against the notebook's grants, outside the confinement. */
  performEffect?: (request: unknown) => Promise<unknown>
  /** Where the engine process's frames come from, when not on the link itself (`loom run`: its LINK_OUT_FD, see logLink.ts). */
  requests?: Socket
}

/** Side handles open at once: a rerun, a trace or a preview each holds one while it runs. */
const MAX_SIDE = 8

/** Serves `log` on `link` until the link closes. Never throws: a bad message ends the link. */
export function serveLog(link: Socket, log: SqliteLog | null, options: LogHostOptions): { closed: Promise<void>; ready: Promise<boolean>; push: (push: Push) => void; app: LinkedApp; check: (events: unknown[], bodies: string[]) => Promise<unknown>; drained: () => Promise<void> } {
  // A commit's texts stay bytes: the writer thread decodes and checks them (checkEvents).
  const reader = new FrameReader('bytes')
  /**
   * The logs open on this link by handle (0: the session's), each with its
   * branch's head once every commit received is written: what its next commit must follow.
   */
  const handles = new Map<number, { log: SqliteLog; head: number }>()
  if (log) handles.set(0, { log, head: log.head })
  let nextHandle = 1
  /** The session's log is being opened (serve: a first open waits for it). */
  let opening = false
  /** Branches made through this link: the only ones it may delete (a preview or a trace that did not commit). */
  const made = new Set<string>()
  /** True once the engine process says the app is open; false if the link ends first. */
  let resolveReady!: (ok: boolean) => void
  const ready = new Promise<boolean>((r) => (resolveReady = r))
  let chain: Promise<void> = Promise.resolve()
  let broken = false
  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  const reply = (r: Reply) => {
    if (!link.destroyed) link.write(frame(r))
  }
  const push = (p: Push) => void (!broken && !link.destroyed && link.write(frame(p)))
  const relay = new AppRelay(push, () => broken || link.destroyed, () => handles.get(0)?.log)
  const input = options.requests ?? link
  const breakLink = (why: string) => {
    if (broken) return
    broken = true
    options.onBroken?.(why)
    link.destroy()
    input.destroy()
  }
  // Either half closing ends the link: nothing more can be asked, or answered.
  if (input !== link) {
    input.on('close', () => link.destroy())
    input.on('error', () => {})
    // The engine process only reads the link itself: writing there breaks the rules (and is never read).
    link.on('data', () => breakLink('the engine process wrote on the socket it only reads'))
  }
  link.on('close', () => {
    resolveReady(false)
    relay.stopped()
    // Side handles are this link's: closed once everything received is written.
    void chain.then(() => {
      for (const [h, s] of handles) if (h !== 0) s.log.close()
      resolveClosed()
    })
  })
  link.on('error', () => {})
  input.on('data', (bytes: Buffer) => {
    if (broken) return
    reader.push(bytes)
    reader.drain((message) => {
      if (broken) return false
      const request = message as Request
      if (!isObject(request) || !Number.isSafeInteger(request.id)) return breakLink('the engine process sent a message without an id')
      try {
        handle(request)
      } catch (err) {
        if (err instanceof Forbidden) return breakLink(`the engine process sent a request the log host does not take: ${err.message}`)
        reply(refusalOf(request.id, err))
      }
    }, (err) => breakLink(`the engine process sent a bad frame: ${printable(err.message)}`))
  })

  /** A read answered after every commit before it; a failure is the answer, never an unhandled rejection. */
  function answer(id: number, read: () => unknown): void {
    try {
      reply({ id, ok: true, value: read() })
    } catch (err) {
      reply(refusalOf(id, err))
    }
  }

  /** A request for handle `h`, which must be open. */
  function handleOf(h: unknown): { log: SqliteLog; head: number } {
    const found = h === undefined ? handles.get(0) : Number.isSafeInteger(h) ? handles.get(h as number) : undefined
    if (!found) throw new Forbidden(`no log handle ${String(h)}`)
    return found
  }

  /** `loom serve`: the session's log, opened at the engine process's first ask (answered in turn: the opening may wait). */
  function open(request: Extract<Request, { op: 'open' }>): void {
    if (handles.has(0) || opening) throw new Forbidden('the log is open already')
    opening = true
    const id = request.id
    chain = chain.then(async () => {
      try {
        const opened = await options.open!(request.create === true)
        opening = false
        if (!opened) return reply({ id, ok: true, value: { path: '', branch: '', head: 0, snapshotDue: 0, snapshotEvery: 1, resume: null, job: options.job, absent: true } satisfies Opened })
        handles.set(0, { log: opened, head: opened.head })
        // Computed here, where the log is, and sent with the answer: the engine starts without asking for it.
        let resume: Opened['resume'] = null
        let refused: Opened['refused'] = null
        try {
          resume = resumeFrom(opened) ?? null
        } catch (err) {
          if (!(err instanceof LogDamageError)) throw err
          refused = damageOf(err)
        }
        const value: Opened = {
          path: opened.path, branch: opened.branch, head: opened.head, snapshotDue: opened.snapshotDue(), snapshotEvery: opened.snapshotEvery,
          resume, refused, job: options.job,
        }
        reply({ id, ok: true, value })
      } catch (err) {
        opening = false
        reply(refusalOf(id, err))
      }
    })
  }

  /**
   * A HistoryLog method on a handle, after every commit before it. A replay
   * job (`reader`) has no handle: it asks the same requests of the log it
   * checks, those that change nothing.
   */
  function historyRequest(request: Extract<Request, { op: 'log' }>, reader?: SqliteLog): void {
    const h = request.h ?? 0
    const handle = reader ? { log: reader, head: 0 } : handleOf(h)
    const args = request.args
    if (typeof request.method !== 'string' || !Array.isArray(args)) throw new Forbidden('a malformed history request')
    if (reader && (h !== 0 || !Object.hasOwn(HISTORY_METHODS, request.method) || HISTORY_METHODS[request.method]!.changes)) throw new Forbidden(`'${request.method.slice(0, 40)}': a replay job only reads the log`)
    const id = request.id
    if (request.method === 'openLog' || request.method === 'continueOn') {
      // A side handle, on the live branch or on a branch this link made (writeBranch): never on another's.
      if (request.method === 'openLog' && (h !== 0 || args.length !== 2 || !argOk.bool(args[0]) || !argOk['name?'](args[1]) || !options.openSide)) throw new Forbidden('openLog: malformed')
      // Only the app's own log moves to another branch (a promote).
      if (request.method === 'continueOn' && (h !== 0 || args.length !== 1 || !ARG_KINDS.str.type(args[0]))) throw new Forbidden('continueOn: malformed')
      chain = chain.then(() => answer(id, () => {
        if (request.method === 'continueOn') {
          handle.log.continueOn(args[0] as string)
          handle.head = handle.log.head
          return { branch: handle.log.branch, head: handle.log.head, snapshotDue: handle.log.snapshotDue() }
        }
        if (handles.size > MAX_SIDE) throw new Error(`more than ${MAX_SIDE} logs open at once`)
        const branch = args[1] as string | null
        if (branch !== null && !made.has(branch)) throw new Error(`branch '${branch}' was not made by this engine process; it writes only the branches it makes`)
        const side = options.openSide!(branch ?? handle.log.live, args[0] as boolean)
        const n = nextHandle++
        handles.set(n, { log: side, head: side.head })
        return { path: side.path, branch: side.branch, head: side.head, snapshotDue: side.snapshotDue(), snapshotEvery: side.snapshotEvery, resume: null, job: null, h: n } satisfies Opened
      }))
      return
    }
    const m = Object.hasOwn(HISTORY_METHODS, request.method) ? HISTORY_METHODS[request.method]! : null
    if (!m) throw new Forbidden(`unknown method '${request.method.slice(0, 40)}'`)
    if (args.length !== m.args.length || !m.args.every((kind, i) => ARG_KINDS[kind].type(args[i]))) throw new Forbidden(`${request.method}: malformed arguments`)
    const out = m.args.findIndex((kind, i) => !ARG_KINDS[kind].range(args[i]))
    // Answered in turn, like any other answer.
    chain = chain.then(async () => {
      try {
        if (out >= 0) throw new Error(`${request.method}: argument ${out + 1} is out of range${typeof args[out] === 'string' ? ` (${(args[out] as string).length} characters)` : ''}`)
        if ((request.method === 'deleteBranch' || request.method === 'finishBranch') && !made.has(args[0] as string)) throw new Error(`branch '${args[0] as string}' was not made by this engine process; it stays`)
        const value = (await m.run(handle.log, args)) ?? null
        if (request.method === 'makeBranch') made.add(args[0] as string)
        reply({ id, ok: true, value })
      } catch (err) {
        reply(refusalOf(id, err))
      }
    })
  }

  function handle(request: Request): void {
    // A job without a log (`loom test`): the link carries the job, and nothing else but its end.
    if (request.op === 'log' && options.reader) return historyRequest(request, options.reader)
    if (request.op === 'checked') {
      relay.checked(request.rid, request.failure)
      return reply({ id: request.id, ok: true, value: null })
    }
    if (request.op === 'result') {
      const id = request.id
      const take = options.onResult
      options.onResult = undefined
      if (!take) throw new Error('result: not asked for, or given already')
      chain = chain.then(() => {
        take(request.value)
        reply({ id, ok: true, value: null })
      })
      return
    }
    if (request.op === 'ready') {
      resolveReady(true)
      return reply({ id: request.id, ok: true, value: null })
    }
    if (request.op === 'answer') {
      relay.answered(request.rid, request.response)
      return reply({ id: request.id, ok: true, value: null })
    }
    if (request.op === 'effect') {
      // Answered when performed, not in turn: a slow read holds up no commit.
      const id = request.id
      const perform = options.performEffect
      if (!perform) return reply({ id, ok: false, error: 'this job performs no effects' })
      void perform(request.request).then((value) => reply({ id, ok: true, value }), (err: Error) => reply({ id, ok: false, error: String(err?.message ?? err) }))
      return
    }
    if (options.open) {
      if (request.op === 'open') return open(request)
      if (request.op === 'log') return historyRequest(request)
      if (request.op === 'close' && request.h !== undefined && request.h !== 0) {
        const side = handleOf(request.h)
        const id = request.id
        chain = chain.then(() => answer(id, () => {
          handles.delete(request.h!)
          side.log.close()
          return null
        }))
        return
      }
    }
    if (!handles.has(0)) {
      if (request.op === 'open') return reply({ id: request.id, ok: true, value: { path: '', branch: 'main', head: 0, snapshotDue: Number.MAX_SAFE_INTEGER, snapshotEvery: 1, resume: null, job: options.job } satisfies Opened })
      if (request.op === 'close') return reply({ id: request.id, ok: true, value: null })
      throw new Error(`'${String(request.op)}': this job has no log`)
    }
    const { log } = handleOf(request.h)
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
        const handle = handleOf(request.h)
        checkCommit(request, log.branch, handle.head)
        handle.head += request.count
        // Durable in order: each commit is handed to the log after the one before it.
        const id = request.id
        chain = chain.then(async () => {
          if (broken) return
          try {
            for (const c of request.storedCode) log.putCode(c)
            for (const [key, cell] of request.cells) log.keptCells.put(key, cell)
            const written = await log.commitEncoded(request, true)
            const value: CommitValue = { parent: written.parent }
            reply({ id, ok: true, value, texts: written.hashes })
            if (request.count && handle === handles.get(0)) relay.durable(request.first + request.count - 1)
          } catch (err) {
            // Refused (a forged event, found by the writer) or not written: the next commit must follow what is.
            handle.head = handle.log.head
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
        chain = chain.then(() => answer(id, () => log.events(from, limit)))
        return
      }
      case 'attempts': {
        const id = request.id
        const limit = request.limit ?? undefined
        if (limit !== undefined && !Number.isSafeInteger(limit)) throw new Error('attempts: bad limit')
        chain = chain.then(() => answer(id, () => log.attempts(limit)))
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
        throw new Forbidden(`unknown request '${String((request as { op?: unknown }).op).slice(0, 40)}'`)
    }
  }
  // Everything received has been handed to the log (and answered): then the log may be closed.
  return { closed, ready, push, app: relay.app, check: (events, bodies) => relay.check(events, bodies), drained: () => chain }
}

/** A message that may quote a hostile frame, as one line of text a terminal shows as it is: control characters escaped, cut at 300. */
function printable(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}
