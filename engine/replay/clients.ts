// A notebook's client model (docs/exploring.md): an exported `clients()`
// that exploration calls in each state, read-only, under every answer to its
// `sys.fork` choices; each answer is a request some client sends next (or
// nothing). Live runs never call it. This file turns what it returned into a
// request the app's http() gets, or says what is wrong with it.
import type { HttpRequest } from '../runtime/http.ts'
import { plainValue, ValueError, TooDeepError, canonicalJson } from '../runtime/values.ts'

/** Requests clients() may send along one trace when the run gives no --requests. */
export const DEFAULT_CLIENT_REQUESTS = 3
/** A request larger than this (its canonical JSON) is refused: a model, not a load test. */
const MAX_REQUEST_CHARS = 64 * 1024

export type ClientAnswer = { request: HttpRequest | null } | { problem: string }

const TOO_DEEP = 'clients() returned a value nested too deeply to read; a client model sends small requests'

/** What one call of clients() returned, as a request (null: no client sends anything in that case). */
export function clientRequest(value: unknown): ClientAnswer {
  try {
    return requestOf(value)
  } catch (err) {
    // A value nested deeper than the stack goes: encoding it overflows.
    if (err instanceof RangeError) return { problem: TOO_DEEP }
    throw err
  }
}

function requestOf(value: unknown): ClientAnswer {
  if (value === undefined || value === null) return { request: null }
  let v: unknown
  try {
    v = plainValue(value)
  } catch (err) {
    if (err instanceof TooDeepError) return { problem: TOO_DEEP }
    if (err instanceof ValueError) return { problem: `clients() returned a value that is not plain data: ${err.message}` }
    throw err
  }
  const want = 'clients() returns a request { method, path, body?, headers?, query? } or nothing'
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { problem: `${want}; it returned ${short(JSON.stringify(v))}` }
  const r = v as Record<string, unknown>
  if (typeof r.method !== 'string' || !/^[A-Z]{1,16}$/.test(r.method)) return { problem: `${want}; its method is ${short(JSON.stringify(r.method ?? null))}, not a method like 'GET' or 'POST'` }
  if (typeof r.path !== 'string' || !r.path.startsWith('/')) return { problem: `${want}; its path is ${short(JSON.stringify(r.path ?? null))}, not a path starting with '/'` }
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
  const strings = (what: string, x: unknown): Record<string, string> | string => {
    if (x === undefined) return {}
    if (typeof x !== 'object' || x === null || Array.isArray(x) || !Object.values(x).every((s) => typeof s === 'string')) return `${want}; its ${what} are an object of strings`
    return x as Record<string, string>
  }
  const headers = strings('headers', r.headers)
  if (typeof headers === 'string') return { problem: headers }
  const query = strings('query parameters', r.query)
  if (typeof query === 'string') return { problem: query }
  const request: HttpRequest = { method: r.method, path: r.path, query: { ...query }, headers: lowerKeys(headers), body }
  if (canonicalJson(request).length > MAX_REQUEST_CHARS) return { problem: `clients() returned a request of more than ${MAX_REQUEST_CHARS / 1024} KiB; a client model sends small requests` }
  return { request }
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))
}

function short(s: string | undefined): string {
  const t = s ?? 'undefined'
  return t.length > 60 ? t.slice(0, 57) + '…' : t
}
