// The y-websocket server of a shared session, inside the serve process
// (@y/websocket-server's setupWSConnection on our own http server): the
// host owns the document, so it writes the notebook file and live-codes the
// app from it with no extra hop, and guests need one port only.
//
// In front of the library's message handling sits a small filter, since the
// library has no hook for it: the token in the URL picks the role, a `view`
// connection's document updates are dropped (it still receives everything
// and may send presence), presence (awareness) is limited in size and to the
// connection's own clients, and a message that does not decode closes its
// connection before it can reach the document. What is dropped for a reason
// the guest should know is told to them (y-protocols' permission-denied
// message, which y-websocket logs in the page's console).
import { EventEmitter } from 'node:events'
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { Awareness } from 'y-protocols/awareness'
import type { Door } from '../host/engineSocket.ts'
import { docs, getYDoc, setupWSConnection, type WSSharedDoc } from '@y/websocket-server/utils'
import { aRole, roleOfToken, type Role, type Tokens } from './roles.ts'
import { MAX_DEPTH, textDepth } from '../protocol/validate.ts'
import { SYNC_PATH } from './syncPath.ts'

export { SYNC_PATH }

/** The room guests join: one shared notebook per `loom serve`. */
export const ROOM = 'notebook'
/** Larger sync messages close the connection (a pasted notebook is far below this). */
export const MAX_SYNC_MESSAGE = 4 * 1024 * 1024
/** More connections than this at once are refused (503): a flood does not take the host down. Only connections with a valid token count. */
export const MAX_SYNC_CONNECTIONS = 200
/**
 * Larger presence (one client's awareness state, as JSON) is dropped and not
 * passed on to everyone: a name, a colour, a cursor and a moment need a few
 * hundred bytes. View guests get less room: they show themselves and nothing else.
 */
export const MAX_PRESENCE: Record<Role, number> = { view: 2048, edit: 8192, run: 8192, owner: 8192 }
/** Yjs client ids one connection may speak for (a page has one; a reconnect may bring a new one). */
const MAX_OWN_CLIENTS = 4

/** One guest's sync connection, as the document's updates name it (their transaction origin). */
export interface SyncPeer {
  role: Role
  /** The name given in the link (`&name=`), else what their presence says, else their role. */
  name: string | null
  /** The Yjs client ids this connection speaks for (from its presence). */
  clients(): Set<number>
}

export interface SyncServer {
  doc: WSSharedDoc
  peers: Set<SyncPeer>
  /** Garbled or oversized messages dropped so far. */
  refused: number
  /** Serves the same room on another http server too (the owner's 127.0.0.1 listener, for their own page), admitting through its `door`; returns how to stop. */
  listen(other: Server, door?: Door): () => void
  close(): void
}

let instances = 0

/** Serves `doc`'s room at /sync/notebook on `server`; `doc` is created and filled by `fill` before anyone connects. */
export function attachSync(server: Server, tokens: Tokens, fill: (doc: Y.Doc) => void, door?: Door): SyncServer {
  // The library keeps documents by name in one module-wide map: a name per instance keeps two sessions in one process apart.
  const docName = `loom-${process.pid}-${++instances}`
  const doc = getYDoc(docName)
  fill(doc)
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SYNC_MESSAGE })
  const peers = new Set<SyncPeer>()
  const servers = new Map<Server, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>()
  const state: SyncServer = {
    doc,
    peers,
    refused: 0,
    listen(other, otherDoor) {
      const handler = upgradeThrough(otherDoor)
      servers.set(other, handler)
      other.on('upgrade', handler)
      return () => {
        servers.delete(other)
        other.off('upgrade', handler)
      }
    },
    close() {
      for (const [s, handler] of servers) s.off('upgrade', handler)
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      docs.delete(docName)
      doc.destroy()
    },
  }
  /** Each listener admits a guest through its own door (its strangers are counted and timed there). */
  const upgradeThrough = (door?: Door) => (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    if (!path.startsWith(SYNC_PATH + '/')) return // another listener's (the engine's) path
    socket.on('error', () => {})
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://x')
    } catch {
      return refuse(socket, 404, `no room at ${path.slice(0, 100)}; the notebook is at ${SYNC_PATH}/${ROOM}`)
    }
    if (url.pathname !== `${SYNC_PATH}/${ROOM}`) return refuse(socket, 404, `no room at ${url.pathname}; the notebook is at ${SYNC_PATH}/${ROOM}`)
    const role = roleOfToken(tokens, url.searchParams.get('token'))
    if (role === null) return refuse(socket, 401, 'open the session with an invite link: its token is missing or not valid for this session')
    if (wss.clients.size >= MAX_SYNC_CONNECTIONS) return refuse(socket, 503, 'too many connections to this session; try again later')
    door?.admit(req.socket as Socket)
    wss.handleUpgrade(req, socket, head, (ws) => {
      const name = url.searchParams.get('name')
      const conn = new FilteredConn(ws, role, () => state.refused++, doc.awareness)
      const peer: SyncPeer = { role, name: name && name.length <= 80 ? name : null, clients: () => doc.conns.get(conn) ?? new Set() }
      conn.peer = peer
      peers.add(peer)
      ws.on('close', () => peers.delete(peer))
      setupWSConnection(conn as unknown as WebSocket, req, { docName })
    })
  }
  const onUpgrade = upgradeThrough(door)
  servers.set(server, onUpgrade)
  server.on('upgrade', onUpgrade)
  return state
}

/** Stands in for the socket towards the library: forwards what may reach the document, drops or closes on the rest. */
export class FilteredConn extends EventEmitter {
  peer: SyncPeer | null = null
  binaryType = 'arraybuffer'
  /** The Yjs clients whose presence this connection may set. */
  private readonly own = new Set<number>()
  constructor(private readonly ws: WebSocket, readonly role: Role, refused: () => void, awareness?: Awareness) {
    super()
    ws.binaryType = 'arraybuffer'
    ws.on('message', (data: ArrayBuffer, isBinary: boolean) => {
      try {
        const bytes = new Uint8Array(data)
        const verdict = isBinary ? check(bytes, role, awareness ? { own: this.own, taken: (id) => awareness.getStates().has(id) } : undefined) : 'garbled'
        if (verdict === 'pass') this.emit('message', data)
        else if (verdict === 'garbled') {
          refused()
          ws.close(1007, 'a sync message that does not decode')
        } else if (verdict !== 'drop') {
          refused()
          this.tell(verdict.told)
        }
      } catch (err) {
        // A bug in handling one guest's message ends that guest's connection, said where loom runs, not the process.
        process.stderr.write(`loom: closed a sync connection after an error handling its message: ${(err as Error)?.stack ?? String(err)}\n`)
        ws.close(1011, 'the server failed handling a message')
      }
    })
    ws.on('close', (code, reason) => this.emit('close', code, reason))
    ws.on('pong', () => this.emit('pong'))
    ws.on('error', () => {})
  }
  get readyState(): number {
    return this.ws.readyState
  }
  send(m: Uint8Array, opts: object, cb?: (err?: Error) => void): void {
    this.ws.send(m, opts, cb)
  }
  ping(): void {
    this.ws.ping()
  }
  close(): void {
    this.ws.close()
  }
  /** Tells this guest why something they sent was not taken (y-protocols' auth message: permission denied, with the reason). */
  tell(reason: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 2)
    encoding.writeVarUint(e, 0)
    encoding.writeVarString(e, reason)
    this.ws.send(encoding.toUint8Array(e))
  }
}

/** Whose presence a connection already speaks for, and whether a client id is someone else's. */
export interface PresenceOwners {
  own: Set<number>
  taken(id: number): boolean
}

/**
 * What to do with one message: pass it on, drop it (a view guest's update, an
 * echo of others' presence), drop it and tell the guest why, or call it garbled.
 */
export function check(bytes: Uint8Array, role: Role, owners?: PresenceOwners): 'pass' | 'drop' | 'garbled' | { told: string } {
  try {
    const d = decoding.createDecoder(bytes)
    const type = decoding.readVarUint(d)
    if (type === 0) {
      const sub = decoding.readVarUint(d)
      const payload = decoding.readVarUint8Array(d)
      if (sub === 0) return 'pass' // "send me what I lack": anyone may ask
      if (sub !== 1 && sub !== 2) return 'garbled'
      Y.decodeUpdate(payload) // throws on anything that is not an update
      return role === 'view' ? 'drop' : 'pass'
    }
    if (type === 1) return checkPresence(decoding.readVarUint8Array(d), role, owners)
    if (type === 3) return 'drop' // a query for presence: the server sends it anyway
    return 'garbled'
  } catch {
    return 'garbled'
  }
}

/**
 * An awareness update: each client's state must be JSON within the role's
 * size, and for a client this connection speaks for (or a new one). Pages
 * echo the presence of others they receive (y-websocket does): such an echo
 * is dropped quietly, since the server has it already.
 */
function checkPresence(update: Uint8Array, role: Role, owners?: PresenceOwners): 'pass' | 'drop' | { told: string } {
  const d = decoding.createDecoder(update)
  const n = decoding.readVarUint(d)
  const mine: number[] = []
  let foreign = 0
  for (let i = 0; i < n; i++) {
    const id = decoding.readVarUint(d)
    decoding.readVarUint(d) // clock
    const json = decoding.readVarString(d)
    // Someone else's presence or its removal, echoed back (or forged): never passed on, so its content does not matter.
    if (owners && !owners.own.has(id) && (owners.taken(id) || json === 'null')) {
      foreign++
      continue
    }
    if (json.length > MAX_PRESENCE[role]) return { told: `your presence (${json.length} bytes) is over the ${MAX_PRESENCE[role]} bytes ${aRole(role)} guest may send; it was not passed on` }
    // The library re-encodes presence with JSON.stringify, which a few thousand levels overflow.
    if (textDepth(json) > MAX_DEPTH) return { told: `your presence nests more than ${MAX_DEPTH} levels deep; it was not passed on` }
    const state = JSON.parse(json) as unknown
    // The host's presence carries the notebook's problems: a guest may not pose as it.
    if (state !== null && typeof state === 'object' && Object.hasOwn(state, 'loomHost')) return { told: "'loomHost' is the host's presence; a guest's presence may not carry it" }
    mine.push(id)
  }
  if (foreign && !mine.length) return 'drop'
  if (foreign) return { told: 'presence may be sent only for yourself; an update that also set others\' was not passed on' }
  if (owners) {
    const fresh = [...new Set(mine)].filter((id) => !owners.own.has(id))
    if (owners.own.size + fresh.length > MAX_OWN_CLIENTS) return { told: `one connection may show at most ${MAX_OWN_CLIENTS} presences; this one was not passed on` }
    for (const id of fresh) owners.own.add(id)
  }
  return 'pass'
}

function refuse(socket: Duplex, status: number, message: string): void {
  const reason = { 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error'
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`)
}
