// The app's HTTP port: Node's http server on 127.0.0.1 turning each request
// into an `http` transaction. Hostile input is refused at the door — too
// large (413), malformed (400), too slow (timeouts) — and never reaches the app.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Engine } from './engine.ts'
import type { HttpRequest, HttpResponse } from './http.ts'

export interface HttpOptions {
  port: number
  host?: string
  /** Largest request body accepted (default 1 MiB). */
  maxBody?: number
  /** How long a request may wait to commit before it gets 503 (default 10 s). */
  deadlineMs?: number
  /** How long a client may take to send its headers (default 10 s): slow clients are cut off. */
  headersTimeoutMs?: number
  /** Requests it answers (the /sys reflection) never reach the app. */
  reserved?: { handle(req: HttpRequest): Promise<HttpResponse> | null }
}

export interface RunningServer {
  url: string
  port: number
  close(): Promise<void>
}

/** What serving needs of the app: the engine itself, or (a confined run) the launcher's relay to it. */
export type HttpApp = Pick<Engine, 'request'>

export function serveHttp(engine: HttpApp, options: HttpOptions): Promise<RunningServer> {
  const maxBody = options.maxBody ?? 1024 * 1024
  const headersTimeout = options.headersTimeoutMs ?? 10_000
  const server: Server = createServer({ headersTimeout, requestTimeout: Math.max(headersTimeout, 30_000), connectionsCheckingInterval: Math.min(1000, headersTimeout) }, (req, res) => {
    readBody(req, maxBody).then(
      (body) => {
        if (body === null) return send(res, 413, `request body over ${maxBody} bytes\n`, () => req.destroy())
        // The target as sent (not resolved as a URL: '//x' is a path here, not a host).
        const target = req.url ?? '/'
        const q = target.indexOf('?')
        const request: HttpRequest = {
          method: req.method ?? 'GET',
          path: q < 0 ? target : target.slice(0, q),
          query: Object.fromEntries(new URLSearchParams(q < 0 ? '' : target.slice(q + 1))),
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
          body,
        }
        // The client hanging up before its answer: a request not yet run (one held while the app is paused) is dropped, never committed.
        const gone = new AbortController()
        res.once('close', () => res.writableEnded || gone.abort())
        const answer = options.reserved?.handle(request) ?? engine.request(request, options.deadlineMs, gone.signal)
        return answer.then((r) => {
          res.writeHead(r.status, r.headers)
          res.end(r.body)
        })
      },
      () => send(res, 400, 'the request could not be read\n'),
    ).catch(() => (res.headersSent ? res.destroy() : send(res, 400, 'the request could not be handled\n')))
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
    else socket.destroy()
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://${options.host ?? '127.0.0.1'}:${port}`,
        port,
        close: () => new Promise((done) => server.close(() => done())),
      })
    })
  })
}

function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        req.removeAllListeners('data')
        req.pause()
        resolve(null)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function send(res: ServerResponse, status: number, text: string, then?: () => void): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
  res.end(text, then)
}
