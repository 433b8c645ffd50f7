// What an app's `http(req)` method receives and returns: plain data in,
// a checked response out. The request is the event's input and the
// response its output, so an HTTP exchange replays like any transaction.
import type { Json } from './values.ts'

export interface HttpRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  body: string
}

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Turns what `http()` returned into a response: `{status, headers?, body}`
 * where a string body is sent as it is and plain data as JSON; nothing
 * returned is 204. Returns a message for anything else.
 */
export function toResponse(result: unknown): HttpResponse | string {
  if (result === undefined || result === null) return { status: 204, headers: {}, body: '' }
  if (typeof result !== 'object' || Array.isArray(result)) return `http() returned ${typeof result}; return {status, headers?, body}`
  const r = result as { status?: unknown; headers?: unknown; body?: unknown }
  const status = r.status ?? 200
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) return `http() returned status ${String(status)}; a status is a whole number from 100 to 599`
  const headers: Record<string, string> = {}
  if (r.headers !== undefined) {
    if (typeof r.headers !== 'object' || r.headers === null) return 'http() returned headers that are not an object of strings'
    for (const [k, v] of Object.entries(r.headers)) {
      if (typeof v !== 'string' && typeof v !== 'number') return `http() returned header '${k}' that is not a string`
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n]/.test(String(v))) return `http() returned header '${k}' that HTTP cannot carry`
      headers[k.toLowerCase()] = String(v)
    }
  }
  let body: string
  if (r.body === undefined || r.body === null) body = ''
  else if (typeof r.body === 'string') body = r.body
  else {
    body = JSON.stringify(r.body)
    headers['content-type'] ??= 'application/json; charset=utf-8'
  }
  headers['content-type'] ??= 'text/plain; charset=utf-8'
  return { status: status as number, headers, body }
}

export function responseJson(r: HttpResponse): Json {
  return { status: r.status, headers: r.headers, body: r.body }
}
