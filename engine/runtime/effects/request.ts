// A safe read as the log knows it: the request in canonical form (its hash is
// the key its recorded response is kept under), checked against the grants
// first, and the writes an `effect` event makes when its response comes.
import { createHash } from 'node:crypto'
import { canonicalJson, type Json } from '../values.ts'
import type { Write } from '../event.ts'
import { originGranted, originOf, type Grants } from './grants.ts'
import { EFFECTS_STATE } from '../../protocol/effectLine.ts'
import { redactUrl } from '../../protocol/redactCredentials.ts'

/** Where recorded responses live (defined with the words that show them, which the window shares). */
export { EFFECTS_STATE }

export type EffectRequest =
  | { kind: 'http.get'; url: string; headers: Record<string, string>; timeoutMs?: number }
  | { kind: 'fs.read'; root: string; rootPath: string; path: string }
  // Actions (action.ts): performed after the commit that made them.
  | { kind: 'http.send'; method: string; url: string; headers: Record<string, string>; body: string; timeoutMs: number }
  | { kind: 'fs.write'; root: string; rootPath: string; path: string; data: string }

/** What a safe read answered: an HTTP response, a file's text, or why there is none. */
export type EffectResponse =
  | { status: number; headers: Record<string, string>; body: string }
  | { text: string }
  | { written: number }
  | { error: string }

/** What a transaction asks for: the request and its hash, or why it may not (naming the key to add), with and without the call. */
export type Asked = { request: EffectRequest; hash: string; what: string } | { denied: string; why: string }

const deny = (what: string, why: string): Asked => ({ denied: `${what}: ${why}`, why })

export function requestHash(r: EffectRequest): string {
  return createHash('sha256').update(canonicalJson(r as unknown as Json)).digest('hex')
}

/** Longer URLs (and headers, together) are refused: every request is kept in the log. */
const MAX_URL = 16 * 1024

/** sys.http.get(url, { headers, timeoutMs }): the request, if the URL's origin is granted (a timeout given is part of it). */
export function httpGet(grants: Grants | undefined, url: unknown, headers: unknown, timeoutMs?: unknown): Asked {
  // The words every message about this read uses (a wait, a denial, a failure): a credential in the query is blanked.
  const what = `sys.http.get(${JSON.stringify(typeof url === 'string' ? redactUrl(url.slice(0, 200)) : String(url))})`
  if (typeof url !== 'string') return deny(what, `the url is a string`)
  if (url.length > MAX_URL) return deny(what, `the url is longer than ${MAX_URL} characters`)
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return deny(what, `not an absolute URL (write http://host:port/path)`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return deny(what, `only http and https URLs can be read`)
  // Userinfo hides the real host from a reader (http://granted@evil/): never sent, so never allowed.
  if (u.username || u.password) return deny(what, `a URL with a user name or password is not allowed; send credentials in a header`)
  const origin = originOf(u)
  if (!grants || !originGranted(grants, origin)) return deny(what, `the origin ${origin} is not granted; add it to \`effects.http\` in the front matter`)
  const h: Record<string, string> = {}
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) return deny(what, `headers is an object of strings`)
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n\0]/.test(v)) return deny(what, `header ${JSON.stringify(k.slice(0, 40))} is not a header name with a string value`)
      h[k.toLowerCase()] = v
    }
    if (JSON.stringify(h).length > MAX_URL) return deny(what, `the headers are longer than ${MAX_URL} characters`)
  }
  if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || (timeoutMs as number) < 1 || (timeoutMs as number) > 600_000)) return deny(what, `timeoutMs is a whole number from 1 to 600000`)
  u.hash = ''
  const request: EffectRequest = timeoutMs === undefined ? { kind: 'http.get', url: u.href, headers: h } : { kind: 'http.get', url: u.href, headers: h, timeoutMs: timeoutMs as number }
  return { request, hash: requestHash(request), what }
}

/** sys.fs.read(root, path): the request, if the root is granted and the path stays inside it (as written; the runner checks links). */
export function fsRead(grants: Grants | undefined, root: unknown, path: unknown): Asked {
  const what = `sys.fs.read(${JSON.stringify(String(root).slice(0, 40))}, ${JSON.stringify(String(path).slice(0, 200))})`
  if (typeof root !== 'string' || typeof path !== 'string') return deny(what, `the root and the path are strings`)
  if (path.length > 4096) return deny(what, `the path is longer than 4096 characters`)
  const granted = grants && Object.hasOwn(grants.fs, root) ? grants.fs[root]! : null
  if (!granted) return deny(what, `there is no file root '${root.slice(0, 40)}'; add it to \`effects.fs\` in the front matter (${root.slice(0, 40) || 'data'}: { path: ./folder })`)
  const problem = pathProblem(path)
  if (problem) return deny(what, `${problem}; paths are relative to the root '${root}' and stay inside it`)
  const inside = path.split('/').filter((p) => p && p !== '.').join('/')
  if (!inside) return deny(what, `the path names the root itself; name a file inside the root '${root}'`)
  const request: EffectRequest = { kind: 'fs.read', root, rootPath: granted.path, path: inside }
  return { request, hash: requestHash(request), what }
}

function pathProblem(path: string): string | null {
  if (!path) return 'the path is empty'
  if (path.includes('\0')) return 'the path holds a NUL character'
  if (path.includes('\\')) return 'the path holds a backslash (separate folders with /)'
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'the path is absolute'
  if (path.split('/').includes('..')) return 'the path goes up (..)'
  return null
}

/** An `effect` event's input: the request, what answered it and how long it took. */
export interface EffectInput {
  request: EffectRequest
  hash: string
  response: EffectResponse
  ms: number
}

/** What an `effect` event writes: the response kept by request hash, with the event's time (its age is measured from it). */
export function effectWrites(input: EffectInput, time: number): Write[] {
  return [
    { state: EFFECTS_STATE, op: 'declare', kind: 'map', value: {} },
    { state: EFFECTS_STATE, op: 'set', key: input.hash, value: { response: input.response as unknown as Json, at: time } },
  ]
}

/** Why `input` is not an effect event's input (a log from someone else is untrusted), or null. */
export function effectInputProblem(input: unknown): string | null {
  const i = input as Partial<EffectInput> | null
  if (i === null || typeof i !== 'object' || typeof i.hash !== 'string' || i.request === null || typeof i.request !== 'object') return 'no request'
  if (requestHash(i.request) !== i.hash) return 'its hash is not its request\'s'
  const r = i.response as Record<string, unknown> | null
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'no response'
  return null
}
