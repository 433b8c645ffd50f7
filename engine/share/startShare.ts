// `loom serve --share`: a second listener for guests beside the local one —
// the UI's files, the engine protocol at /engine (token required, role
// checked) and, unless `--sync URL` names a y-websocket server elsewhere,
// the sync server at /sync/notebook. The local listener stays on 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { networkInterfaces } from 'node:os'
import { basename } from 'node:path'
import * as Y from 'yjs'
import { connectSync, type SyncClient } from './syncClient.ts'
import type { Awareness } from 'y-protocols/awareness'
import { memoryPair } from '../protocol/memoryTransport.ts'
import { EngineClient } from '../protocol/client.ts'
import { attachEngineSocket, type EngineEndpoint, type GuardedEndpoint } from '../host/engineSocket.ts'
import { securityHeaders } from '../host/securityHeaders.ts'
import { serveRendererFile } from '../host/rendererFiles.ts'
import { parseNotebook } from '../runtime/notebook.ts'
import { LoomFailure } from '../protocol/loomError.ts'
import { cellsOf, fillDoc } from './notebookDoc.ts'
import { guardEndpoint } from './guardEndpoint.ts'
import { GUEST_ROLES, newTokens, type GuestRole, type Tokens } from './roles.ts'
import { ROOM, SYNC_PATH, attachSync, FilteredConn, type SyncServer } from './syncServer.ts'
import { ShareHost } from './ShareHost.ts'
import { Admission } from './Admission.ts'

export interface ShareOptions {
  /** A y-websocket server elsewhere (ws:// or wss://); default: our own at /sync. */
  sync?: string
  /** Address guests reach (default 0.0.0.0: every interface). */
  host?: string
  /** Port for guests (default 0: any free port). */
  port?: number
  debounceMs?: number
  say?: (line: string) => void
}

export interface Sharing {
  url: string
  port: number
  /** The owner's token and one per guest role. */
  tokens: Tokens & Record<GuestRole, string>
  /** One link per guest role; each carries its token. */
  invites: Record<GuestRole, string>
  /** The sync server's URL and room (what a y-websocket provider needs). */
  syncUrl: string
  room: string
  /** The CSP's connect-src additions every page of the session needs (the --sync server's origin). */
  connectSources: string[]
  doc: Y.Doc
  awareness: Awareness
  host: ShareHost
  /** Our own sync server (absent with --sync). */
  server: SyncServer | null
  /** Guards a connection of the engine protocol: nothing reaches the engine without a valid token (the owner's too). */
  guard: GuardedEndpoint
  close(): Promise<void>
}

/** `owner`: the token `loom serve` printed for the person who shares (default: a new one). */
export async function startShare(engine: EngineEndpoint, notebook: string, rendererDir: string, options: ShareOptions = {}, owner?: string): Promise<Sharing> {
  const tokens = { ...newTokens(GUEST_ROLES), ...(owner ? { owner } : {}) }
  // Pages find the shared document where hello says: our own /sync (on whichever listener served them), or the --sync server.
  let place: { sync: string | null; room: string; port: number } = { sync: null, room: ROOM, port: 0 }
  const guard = guardEndpoint(engine, tokens, () => place, notebook)
  // The host's own connection to the engine (the owner's rights, no token: it never leaves this process).
  const [ours, theirs] = memoryPair()
  const disconnect = engine.connect(theirs)
  const client = new EngineClient(ours)
  const hello = await client.call('hello', { client: 'share host' })
  // A notebook that does not parse (or is not UTF-8) cannot become a shared document: bad input, said
  // with its place the way `loom run` says it, before anything listens.
  const broken = hello.notebook.parseError
  if (broken) {
    disconnect()
    throw new LoomFailure(broken)
  }
  const fill = (doc: Y.Doc) => fillDoc(doc, parseNotebook(hello.notebook.text, notebook))

  let port = 0
  /** What the pages may connect to besides their own origin: the --sync server. */
  const connectSources = options.sync === undefined ? [] : [syncOrigin(options.sync)]
  const server: Server = createServer((req, res) => void answer(req, res))
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const headers = securityHeaders(port, connectSources)
      // Over plain http at this machine's network address (a guest's invite link) the browser ignores the
      // opener policy and puts an error in the guest's console on every load: it is sent on loopback only.
      if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(req.headers.host ?? '')) delete headers['cross-origin-opener-policy']
      await serveRendererFile(req, res, rendererDir, headers)
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(`could not read the file: ${(err as Error).message}\n`)
    }
  }
  server.on('clientError', (_err, socket) => socket.destroy())
  // Strangers (no valid token yet) are timed and budgeted apart from guests, whose caps are per channel
  // (guardEndpoint's MAX_GUESTS, syncServer's MAX_SYNC_CONNECTIONS): idle sockets cannot keep guests out.
  const door = new Admission()
  door.watch(server)
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => ok())
  })
  port = (server.address() as { port: number }).port
  place.port = port
  // Guests' pages come from this listener: the page's own origin, whatever name they reached it by.
  const socket = attachEngineSocket(server, guard, (req) => (req?.headers.host ? [`http://${req.headers.host}`, `https://${req.headers.host}`] : []), [SYNC_PATH + '/'], door)

  let sync: SyncServer | null = null
  let provider: SyncClient | null = null
  let doc: Y.Doc
  let awareness: Awareness
  let syncUrl: string
  let room: string
  if (options.sync === undefined) {
    sync = attachSync(server, tokens, fill, door)
    doc = sync.doc
    awareness = sync.doc.awareness
    syncUrl = `ws://${publicAddress(options.host)}:${port}${SYNC_PATH}`
    room = ROOM
  } else {
    doc = new Y.Doc()
    syncUrl = options.sync
    room = `loom-${basename(notebook).replace(/[^A-Za-z0-9_.-]/g, '-')}`
    place = { sync: syncUrl, room, port }
    provider = connectSync(syncUrl, room, doc)
    awareness = provider.awareness
    // Someone may have shared this room before: keep what it holds, fill it only when empty.
    await provider.synced(5000)
    if (cellsOf(doc).length === 0) fill(doc)
  }

  const nameOf = (origin: unknown, tr: Y.Transaction): string => {
    // The Yjs clients whose clocks moved made this change; their presence says who they are.
    for (const [id, clock] of tr.afterState) {
      if ((tr.beforeState.get(id) ?? 0) < clock) {
        const name = (awareness.getStates().get(id) as { name?: unknown } | undefined)?.name
        if (typeof name === 'string' && name !== '') return name.slice(0, 80)
      }
    }
    if (origin instanceof FilteredConn) return origin.peer?.name ?? (origin.role === 'owner' ? 'the owner' : `${origin.role === 'view' ? 'a' : 'an'} ${origin.role} guest`)
    return 'a guest'
  }
  const tell = (origin: unknown, message: string) => {
    if (origin instanceof FilteredConn) origin.tell(message)
  }
  const host = new ShareHost(doc, awareness, client, { nameOf, tell, debounceMs: options.debounceMs, say: options.say, engineText: hello.notebook.text })

  const base = `http://${publicAddress(options.host)}:${port}/`
  const extra = options.sync === undefined ? '' : `&sync=${encodeURIComponent(syncUrl)}&room=${encodeURIComponent(room)}`
  const invites = Object.fromEntries(GUEST_ROLES.map((r) => [r, `${base}?token=${tokens[r]}${extra}`])) as Record<GuestRole, string>
  return {
    url: base,
    port,
    tokens,
    invites,
    syncUrl,
    room,
    connectSources,
    doc,
    awareness,
    host,
    server: sync,
    guard,
    async close() {
      await host.close()
      provider?.close()
      sync?.close()
      socket.close()
      disconnect()
      const closed = new Promise<void>((ok) => server.close(() => ok()))
      server.closeAllConnections()
      await closed
    },
  }
}

/** The address to put in invite links: the one asked for, else this machine's first outward IPv4 address. */
function publicAddress(host: string | undefined): string {
  if (host && host !== '0.0.0.0' && host !== '::') return host
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

/** The scheme, host and port of a ws:// or wss:// URL, as a CSP source (`ws://sync.example:1234`). */
function syncOrigin(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new Error(`--sync ${url} is not a URL; give the y-websocket server as ws://host:port or wss://host`)
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`--sync ${url}: a y-websocket server is reached with ws:// or wss://, not ${u.protocol}`)
  return `${u.protocol}//${u.host}`
}
