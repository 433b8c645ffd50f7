// The engine process: hosts one notebook and serves the connections its
// supervisor relays (under `loom serve` and in the desktop app alike: a Node
// child process, forkEngine.ts). Framed messages over a socket pair on fd 3
// (engine/replay/logLink.ts) carry the supervisor's relay; a second one on
// fd 4 carries the log, which the supervisor holds (LinkedLog): this process
// loads no SQLite and writes no log file.
// If anything goes wrong that the host did not answer, the process exits and
// the supervisor starts a new one on the same log: committed events are safe
// on disk, and a fresh process is a better bet than a confused one.
import type { Message, Transport } from '../protocol/messages.ts'
import { EngineHost } from './EngineHost.ts'
import { readToEngine, type FromEngine, type SaveRequest, type ToEngine } from './engineLink.ts'
import { throttleEvents } from './throttleEvents.ts'
import { Socket } from 'node:net'
import { frame, FrameReader, LINK_FD } from '../replay/logLink.ts'
import { LinkedLog } from '../replay/linkedLog.ts'
import type { HostLogs } from './hostLogs.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import { Evaluator } from './evaluator.ts'
import { EVALUATOR_FD } from './evaluatorFd.ts'
import { originalStack } from './originalStack.ts'

/** The log, through the supervisor: it opens the file it chose, computes where to resume, and answers every read. */
const linkedLogs: HostLogs = {
  open: (create) => {
    const log = LinkedLog.openLinked(create)
    // The app's own port is the supervisor's: its requests come down this link, answered by the app.
    // Relayed requests not yet answered, by rid: a client that hangs up cancels its own.
    const pending = new Map<number, AbortController>()
    log?.onPush((push) => {
      if (push.push === 'cancel') return pending.get(push.rid)?.abort()
      if (push.push !== 'http') return
      const gone = new AbortController()
      pending.set(push.rid, gone)
      // One that comes while the notebook loads waits for it (the supervisor's deadline still holds).
      void opened
        .then((h) => (h ? h.request(push.request, push.deadlineMs, gone.signal) : notRunning))
        .then((answer) => (pending.delete(push.rid), log.answer(push.rid, answer)))
    }, false)
    return log
  },
  resume: (log) => (log as LinkedLog).takeResume(),
  side: (log: HistoryLog, options) => (log as LinkedLog).openSide(options),
}
/**
 * To the supervisor, not Node's IPC channel: what a broken engine writes to
 * Node's channel is parsed by the supervisor's Node before anyone can check
 * it, and garbage there ends the supervisor (serve) with it. Our frames are
 * checked where they arrive (forkEngine.ts).
 */
const link = new Socket({ fd: LINK_FD, readable: true, writable: true })
/**
 * Bytes given to the link and not yet written to it (estimated): how far
 * the supervisor is behind. Node queues the rest in memory without limit, and a
 * response (a pause) would wait behind all of it.
 */
let unwritten = 0
const send = (m: FromEngine | SaveRequest): void => {
  if (!link.destroyed) {
    const bytes = sizeOf(m)
    unwritten += bytes
    link.write(frame(m), () => (unwritten -= bytes))
  }
}
/** Roughly the bytes of `m` as JSON: an events notice from its first event, so a flood of them is not serialized twice. */
function sizeOf(m: FromEngine | SaveRequest): number {
  const notice = 'message' in m && m.message.kind === 'notice' ? m.message.notice : null
  if (notice?.type === 'events' && notice.events.length) return JSON.stringify(notice.events[0]).length * notice.events.length
  return JSON.stringify(m).length
}
/** Only messages of the link's shape are handled; anything else is dropped (the requests inside are checked by the host). */
const onMessage = (fn: (m: ToEngine) => void): void => {
  const take = (raw: unknown) => {
    const m = readToEngine(raw)
    if (m) fn(m)
    else process.stderr.write('loom engine: ignored a message from the supervisor that is not of the link\'s shape\n')
  }
  const reader = new FrameReader()
  link.on('data', (bytes: Buffer) => {
    reader.push(bytes)
    reader.drain(take, (err) => {
      process.stderr.write(`loom engine: the supervisor's link is garbled (${err.message}); stopping\n`)
      void stop(70)
    })
  })
}

/** Saves asked of the supervisor, by id: the notebook is written there (this process may write no file). */
const saves = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()
let nextSave = 1
function saveNotebook(text: string): Promise<void> {
  const id = nextSave++
  return new Promise((resolve, reject) => {
    saves.set(id, { resolve, reject })
    send({ save: { id, text } })
  })
}

let host: EngineHost | null = null
/** The host once it has opened the notebook, or null if it could not. */
let hostOpened: (h: EngineHost | null) => void
const opened = new Promise<EngineHost | null>((resolve) => (hostOpened = resolve))
const notRunning = { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'the app could not start (see the Loom window)\n' }
let stopping = false
const conns = new Map<number, { receive: Set<(m: Message) => void>; closers: ((reason: string) => void)[]; open: boolean }>()
/** What arrived before the host was ready. */
const early: ToEngine[] = []

function transportFor(conn: number): Transport {
  const c = { receive: new Set<(m: Message) => void>(), closers: [] as ((reason: string) => void)[], open: true }
  conns.set(conn, c)
  return {
    send: (message) => {
      if (c.open) send({ conn, message })
    },
    onMessage: (fn) => {
      c.receive.add(fn)
      return () => c.receive.delete(fn)
    },
    onClose: (fn) => void c.closers.push(fn),
    close: () => shut(conn, 'closed by the engine'),
    backlog: () => unwritten,
  }
}

function shut(conn: number, reason: string): void {
  const c = conns.get(conn)
  if (!c) return
  conns.delete(conn)
  c.open = false
  for (const fn of c.closers) fn(reason)
}

function handle(m: ToEngine): void {
  if ('start' in m) return void start(m.start)
  if ('stop' in m) return void stop(0)
  if ('saved' in m) {
    const waiting = saves.get(m.saved.id)
    saves.delete(m.saved.id)
    if (m.saved.error === null) waiting?.resolve()
    else waiting?.reject(new Error(m.saved.error))
    return
  }
  if (!host) return void early.push(m)
  // While the supervisor cannot keep up, events are thinned here, before they queue on the channel.
  if ('open' in m) host.connect(throttleEvents(transportFor(m.conn)))
  else if ('close' in m) shut(m.conn, 'the UI disconnected')
  else for (const fn of conns.get(m.conn)?.receive ?? []) fn(m.message as Message)
}

async function start(options: Parameters<typeof EngineHost.open>[0]): Promise<void> {
  if (host) return
  try {
    // The evaluator process is the supervisor's to start (this one may start none), relayed on fd 5.
    const evaluator = options.evaluatorMb ? Evaluator.onSocket(new Socket({ fd: EVALUATOR_FD, readable: true, writable: true }), options.evaluatorMb) : undefined
    host = await EngineHost.open(options, linkedLogs, saveNotebook, evaluator)
    hostOpened(host)
  } catch (err) {
    hostOpened(null)
    send({ fatal: (err as Error).message })
    // Let the message leave before exiting.
    setTimeout(() => process.exit(2), 50)
    return
  }
  send({ ready: { pid: process.pid } })
  for (const m of early.splice(0)) handle(m)
}

async function stop(code: number): Promise<void> {
  if (stopping) return
  stopping = true
  try {
    await host?.close()
  } finally {
    process.exit(code)
  }
}

onMessage(handle)
// The supervisor is gone (killed, or the app quit): close the log cleanly and leave.
link.on('error', () => {}) // 'close' follows
link.on('close', () => void stop(0))
process.on('uncaughtException', (err) => {
  process.stderr.write(`loom engine: ${err.stack ? originalStack(err.stack) : err.message}\n`)
  process.exit(70)
})
process.on('unhandledRejection', (err) => {
  process.stderr.write(`loom engine: ${(err as Error)?.stack ? originalStack((err as Error).stack!) : String(err)}\n`)
  process.exit(70)
})
