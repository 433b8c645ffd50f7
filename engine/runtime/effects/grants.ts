// What the notebook's front matter grants under `effects:` (DESIGN §3a): the
// HTTP origins a cell may read from and the named file roots. Nothing else is
// reachable; checked here as plain data, before anything runs.

/** An origin pattern as granted: `http://127.0.0.1:*` (any port) or an exact origin. */
export interface Grants {
  http: string[]
  /** Granted origins whose name may lead to this machine or a private network (`{ origin, private: true }`); see addressReach.ts. */
  privateHttp?: string[]
  fs: Record<string, { path: string; write: boolean }>
}

const ORIGIN = /^(https?):\/\/([^/?#@\s]+?)(?::(\d{1,5}|\*))?$/i

/**
 * The grants in `value` (the front matter's `effects`), or a problem in
 * words that says what to write instead.
 */
export function parseGrants(value: unknown): Grants | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be a mapping with `http:` (a list of origins) and/or `fs:` (named roots), e.g. effects: { http: [\'http://127.0.0.1:*\'] }'
  const grants: Grants = { http: [], fs: {} }
  for (const key of Object.keys(value)) if (key !== 'http' && key !== 'fs') return `has an unknown key "${key.slice(0, 40)}"; the keys are http and fs`
  const v = value as { http?: unknown; fs?: unknown }
  if (v.http !== undefined) {
    if (!Array.isArray(v.http)) return 'http must be a list of origins, e.g. [\'http://127.0.0.1:*\', \'https://api.example.com\']'
    for (const o of v.http) {
      // An origin, or { origin, private: true } for a name that leads to this machine or a private network.
      const entry = o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : null
      if (entry) {
        for (const key of Object.keys(entry)) if (key !== 'origin' && key !== 'private') return `http: an entry has an unknown key "${key.slice(0, 40)}"; write an origin, or { origin: 'http://name:port', private: true }`
        if (entry.private !== undefined && typeof entry.private !== 'boolean') return 'http: private must be true or false'
      }
      const text = entry ? entry.origin : o
      const origin = typeof text === 'string' ? originPattern(text) : null
      if (!origin) return `http: ${JSON.stringify(text)?.slice(0, 80) ?? 'an empty value'} is not an origin; write scheme://host or scheme://host:port (port * for any), with no path`
      grants.http.push(origin)
      if (entry?.private === true) (grants.privateHttp ??= []).push(origin)
    }
  }
  if (v.fs !== undefined) {
    if (v.fs === null || typeof v.fs !== 'object' || Array.isArray(v.fs)) return 'fs must be a mapping of named roots, e.g. fs: { data: { path: ./data } }'
    for (const [name, root] of Object.entries(v.fs)) {
      if (!/^[A-Za-z_][\w-]*$/.test(name)) return `fs: the root name ${JSON.stringify(name.slice(0, 40))} is not a name (a letter, then letters, digits, - or _)`
      const r = root as { path?: unknown; write?: unknown } | null
      if (r === null || typeof r !== 'object' || Array.isArray(r) || typeof r.path !== 'string' || !r.path || r.path.includes('\0')) return `fs.${name} must be { path: ./folder } (and write: true to allow writes)`
      for (const key of Object.keys(r)) if (key !== 'path' && key !== 'write') return `fs.${name} has an unknown key "${key.slice(0, 40)}"; the keys are path and write`
      if (r.write !== undefined && typeof r.write !== 'boolean') return `fs.${name}.write must be true or false`
      grants.fs[name] = { path: r.path, write: r.write === true }
    }
  }
  return grants
}

/** `o` as a canonical origin pattern (lower-case scheme and host, default port written out), or null. */
function originPattern(o: string): string | null {
  const m = ORIGIN.exec(o.trim())
  if (!m) return null
  const scheme = m[1]!.toLowerCase()
  // The host as the URL parser spells it, as it spells a request's (request.ts): 2130706433, 127.1 and
  // 0x7f.0.0.1 are 127.0.0.1, [0:0:0:0:0:0:0:1] is [::1], bücher.example is xn--bcher-kva.example.
  // Written otherwise, a grant would match no request at all, even one spelled exactly like it.
  let host: string
  if (!/^(\[[^\]]*\]|[^:[\]]*)$/.test(m[2]!)) return null // a port the pattern above did not take (six digits…) is no host
  try {
    host = new URL(`${scheme}://${m[2]!}/`).hostname
  } catch {
    return null
  }
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/.test(host)) return null
  const port = m[3] === undefined ? (scheme === 'https' ? '443' : '80') : m[3] === '*' ? '*' : String(Number(m[3]))
  if (port !== '*' && Number(port) > 65535) return null
  return `${scheme}://${host}:${port}`
}

/** A URL's origin as grants are kept: scheme://host:port, the default port written out. */
export function originOf(u: URL): string {
  return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`
}

/** True when `origin` (scheme://host:port, from the WHATWG URL parser) is granted. */
export function originGranted(grants: Grants, origin: string): boolean {
  return matches(grants.http, origin)
}

/** True when `origin` is granted with `private: true`: its name may lead to this machine or a private network. */
export function privateGranted(grants: Grants | undefined, origin: string): boolean {
  return !!grants?.privateHttp && matches(grants.privateHttp, origin)
}

function matches(patterns: string[], origin: string): boolean {
  for (const g of patterns) {
    if (g === origin) return true
    if (g.endsWith(':*') && origin.startsWith(g.slice(0, -1)) && /^\d+$/.test(origin.slice(g.length - 1))) return true
  }
  return false
}

/** True when the notebook grants no effect at all (its code event then records none). */
export function grantsNothing(g: Grants | undefined): boolean {
  return !g || (g.http.length === 0 && Object.keys(g.fs).length === 0)
}

/** What a parsed notebook grants (its front matter was checked when it was parsed), or undefined for nothing. */
export function notebookGrants(notebook: { settings: Record<string, unknown> }): Grants | undefined {
  const g = notebook.settings.effects
  if (g === undefined) return undefined
  const parsed = parseGrants(g)
  return typeof parsed === 'string' || grantsNothing(parsed) ? undefined : parsed
}
