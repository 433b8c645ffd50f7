// What may be shown to someone other than the owner of a log: the recorded
// requests and responses with their credentials blanked. The log itself keeps
// the real values (replay needs them); only what is served is redacted.

/** Header names whose values are credentials, lower case. */
export const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie'])
export const REDACTED = '[redacted]'

/**
 * `value` with every credential header blanked wherever a `headers` object
 * appears in it (an http event's request, its response, an attempt), at any
 * depth. Returns `value` itself when there was nothing to blank, so the
 * common case copies nothing.
 */
export function redactCredentials<T>(value: T): T {
  return redact(value, false) as T
}

function redact(value: unknown, isHeaders: boolean): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null
    for (let i = 0; i < value.length; i++) {
      const v = redact(value[i], false)
      if (v !== value[i]) (copy ??= [...value])[i] = v
    }
    return copy ?? value
  }
  let copy: Record<string, unknown> | null = null
  for (const [k, v] of Object.entries(value)) {
    const next = isHeaders && CREDENTIAL_HEADERS.has(k.toLowerCase()) ? (v === REDACTED ? v : REDACTED) : redact(v, k === 'headers')
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
      if (!line.includes('"headers"')) return line
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
