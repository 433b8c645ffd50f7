// The host's connection to a y-websocket server elsewhere (`--sync URL`):
// the y-websocket sync and awareness messages over `ws`, reconnecting after
// a second when the connection drops. (y-websocket's own provider is the
// browser's; engine/ keeps to y-protocols.)
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'

export interface SyncClient {
  awareness: awarenessProtocol.Awareness
  /** Resolves once the first exchange with the server is done (or after `ms`). */
  synced(ms: number): Promise<void>
  close(): void
}

export function connectSync(url: string, room: string, doc: Y.Doc): SyncClient {
  const awareness = new awarenessProtocol.Awareness(doc)
  let ws: WebSocket | null = null
  let closed = false
  let isSynced = false
  const waiters: (() => void)[] = []
  const send = (bytes: Uint8Array) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(bytes)
  }
  const message = (type: number, write: (e: encoding.Encoder) => void) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, type)
    write(e)
    return encoding.toUint8Array(e)
  }
  const onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin !== ws) send(message(0, (e) => syncProtocol.writeUpdate(e, update)))
  }
  const onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    send(message(1, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, added.concat(updated, removed)))))
  }
  doc.on('update', onUpdate)
  awareness.on('update', onAwareness)
  const open = () => {
    const socket = new WebSocket(`${url.replace(/\/$/, '')}/${room}`)
    ws = socket
    socket.binaryType = 'arraybuffer'
    socket.on('open', () => {
      send(message(0, (e) => syncProtocol.writeSyncStep1(e, doc)))
      if (awareness.getLocalState() !== null) send(message(1, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]))))
    })
    socket.on('message', (data: ArrayBuffer) => {
      try {
        const d = decoding.createDecoder(new Uint8Array(data))
        const type = decoding.readVarUint(d)
        if (type === 0) {
          const e = encoding.createEncoder()
          encoding.writeVarUint(e, 0)
          const sub = syncProtocol.readSyncMessage(d, e, doc, socket)
          if (encoding.length(e) > 1) send(encoding.toUint8Array(e))
          if (sub === syncProtocol.messageYjsSyncStep2 && !isSynced) {
            isSynced = true
            for (const w of waiters.splice(0)) w()
          }
        } else if (type === 1) awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(d), socket)
      } catch {
        socket.close() // a server that sends garbage: reconnect and sync afresh
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      if (!closed) setTimeout(open, 1000)
    })
  }
  open()
  return {
    awareness,
    synced: (ms) => (isSynced ? Promise.resolve() : new Promise<void>((ok) => (waiters.push(ok), setTimeout(ok, ms)))),
    close() {
      closed = true
      doc.off('update', onUpdate)
      awareness.off('update', onAwareness)
      awarenessProtocol.removeAwarenessStates(awareness, [doc.clientID], 'closed')
      // Its timer (for peers that went quiet) would keep the process alive.
      awareness.destroy()
      ws?.close()
    },
  }
}
