// What may be shown to someone other than the owner of a log, or put on a
// screen: the recorded requests and responses with their credentials blanked.
// The log itself keeps the real values (replay needs them); only what is
// served or shown is redacted. Plain code: the host blanks what guests and
// /sys are sent, and the window blanks what it draws, with the same rule.

/** Header names whose values are credentials, lower case (besides those whose words say so: see secretName). */
export const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie'])
export const REDACTED = '[redacted]'

/** Words that make a header, query parameter or field a secret: `x-api-key`, `access_token`, `clientSecret`, `X-Amz-Signature`. */
const SECRET_WORDS = new Set(['token', 'secret', 'password', 'passwd', 'pwd', 'passphrase', 'key', 'apikey', 'auth', 'authorization', 'session', 'sessionid', 'sid', 'signature', 'sig', 'credential', 'credentials', 'cookie', 'jwt', 'bearer', 'otp'])
/** Names with a secret word that are not secrets: an action's idempotency key is its id, shown so a person can match it. */
const NOT_SECRET = new Set(['idempotency-key', 'sec-websocket-key', 'keep-alive'])

const named = new Map<string, boolean>()

/** True when a header or parameter called `name` holds a credential (by its words: `X-Api-Key`, `access_token`, `clientSecret`). */
export function secretName(name: string): boolean {
  let known = named.get(name)
  if (known !== undefined) return known
  const lower = name.toLowerCase()
  known = CREDENTIAL_HEADERS.has(lower) || (!NOT_SECRET.has(lower) && name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).some((w) => SECRET_WORDS.has(w)))
  if (named.size < 10_000) named.set(name, known)
  return known
}

/**
 * `url` with the value of every query parameter whose name says it is a
 * credential blanked (`?api_key=[redacted]&q=shoes`); the URL itself when
 * there is none. Plain text work: a URL that does not parse is blanked the same way.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const hash = url.indexOf('#', q)
  const end = hash < 0 ? url.length : hash
  let changed = false
  const params = url.slice(q + 1, end).split('&').map((p) => {
    const eq = p.indexOf('=')
    let name = eq < 0 ? p : p.slice(0, eq)
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '))
    } catch {
      // A malformed escape: judged by the name as written.
    }
    if (eq < 0 || !secretName(name) || p.slice(eq + 1) === REDACTED) return p
    changed = true
    return `${p.slice(0, eq)}=${REDACTED}`
  })
  return changed ? `${url.slice(0, q + 1)}${params.join('&')}${url.slice(end)}` : url
}

/**
 * `value` with every credential blanked wherever it appears, at any depth: a
 * value in a `headers` object (an http event's request, its response, an
 * effect's request and response, an attempt) or a `query` object under a
 * name that says it is a credential, and such parameters of a `url` string.
 * Returns `value` itself when there was nothing to blank, so the common case
 * copies nothing.
 */
export function redactCredentials<T>(value: T): T {
  return redact(value, null) as T
}

/** `within`: the key `value` is held under, when that makes its own keys names of headers or parameters. */
function redact(value: unknown, within: 'headers' | 'query' | null): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null
    for (let i = 0; i < value.length; i++) {
      const v = redact(value[i], null)
      if (v !== value[i]) (copy ??= [...value])[i] = v
    }
    return copy ?? value
  }
  let copy: Record<string, unknown> | null = null
  for (const [k, v] of Object.entries(value)) {
    const next = within && secretName(k) ? (v === REDACTED ? v : REDACTED)
      : k === 'url' && typeof v === 'string' ? redactUrl(v)
      : redact(v, k === 'headers' ? 'headers' : k === 'query' ? 'query' : null)
    // defineProperty: a key named __proto__ (JSON may have one) stays a plain key.
    if (next !== v) Object.defineProperty((copy ??= { ...value }), k, { value: next, enumerable: true, writable: true, configurable: true })
  }
  return copy ?? value
}

/**
 * An exported branch (JSON lines) with its credentials blanked. Such a copy
 * no longer matches its hashes: it is for reading, not for importing.
 */
export function redactJsonLines(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.includes('"headers"') && !line.includes('"query"') && !line.includes('"url"')) return line
      try {
        const item: unknown = JSON.parse(line)
        const redacted = redactCredentials(item)
        return redacted === item ? line : JSON.stringify(redacted)
      } catch {
        return line
      }
    })
    .join('\n')
}
