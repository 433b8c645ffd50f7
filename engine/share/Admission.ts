// The guests' listener's door: a connection is a stranger until it shows a
// valid token (a `hello` on /engine, the link's token on /sync). Strangers
// get a few seconds and a budget of their own, so a flood of idle sockets
// neither fills the guests' places nor keeps anyone out: past the budget the
// oldest idle stranger makes room for the newest connection.
import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/** A stranger not busy with an HTTP request is closed after this long. */
export const STRANGER_MS = 5_000
/** At most this many strangers at once; the oldest idle one goes when another arrives. */
export const MAX_STRANGERS = 256

interface Stranger {
  timer: NodeJS.Timeout
  /** How to send it away (a WebSocket closes with a reason; a bare socket is destroyed). */
  dismiss: () => void
}

export class Admission {
  private readonly strangers = new Map<Socket, Stranger>()
  /** Sockets answering an HTTP request (the page's files): not idle, whatever their age. */
  private readonly busy = new Set<Socket>()

  watch(server: Server): void {
    server.on('connection', (socket: Socket) => this.arrive(socket))
    server.on('request', (req, res) => {
      const socket = req.socket as Socket
      this.busy.add(socket)
      res.once('close', () => this.busy.delete(socket))
    })
  }

  private arrive(socket: Socket): void {
    if (this.strangers.size >= MAX_STRANGERS) this.evict()
    const stranger: Stranger = { timer: this.timer(socket), dismiss: () => socket.destroy() }
    this.strangers.set(socket, stranger)
    socket.once('close', () => this.forget(socket))
  }

  private timer(socket: Socket): NodeJS.Timeout {
    return setTimeout(() => {
      const s = this.strangers.get(socket)
      if (!s) return
      if (this.busy.has(socket)) s.timer = this.timer(socket)
      else this.send(socket)
    }, STRANGER_MS).unref()
  }

  private evict(): void {
    let oldest: Socket | null = null
    for (const socket of this.strangers.keys()) {
      if (!this.busy.has(socket)) {
        oldest = socket
        break
      }
      oldest ??= socket
    }
    if (oldest) this.send(oldest)
  }

  private send(socket: Socket): void {
    const s = this.strangers.get(socket)
    this.forget(socket)
    s?.dismiss()
  }

  private forget(socket: Socket): void {
    const s = this.strangers.get(socket)
    if (s) clearTimeout(s.timer)
    this.strangers.delete(socket)
    this.busy.delete(socket)
  }

  /** A WebSocket on a stranger's socket: when its time is up it is closed with `reason` rather than cut. */
  upgraded(socket: Socket, close: () => void): void {
    const s = this.strangers.get(socket)
    if (s) s.dismiss = close
  }

  /** The socket showed a valid token: no longer a stranger, never timed out or evicted. */
  admit(socket: Socket): void {
    this.forget(socket)
  }

  get waiting(): number {
    return this.strangers.size
  }
}
