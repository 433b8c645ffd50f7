// Performs an effect outside the process that runs cell code, once: an HTTP
// GET or send (redirects are answered as they are, never followed: the next
// origin may not be granted; the whole exchange has a deadline), a file read
// whose real path must stay inside the real path of its root (a symlink out
// of the root is refused), or a file write that replaces the file whole.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { constants } from 'node:fs'
import { mkdir, open, realpath, rename, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, resolve, sep } from 'node:path'
import type { EffectRequest, EffectResponse } from './request.ts'
import { DEFAULT_TIMEOUT } from './action.ts'
import { reachCheckedLookup, type Resolve } from './addressReach.ts'

/** A response body larger than this is cut off: a read is not a download. */
export const MAX_BODY = 4 * 1024 * 1024

/** Where a granted name may lead (addressReach.ts): `privateGranted` from the grant; `resolve` replaces DNS for a test's names. */
export interface ReachOptions {
  privateGranted?: boolean
  resolve?: Resolve
}

/** Performs `r`; file roots are relative to `baseDir` (the notebook's folder). Never throws: a failure is an `{ error }` response. */
export async function performEffect(r: EffectRequest, baseDir: string, reach: ReachOptions = {}): Promise<EffectResponse> {
  try {
    switch (r.kind) {
      case 'http.get': return await exchange('GET', r.url, r.headers, null, r.timeoutMs ?? DEFAULT_TIMEOUT, reach)
      case 'http.send': return await exchange(r.method, r.url, r.headers, r.body, r.timeoutMs, reach)
      case 'fs.read': return await read(resolve(baseDir, r.rootPath), r.root, r.path)
      case 'fs.write': return await write(resolve(baseDir, r.rootPath), r.root, r.path, r.data)
    }
  } catch (err) {
    return { error: describe(err) }
  }
}

async function read(rootDir: string, root: string, path: string): Promise<EffectResponse> {
  const realRoot = await realpath(rootDir).catch(() => null)
  if (realRoot === null) return { error: `the root '${root}' (${rootDir}) does not exist` }
  const real = await realpath(resolve(realRoot, path)).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)))
  if (real === null) return { error: `no file '${path}' in the root '${root}'` }
  if (!inside(realRoot, real)) return { error: `'${path}' leads outside the root '${root}' (through a link); only files inside it can be read` }
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

/** True when `real` is `realRoot` or inside it. */
function inside(realRoot: string, real: string): boolean {
  // A root at / ends with the separator already.
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)
}

/**
 * Writes `data` as the whole file: into a new file beside it (opened exclusively: no link is followed),
 * then renamed over it, so a reader never sees half, and a link at the path is replaced, not followed.
 * Missing folders are made one at a time, each checked to be inside the root before the next.
 */
async function write(rootDir: string, root: string, path: string, data: string): Promise<EffectResponse> {
  const realRoot = await realpath(rootDir).catch(() => null)
  if (realRoot === null) return { error: `the root '${root}' (${rootDir}) does not exist` }
  const parts = path.split('/')
  let dir = realRoot
  for (const part of parts.slice(0, -1)) {
    const next = resolve(dir, part)
    await mkdir(next).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? null : Promise.reject(err)))
    dir = await realpath(next)
    if (!inside(realRoot, dir)) return { error: `'${path}' leads outside the root '${root}' (through a link); only files inside it can be written` }
  }
  const target = resolve(dir, parts.at(-1)!)
  const temp = resolve(dir, `.${basename(target).slice(0, 100)}.loom-${randomBytes(6).toString('hex')}`)
  const file = await open(temp, 'wx')
  try {
    await file.writeFile(data)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(temp, target)
  } catch (err) {
    await rm(temp, { force: true })
    if ((err as NodeJS.ErrnoException).code === 'EISDIR' || (err as NodeJS.ErrnoException).code === 'ENOTEMPTY') return { error: `'${path}' in the root '${root}' is a folder` }
    throw err
  }
  return { written: Buffer.byteLength(data) }
}

/** One HTTP exchange; the whole of it (connecting, the headers, every byte of the body) within `timeoutMs`. */
function exchange(method: string, url: string, headers: Record<string, string>, body: string | null, timeoutMs: number, reach: ReachOptions): Promise<EffectResponse> {
  return new Promise((done, fail) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest
    const h = body === null ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
    // Only a name is looked up (an address in the URL is reached as written): every address it has is checked.
    const lookup = reachCheckedLookup(new URL(url).origin, reach.privateGranted ?? false, reach.resolve)
    const req = send(url, { method, headers: h, lookup }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BODY) req.destroy(new Error(`the response is larger than ${MAX_BODY} bytes`))
        else chunks.push(c)
      })
      res.on('end', () => {
        clearTimeout(deadline)
        const h: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v
        done({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', fail)
    })
    // A total deadline, not an idle one: a server that drips a byte a second never goes idle.
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs)
    req.on('error', (err) => (clearTimeout(deadline), fail(err)))
    req.on('close', () => clearTimeout(deadline))
    req.end(body ?? undefined)
  })
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (e?.code === 'ECONNREFUSED') return 'connection refused'
  if (e?.code === 'ENOTFOUND') return 'no such host'
  if (e?.code === 'EREACH') return e.message
  return e instanceof Error ? e.message : String(err)
}
