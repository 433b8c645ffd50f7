// The engine's WebSocket endpoint on the serve port: `/engine`, for pages
// served from the same origin only — a page elsewhere (any site the user
// visits) must not be able to drive the engine on their machine. Who may
// then do what is the endpoint's to say: `loom serve` hands it a guard that
// wants a token (engine/share/guardEndpoint.ts).
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { WebSocketServer } from 'ws'
import type { Transport } from '../protocol/messages.ts'
import { MAX_FRAME, socketTransport } from './socketTransport.ts'
import { throttleEvents } from './throttleEvents.ts'

/** Whatever serves protocol connections: an EngineHost in-process, or a supervisor relaying to an engine process. */
export interface EngineEndpoint {
  /** `admit`: called by an endpoint that checks tokens, once this connection has shown a valid one. */
  connect(transport: Transport, admit?: () => void): () => void
}

/** Where strangers (connections without a valid token yet) are counted and timed: the guests' listener's Admission. */
export interface Door {
  upgraded(socket: Socket, close: () => void): void
  admit(socket: Socket): void
}

/**
 * An endpoint that lets nothing in without a token: only guardEndpoint makes
 * one, and only one can be put on a socket, so no socket reaches an engine
 * unguarded (the type checker holds it).
 */
export interface GuardedEndpoint extends EngineEndpoint {
  readonly guarded: 'by token'
}

export const ENGINE_PATH = '/engine'

/** `otherPaths`: prefixes another listener on the same server answers (the sync server's /sync/). `door`: the guests' listener's Admission. */
export function attachEngineSocket(server: Server, endpoint: GuardedEndpoint, allowedOrigins: (req?: IncomingMessage) => string[], otherPaths: string[] = [], door?: Door): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME })
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const path = (req.url ?? '').split('?')[0] ?? ''
    if (otherPaths.some((p) => path.startsWith(p))) return
    if (path !== ENGINE_PATH) return refuse(socket, 404, `no WebSocket at ${path}; the engine is at ${ENGINE_PATH}`)
    const origin = req.headers.origin
    if (!origin || !allowedOrigins(req).includes(origin)) {
      return refuse(socket, 403, `connections to the engine are accepted only from the page Loom serves (${allowedOrigins(req)[0]}), not from ${origin ?? 'a client that sends no Origin'}`)
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const socket = req.socket as Socket
      door?.upgraded(socket, () => {
        ws.close(1008, 'no hello with a valid token in time; open the session with an invite link')
        setTimeout(() => ws.terminate(), 1000).unref()
      })
      // A page that cannot read as fast as the app commits gets fewer events rather than being cut off.
      endpoint.connect(throttleEvents(socketTransport(ws, true)), door ? () => door.admit(socket) : undefined)
    })
  }
  server.on('upgrade', onUpgrade)
  return {
    close() {
      server.off('upgrade', onUpgrade)
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    },
  }
}

function refuse(socket: Duplex, status: number, message: string): void {
  const reason = status === 403 ? 'Forbidden' : 'Not Found'
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`)
}
