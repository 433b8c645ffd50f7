// The log host: the process outside the confinement that holds a session's
// SQLite log and serves it to the engine process over the link (logLink.ts,
// remoteLog.ts). The engine process cannot write the log's file, another
// file, or another branch: it can only hand over events for its branch, which
// are checked here, chained and hashed here, and acknowledged when durable.
import type { Socket } from 'node:net'
import type { Attempt } from '../runtime/event.ts'
import type { HttpRequest, HttpResponse } from '../runtime/http.ts'
import type { Resume } from '../runtime/engine.ts'
import { frame, FrameReader } from './logLink.ts'
import type { CommitValue, Opened, Push, Reply, Request } from './remoteLog.ts'
import type { SqliteLog } from './sqliteLog.ts'
import { LogDamageError, LogFormatError } from './logErrors.ts'
import { resumeFrom } from './seek.ts'
import { PAGE } from './linkedLog.ts'
import { checkCommit, isObject } from './commitCheck.ts'


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
  /** Where the engine process's frames come from, when not on the link itself (`loom run`: its LINK_OUT_FD, see logLink.ts). */
  requests?: Socket
}

/** Side handles open at once: a rerun, a trace or a preview each holds one while it runs. */
const MAX_SIDE = 8
/** Longest string argument of a history request (branch names, kinds, code hashes); an import's text goes by its own cap. */
const MAX_ARG = 4096
const MAX_IMPORT = 256 * 1024 * 1024

/** A request that breaks the link's rules (not a refusal of something allowed): the engine process goes. */
class Forbidden extends Error {}

type Arg = 'str' | 'int' | 'page' | 'count' | 'bool' | 'text' | 'name?'
/**
 * Each argument's kind: a value of another type ends the link (LinkedLog never
 * sends one), while a value of the right type out of range is refused — it may
 * come from what a UI asked (a 200 KB branch name, a seq past the end).
 */
const KIND: Record<Arg, { type: (v: unknown) => boolean; range: (v: any) => boolean }> = {
  str: { type: (v) => typeof v === 'string', range: (v: string) => v.length <= MAX_ARG },
  int: { type: (v) => typeof v === 'number', range: (v: number) => Number.isSafeInteger(v) },
  page: { type: (v) => typeof v === 'number', range: (v: number) => Number.isSafeInteger(v) && v >= 1 && v <= PAGE },
  count: { type: (v) => typeof v === 'number', range: (v: number) => Number.isSafeInteger(v) && v >= 1 && v <= 10_000 },
  bool: { type: (v) => typeof v === 'boolean', range: () => true },
  text: { type: (v) => typeof v === 'string', range: (v: string) => v.length <= MAX_IMPORT },
  'name?': { type: (v) => v === null || typeof v === 'string', range: (v: string | null) => v === null || v.length <= MAX_ARG },
}
const ok = Object.fromEntries(Object.entries(KIND).map(([k, c]) => [k, (v: unknown) => c.type(v) && c.range(v)])) as Record<Arg, (v: unknown) => boolean>

/**
 * What the engine process may ask of a log handle (HistoryLog, engine/replay/linkedLog.ts),
 * each method with the kinds of its arguments. Nothing else is answered: no SQL, no file,
 * no snapshot it computed itself (a fork's snapshot is computed here, makeBranch).
 */
const METHODS: Record<string, { args: Arg[]; run: (log: SqliteLog, a: any[]) => unknown; changes?: true }> = {
  live: { args: [], run: (l) => l.live },
  branchInfo: { args: ['str'], run: (l, [n]) => l.branchInfo(n) },
  branches: { args: [], run: (l) => l.branches() },
  eventsOf: { args: ['str', 'int', 'page'], run: (l, [b, f, n]) => l.eventsOf(b, f, n) },
  raw: { args: ['str', 'int', 'page'], run: (l, [b, f, n]) => [...l.raw(b, f, f + n - 1)] },
  event: { args: ['str', 'int'], run: (l, [b, s]) => l.event(b, s) },
  hashAt: { args: ['str', 'int'], run: (l, [b, s]) => l.hashAt(b, s) },
  lastOfKind: { args: ['str', 'str', 'int'], run: (l, [b, k, s]) => l.lastOfKind(b, k, s) },
  ownerOf: { args: ['str', 'int'], run: (l, [b, s]) => l.ownerOf(b, s) },
  segments: { args: ['str', 'int', 'int'], run: (l, [b, f, t]) => l.segments(b, f, t) },
  snapshotAt: { args: ['str', 'int'], run: (l, [b, s]) => l.snapshotAt(b, s) },
  markCounts: { args: ['str', 'int', 'int', 'count'], run: (l, [b, f, t, n]) => l.markCounts(b, f, t, n) },
  timings: { args: ['str', 'int', 'int'], run: (l, [b, f, t]) => l.timings(b, f, Math.min(t, f + 999)) },
  profile: { args: ['str'], run: (l, [b]) => l.profile(b) },
  latencyList: { args: ['str', 'int', 'int'], run: (l, [b, f, t]) => l.latencyList(b, f, Math.min(t, f + 9999)) },
  failures: { args: ['str', 'int', 'int', 'count'], run: (l, [b, f, t, n]) => l.failures(b, f, t, n) },
  snapshots: { args: ['str'], run: (l, [b]) => [...l.snapshots(b)] },
  codeBlobs: { args: [], run: (l) => [...l.codeBlobs()] },
  damageOf: { args: ['str'], run: (l, [b]) => l.damageOf(b) },
  refusal: { args: [], run: (l) => damageOf(l.refusal()) },
  getCode: { args: ['str'], run: (l, [h]) => l.getCode(h) },
  // A branch to write (writeBranch): forked at (parent, seq), or a root when parent is null.
  makeBranch: { args: ['str', 'name?', 'int', 'bool'], run: (l, [n, p, s, u]) => l.makeBranch(n, p === null ? null : { branch: p, seq: s }, u), changes: true },
  // Only a branch made on this link (see `made`).
  finishBranch: { args: ['str'], run: (l, [n]) => l.finishBranch(n), changes: true },
  promote: { args: ['str'], run: (l, [n]) => l.promote(n), changes: true },
  // Only a branch made on this link (see `made`).
  deleteBranch: { args: ['str'], run: (l, [n]) => l.deleteBranch(n), changes: true },
  // A person's rename and delete: a label and an archive, nothing erased (history/branchNames.ts).
  renameBranch: { args: ['str', 'str'], run: (l, [n, t]) => l.renameBranch(n, t), changes: true },
  archiveBranch: { args: ['str'], run: (l, [n]) => l.archiveBranch(n), changes: true },
  restoreBranch: { args: ['str'], run: (l, [n]) => l.restoreBranch(n), changes: true },
  importText: { args: ['text', 'name?'], run: (l, [t, n]) => l.importText(t, n ?? undefined), changes: true },
}

function damageOf(err: LogDamageError | null): { message: string; path: string; damage: unknown[] } | null {
  return err ? { message: err.message, path: err.path, damage: err.damage } : null
}

/** A refusal as it crosses: a damaged or unusable log keeps its kind (the engine process rebuilds the error). */
function refusalOf(id: number, err: unknown): Reply {
  const e = err as Error
  if (err instanceof LogDamageError) return { id, ok: false, error: e.message, damage: err.damage, path: err.path }
  if (err instanceof LogFormatError) return { id, ok: false, error: e.message, format: true }
  return { id, ok: false, error: String(e?.message ?? err) }
}

/** The launcher's side of a served app: requests relayed to the confined engine, and when its events are durable. */
export interface LinkedApp {
  /** `gone`: the client hung up; the engine process drops the request if it has not run it yet. */
  request(req: HttpRequest, deadlineMs?: number, gone?: AbortSignal): Promise<HttpResponse>
  attempts(limit?: number): Attempt[]
  on(type: 'event', fn: (e: { seq: number }) => void): () => void
}

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
  /** Relayed requests waiting for the app's answer, by rid. */
  const requests = new Map<number, (r: HttpResponse) => void>()
  /** Replay batches sent to the engine process, waiting for its verdict, by rid. */
  const checks = new Map<number, (failure: unknown) => void>()
  let nextRid = 1
  const committed = new Set<(e: { seq: number }) => void>()
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
    for (const done of checks.values()) done({ gone: true })
    checks.clear()
    for (const answer of requests.values()) answer({ status: 503, headers: { 'content-type': 'text/plain' }, body: 'the app stopped\n' })
    requests.clear()
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
    if (reader && (h !== 0 || !Object.hasOwn(METHODS, request.method) || METHODS[request.method]!.changes)) throw new Forbidden(`'${request.method.slice(0, 40)}': a replay job only reads the log`)
    const id = request.id
    if (request.method === 'openLog' || request.method === 'continueOn') {
      // A side handle, on the live branch or on a branch this link made (writeBranch): never on another's.
      if (request.method === 'openLog' && (h !== 0 || args.length !== 2 || !ok.bool(args[0]) || !ok['name?'](args[1]) || !options.openSide)) throw new Forbidden('openLog: malformed')
      // Only the app's own log moves to another branch (a promote).
      if (request.method === 'continueOn' && (h !== 0 || args.length !== 1 || !KIND.str.type(args[0]))) throw new Forbidden('continueOn: malformed')
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
    const m = Object.hasOwn(METHODS, request.method) ? METHODS[request.method]! : null
    if (!m) throw new Forbidden(`unknown method '${request.method.slice(0, 40)}'`)
    if (args.length !== m.args.length || !m.args.every((kind, i) => KIND[kind].type(args[i]))) throw new Forbidden(`${request.method}: malformed arguments`)
    const out = m.args.findIndex((kind, i) => !KIND[kind].range(args[i]))
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
      const done = checks.get(request.rid)
      checks.delete(request.rid)
      done?.(request.failure)
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
      const answer = requests.get(request.rid)
      requests.delete(request.rid)
      const r = request.response as HttpResponse | undefined
      const ok = isObject(r) && Number.isInteger(r.status) && r.status >= 100 && r.status <= 599 && isObject(r.headers) && Object.values(r.headers).every((v) => typeof v === 'string') && typeof r.body === 'string'
      answer?.(ok ? r : { status: 502, headers: { 'content-type': 'text/plain' }, body: 'the app gave a malformed answer\n' })
      return reply({ id: request.id, ok: true, value: null })
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
            if (request.count && handle === handles.get(0)) for (const fn of committed) fn({ seq: request.first + request.count - 1 })
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
  const push = (p: Push) => void (!broken && !link.destroyed && link.write(frame(p)))
  const app: LinkedApp = {
    request(req, deadlineMs, gone) {
      if (broken || link.destroyed) return Promise.resolve({ status: 503, headers: { 'content-type': 'text/plain' }, body: 'the app stopped\n' })
      const rid = nextRid++
      return new Promise((resolve) => {
        requests.set(rid, resolve)
        push({ push: 'http', rid, request: req, deadlineMs })
        gone?.addEventListener('abort', () => requests.has(rid) && push({ push: 'cancel', rid }), { once: true })
      })
    },
    // The session's log, also when it was opened at the engine process's ask (serve): `log` is null then.
    attempts: (limit) => handles.get(0)?.log.attempts(limit) ?? [],
    on: (_type, fn) => {
      committed.add(fn)
      return () => committed.delete(fn)
    },
  }
  /** A replay batch re-executed by the engine process: its first divergence, or null. */
  const check = (events: unknown[], bodies: string[]): Promise<unknown> =>
    new Promise((resolve) => {
      if (broken || link.destroyed) return resolve({ gone: true })
      const rid = nextRid++
      checks.set(rid, resolve)
      push({ push: 'check', rid, texts: bodies.join('\n'), hashes: (events as { hash?: string }[]).map((e) => e.hash ?? '') })
    })
  // Everything received has been handed to the log (and answered): then the log may be closed.
  return { closed, ready, push, app, check, drained: () => chain }
}

/** A message that may quote a hostile frame, as one line of text a terminal shows as it is: control characters escaped, cut at 300. */
function printable(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}
