// The protocol over a WebSocket: one JSON text frame per message. Used on
// the server side of `loom serve` and by Node clients (tests, tools); the
// browser has its own small transport over the DOM's WebSocket.
import WebSocket from 'ws'
import type { Message, Transport } from '../protocol/messages.ts'
import { MAX_MESSAGE_BYTES, readFrame, refusalOf } from '../protocol/validate.ts'

/** Frames larger than this close the connection (code 1009): no message of the protocol needs more. */
export const MAX_FRAME = MAX_MESSAGE_BYTES
/**
 * A peer that lets this much pile up unread is too slow to follow; it is disconnected rather than let memory grow.
 * The last resort: a page falls this far behind only if what never gets dropped (responses, notices other than
 * `events`) piles up, since `events` are held back far sooner (throttleEvents.ts).
 */
const MAX_BUFFERED = 64 * 1024 * 1024

/**
 * Wraps an open socket. `serving`: the engine's side — each frame's size,
 * nesting and JSON are checked (protocol/validate.ts readFrame) and a bad
 * one is answered with an error response (id 0) and goes no further; the
 * request's shape is checked by what it is delivered to (guardEndpoint,
 * EngineHost), which may also end a stranger's connection for it. A client's side passes on what is a JSON object and ignores the
 * rest. Either way the connection stays up.
 */
export function socketTransport(ws: WebSocket, serving = false): Transport {
  const receivers = new Set<(m: Message) => void>()
  const closers: ((reason: string) => void)[] = []
  let closed: string | null = null
  const answer = (m: Message) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m))
  }
  ws.on('message', (data, isBinary) => {
    if (serving) {
      if (isBinary) return answer({ kind: 'response', id: 0, ok: false, error: { code: 'not-json', message: 'send each message as one JSON text frame, not binary' } })
      // Text that is not a message is answered here; what a message says is checked by whoever serves it (a guard, a host).
      const frame = readFrame(data.toString())
      if (!frame.ok) return answer(refusalOf(frame))
      return deliver(frame.value as Message)
    }
    let message: unknown
    try {
      message = JSON.parse(data.toString())
    } catch {
      return
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return
    deliver(message as Message)
  })
  // A bug in what handles one connection's message ends that connection, said where loom runs, not the process.
  const deliver = (m: Message) => {
    try {
      for (const fn of receivers) fn(m)
    } catch (err) {
      process.stderr.write(`loom: closed a connection after an error handling its message: ${(err as Error)?.stack ?? String(err)}\n`)
      ws.close(1011, 'the server failed handling a message')
    }
  }
  ws.on('error', () => {}) // a broken frame or a reset: 'close' follows and says so
  ws.on('close', (code, why) => {
    closed = `${code}${why.length ? ` ${why.toString()}` : ''}`
    for (const fn of closers) fn(closed)
  })
  return {
    send(message) {
      if (closed !== null || ws.readyState !== WebSocket.OPEN) throw new Error(`the connection is closed${closed ? ` (${closed})` : ''}`)
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.close(1008, 'too slow to read what the engine sends')
        return
      }
      ws.send(JSON.stringify(message))
    },
    onMessage(fn) {
      receivers.add(fn)
      return () => receivers.delete(fn)
    },
    onClose(fn) {
      if (closed !== null) fn(closed)
      else closers.push(fn)
    },
    close(reason = 'closed') {
      // A close reason is at most 123 bytes.
      ws.close(1000, Buffer.from(reason).subarray(0, 120).toString())
    },
    backlog: () => ws.bufferedAmount,
  }
}

/** Connects to a served engine (`ws://127.0.0.1:PORT/engine`) as the page at `origin` would. */
export function connectEngine(url: string, origin: string): Promise<Transport> {
  return new Promise((resolve, reject) => {
    // What the engine sends may be large (a page of big events): the limit is on what it accepts.
    const ws = new WebSocket(url, { origin })
    ws.once('open', () => {
      ws.off('error', reject)
      resolve(socketTransport(ws))
    })
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => {
      ws.off('error', reject)
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => reject(new Error(`the server refused the connection: ${res.statusCode} ${body.trim()}`)))
    })
  })
}
