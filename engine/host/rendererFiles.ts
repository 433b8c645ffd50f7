// The UI's static files (the renderer bundle in dist/renderer/) over HTTP:
// GET and HEAD only, with the right content type, and never a file outside
// the bundle's folder whatever the path says.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.d.ts': 'text/plain; charset=utf-8',
}

/** The bundle's files whose names carry their content's hash (scripts/build-renderer.ts: chunk-[hash], assets/[name]-[hash]). */
const HASHED = /^[\\/](chunk-[A-Z0-9]{8}\.js|assets[\\/][^\\/]+-[A-Z0-9]{8}\.[a-z0-9]+)$/

export const NOT_BUILT = 'The Loom UI has not been built yet: run `npm run build` (it writes dist/renderer/), then reload this page.\n'

/** Answers a request for a file of the bundle at `root`; `headers` go on every answer. */
export async function serveRendererFile(req: IncomingMessage, res: ServerResponse, root: string, headers: Record<string, string>): Promise<void> {
  const text = (status: number, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', ...extra })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, `${req.method} is not allowed here: the UI's files are read with GET\n`, { allow: 'GET, HEAD' })
  const file = resolvePath(root, req.url ?? '/')
  if (typeof file === 'object') return text(file.status, file.message)
  let found = await stat(file).catch(() => null)
  let path = file
  if (found?.isDirectory()) {
    path = join(file, 'index.html')
    found = await stat(path).catch(() => null)
  }
  if (!found?.isFile()) {
    const built = await stat(join(root, 'index.html')).then((s) => s.isFile(), () => false)
    if (!built) return text(503, NOT_BUILT)
    return text(404, `no such file in the Loom UI: ${(req.url ?? '/').split('?')[0]}\n`)
  }
  const type = CONTENT_TYPES[path.endsWith('.d.ts') ? '.d.ts' : extname(path).toLowerCase()] ?? 'application/octet-stream'
  // A validator, so the browser's revalidation (the headers say no-cache) gets a 304 and keeps what it
  // compiled: Chromium reuses a script's code cache only for a response it kept.
  const etag = `"${found.size.toString(36)}-${Math.floor(found.mtimeMs).toString(36)}"`
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ...headers, etag })
    return void res.end()
  }
  // A file named by its content's hash (the bundle's chunks, fonts) never changes under that name: the browser
  // keeps it without asking again, which saves a round trip per module on every later start.
  const cache = HASHED.test(path.slice(resolve(root).length)) ? { 'cache-control': 'public, max-age=31536000, immutable' } : {}
  res.writeHead(200, { ...headers, 'content-type': type, 'content-length': String(found.size), etag, ...cache })
  if (req.method === 'HEAD') return void res.end()
  createReadStream(path).on('error', () => res.destroy()).pipe(res)
}

/** The file a URL path names inside `root`, or why it names none. */
export function resolvePath(root: string, url: string): string | { status: number; message: string } {
  const raw = url.split(/[?#]/)[0] ?? '/'
  let path: string
  try {
    path = decodeURIComponent(raw)
  } catch {
    return { status: 400, message: 'the path is not valid percent-encoding\n' }
  }
  if (path.includes('\0')) return { status: 400, message: 'the path holds a NUL character\n' }
  if (!path.startsWith('/')) return { status: 400, message: 'the path must start with /\n' }
  // No step outside the bundle, however it is spelled (../, ..\, %2e%2e%2f).
  if (path.split(/[\\/]/).some((s) => s === '..')) return { status: 404, message: 'no such file in the Loom UI\n' }
  const base = resolve(root)
  const full = resolve(base, '.' + path)
  if (full !== base && !full.startsWith(base + sep)) return { status: 404, message: 'no such file in the Loom UI\n' }
  return full
}
