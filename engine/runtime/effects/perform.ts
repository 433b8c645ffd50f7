// Performs a safe read outside the process that runs cell code: an HTTP GET
// (redirects are answered as they are, never followed: the next origin may
// not be granted) or a file read whose real path must stay inside the real
// path of its root (a symlink out of the root is refused).
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { constants } from 'node:fs'
import { open, realpath } from 'node:fs/promises'
import { resolve, sep } from 'node:path'
import type { EffectRequest, EffectResponse } from './request.ts'

/** A response body larger than this is cut off: a read is not a download. */
export const MAX_BODY = 4 * 1024 * 1024
/** The whole of an HTTP read, from connecting to the last byte: a server that drips a byte at a time cannot hold it longer. */
export const TIMEOUT_MS = 10_000

/**
 * Performs `r`; file roots are relative to `baseDir` (the notebook's folder). Never throws: a failure is an `{ error }` response.
 * `timeoutMs` is for tests; everything else reads within TIMEOUT_MS.
 */
export async function performEffect(r: EffectRequest, baseDir: string, timeoutMs = TIMEOUT_MS): Promise<EffectResponse> {
  try {
    return r.kind === 'http.get' ? await get(r.url, r.headers, timeoutMs) : await read(resolve(baseDir, r.rootPath), r.root, r.path)
  } catch (err) {
    return { error: describe(err) }
  }
}

async function read(rootDir: string, root: string, path: string): Promise<EffectResponse> {
  const realRoot = await realpath(rootDir).catch(() => null)
  if (realRoot === null) return { error: `the root '${root}' (${rootDir}) does not exist` }
  const real = await realpath(resolve(realRoot, path)).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)))
  if (real === null) return { error: `no file '${path}' in the root '${root}'` }
  // A root at / ends with the separator already.
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return { error: `'${path}' leads outside the root '${root}' (through a link); only files inside it can be read` }
  // Opened without blocking (a FIFO would wait for a writer for ever), then only a regular file is read,
  // and never more than MAX_BODY + 1 bytes of it: a huge file (or one that grows) cannot fill this process.
  const file = await open(real, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    if (!(await file.stat()).isFile()) return { error: `'${path}' in the root '${root}' is not a file` }
    const buffer = Buffer.alloc(MAX_BODY + 1)
    let size = 0
    for (let n = -1; n !== 0 && size < buffer.length; size += n) n = (await file.read(buffer, size, buffer.length - size, size)).bytesRead
    if (size > MAX_BODY) return { error: `'${path}' is larger than ${MAX_BODY} bytes` }
    return { text: buffer.subarray(0, size).toString('utf8') }
  } finally {
    await file.close()
  }
}

function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<EffectResponse> {
  return new Promise((done, fail) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest
    // Node's `timeout` is an idle timeout, renewed by every byte; this one counts the whole read.
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs)
    const settle = <T>(f: (v: T) => void) => (v: T) => (clearTimeout(deadline), f(v))
    done = settle(done)
    fail = settle(fail)
    const req = send(url, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BODY) req.destroy(new Error(`the response is larger than ${MAX_BODY} bytes`))
        else chunks.push(c)
      })
      res.on('end', () => {
        const h: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v
        done({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', fail)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', fail)
    req.end()
  })
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (e?.code === 'ECONNREFUSED') return 'connection refused'
  if (e?.code === 'ENOTFOUND') return 'no such host'
  return e instanceof Error ? e.message : String(err)
}
