// The protocol over a WebSocket: one JSON text frame per message. Used on
// the server side of `loom serve` and by Node clients (tests, tools); the
// browser has its own small transport over the DOM's WebSocket.
import WebSocket from 'ws'
import type { Message, Transport } from '../protocol/messages.ts'

/** Frames larger than this close the connection (code 1009): no message of the protocol needs more. */
export const MAX_FRAME = 16 * 1024 * 1024
/**
 * A peer that lets this much pile up unread is too slow to follow; it is disconnected rather than let memory grow.
 * The last resort: a page falls this far behind only if what never gets dropped (responses, notices other than
 * `events`) piles up, since `events` are held back far sooner (throttleEvents.ts).
 */
const MAX_BUFFERED = 64 * 1024 * 1024

/**
 * Wraps an open socket. A frame that is not JSON text is answered with an
 * error response (id 0) when `answerGarbled` is set, and otherwise ignored;
 * either way the connection stays up.
 */
export function socketTransport(ws: WebSocket, answerGarbled = false): Transport {
  const receivers = new Set<(m: Message) => void>()
  const closers: ((reason: string) => void)[] = []
  let closed: string | null = null
  const refuse = (message: string) => {
    if (answerGarbled && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ kind: 'response', id: 0, ok: false, error: { message } } satisfies Message))
  }
  ws.on('message', (data, isBinary) => {
    if (isBinary) return refuse('send each message as one JSON text frame, not binary')
    let message: Message
    try {
      message = JSON.parse(data.toString()) as Message
    } catch (err) {
      return refuse(`a frame that is not JSON was ignored (${(err as Error).message}); send one JSON message per text frame`)
    }
    for (const fn of receivers) fn(message)
  })
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
    close() {
      ws.close(1000, 'closed')
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
