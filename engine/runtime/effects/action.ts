// Actions (DESIGN §3a): sys.http.send and sys.fs.write are outputs of the
// transaction that makes them. Each is a write to Loom's state `sys.effects`
// under its id, `{ action }` (so an abort makes none, replay checks it, and
// what is pending is state), performed by the runner once the event is
// durable, and finished by an `effect` event that replaces it with
// `{ outcome, at }`. (In `sys.effects` beside the reads' responses, not in a
// state of its own: a new state would change how every log that grants
// effects replays its code event.)
import { originGranted, originOf, type Grants } from './grants.ts'
import { fsRead, type EffectRequest, type EffectResponse } from './request.ts'

/** An action's id, `<seq>.<n>` (a read's response is kept under a 64-digit hash instead). */
export const ACTION_ID = /^\d+\.\d+$/

/** The action a `sys.effects` entry holds while it is pending (committed, no outcome yet), or null. */
export function pendingAction(entry: unknown): Action | null {
  const e = entry as { action?: unknown; outcome?: unknown } | null
  if (e === null || typeof e !== 'object' || e.outcome !== undefined || actionProblem(e.action)) return null
  return e.action as Action
}

/** The outcome a `sys.effects` entry holds once its action finished, or null. */
export function finishedOutcome(entry: unknown): Outcome | null {
  const o = (entry as { outcome?: unknown } | null)?.outcome
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Outcome) : null
}

/** What a transaction committed: the request and how hard to try. */
export interface Action {
  request: EffectRequest
  attempts: number
  backoff: number
}

/** How an action ended, kept in `sys.effects` under its id and given to `effect(result)`. */
export interface Outcome {
  id: string
  ok: boolean
  status?: number
  headers?: Record<string, string>
  body?: string
  error?: string
  /** How many times it was performed. */
  tries: number
  /**
   * Only in an outcome exploration gave (never one the world gave): the fault it stands for.
   * `lost` is the one where the other system acted and its answer never came back.
   */
  fault?: string
}

/** The outcome of action `id` whose last try got `r`: the one shape the runner records and exploration gives. */
export function outcomeOf(id: string, r: EffectResponse, tries: number): Outcome {
  if ('error' in r) return { id, ok: false, error: String(r.error), tries }
  if ('status' in r) return { id, ok: r.status >= 200 && r.status < 300, status: r.status, headers: r.headers, body: r.body, tries }
  return { id, ok: true, tries }
}

/** An outcome event's input: the action's id, what it asked (without its body), the outcome and the time it took. */
export interface OutcomeInput {
  id: string
  asked: string
  outcome: Outcome
  ms: number
}

/** The largest body a send or a write may carry: every action is kept in the log. */
export const MAX_ACTION_BODY = 4 * 1024 * 1024
export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_BACKOFF = 200
/** A read or a send that has not ended in this long is given up (not per idle socket: a dripping server cannot hold it). */
export const DEFAULT_TIMEOUT = 30_000
const MAX_URL = 16 * 1024
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

export type Made = { action: Action; what: string } | { denied: string }

/** `options` of a read or an action: { timeoutMs } (and for actions { attempts, backoff }), or why not. */
export function policyOf(what: string, options: unknown, action: boolean): { attempts: number; backoff: number; timeoutMs: number } | string {
  const o = (options ?? {}) as Record<string, unknown>
  if (typeof o !== 'object' || Array.isArray(o)) return `${what}: the options are an object`
  const whole = (key: string, min: number, max: number, fallback: number): number | string => {
    const v = o[key]
    if (v === undefined) return fallback
    return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : `${what}: ${key} is a whole number from ${min} to ${max}, got ${typeof v === 'string' ? JSON.stringify(v.slice(0, 20)) : String(v).slice(0, 20)}`
  }
  const timeoutMs = whole('timeoutMs', 1, 600_000, DEFAULT_TIMEOUT)
  const attempts = action ? whole('attempts', 1, 20, DEFAULT_ATTEMPTS) : 1
  const backoff = action ? whole('backoff', 0, 60_000, DEFAULT_BACKOFF) : 0
  for (const v of [timeoutMs, attempts, backoff]) if (typeof v === 'string') return v
  return { timeoutMs: timeoutMs as number, attempts: attempts as number, backoff: backoff as number }
}

/** Headers as the request keeps them (lower-case names, string values without CR, LF or NUL), or why not. */
export function headersOf(what: string, headers: unknown): Record<string, string> | string {
  const h: Record<string, string> = {}
  if (headers === undefined || headers === null) return h
  if (typeof headers !== 'object' || Array.isArray(headers)) return `${what}: headers is an object of strings`
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string' || !TOKEN.test(k) || /[\r\n\0]/.test(v)) return `${what}: header ${JSON.stringify(k.slice(0, 40))} is not a header name with a string value (no line breaks)`
    h[k.toLowerCase()] = v
  }
  if (JSON.stringify(h).length > MAX_URL) return `${what}: the headers are longer than ${MAX_URL} characters`
  return h
}

/**
 * sys.http.send({ method, url, headers, body }, { attempts, backoff, timeoutMs }): the action, if
 * the URL's origin is granted. A body that is not text is sent as JSON. `body` was checked to be plain data.
 */
export function httpSend(grants: Grants | undefined, request: unknown, options: unknown): Made {
  const r = (request ?? {}) as Record<string, unknown>
  const url = r.url
  const what = `sys.http.send(${JSON.stringify(typeof url === 'string' ? url.slice(0, 200) : String(url).slice(0, 40))})`
  if (typeof r !== 'object' || Array.isArray(r)) return { denied: `${what}: the request is { method, url, headers?, body? }` }
  if (typeof url !== 'string') return { denied: `${what}: the url is a string` }
  if (url.length > MAX_URL) return { denied: `${what}: the url is longer than ${MAX_URL} characters` }
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return { denied: `${what}: not an absolute URL (write http://host:port/path)` }
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { denied: `${what}: only http and https URLs can be sent to` }
  if (u.username || u.password) return { denied: `${what}: a URL with a user name or password is not allowed; send credentials in a header` }
  const origin = originOf(u)
  if (!grants || !originGranted(grants, origin)) return { denied: `${what}: the origin ${origin} is not granted; add it to \`effects.http\` in the front matter` }
  const method = r.method === undefined ? 'POST' : r.method
  if (typeof method !== 'string' || !TOKEN.test(method) || method.length > 20) return { denied: `${what}: the method is a word such as POST, PUT or DELETE` }
  const headers = headersOf(what, r.headers)
  if (typeof headers === 'string') return { denied: headers }
  // Framing is Loom's: a cell's own length or encoding could make the server read two requests out of one.
  for (const framing of ['content-length', 'transfer-encoding', 'connection', 'host']) if (Object.hasOwn(headers, framing)) return { denied: `${what}: the header ${framing} is set by Loom, not by the cell` }
  let body: string
  if (r.body === undefined || r.body === null) body = ''
  else if (typeof r.body === 'string') body = r.body
  else {
    body = JSON.stringify(r.body)
    headers['content-type'] ??= 'application/json'
  }
  if (Buffer.byteLength(body) > MAX_ACTION_BODY) return { denied: `${what}: the body is larger than ${MAX_ACTION_BODY} bytes` }
  const policy = policyOf(what, options, true)
  if (typeof policy === 'string') return { denied: policy }
  u.hash = ''
  return { action: { request: { kind: 'http.send', method: method.toUpperCase(), url: u.href, headers, body, timeoutMs: policy.timeoutMs }, attempts: policy.attempts, backoff: policy.backoff }, what }
}

/** sys.fs.write(root, path, data): the action, if the root is granted with `write: true` and the path stays inside it. */
export function fsWrite(grants: Grants | undefined, root: unknown, path: unknown, data: unknown, options: unknown): Made {
  // The same confinement as a read (one rule for paths), then the mode.
  const asRead = fsRead(grants, root, path)
  const what = `sys.fs.write(${JSON.stringify(String(root).slice(0, 40))}, ${JSON.stringify(String(path).slice(0, 200))})`
  if ('denied' in asRead) return { denied: asRead.denied.replace(/^sys\.fs\.read\(/, 'sys.fs.write(') }
  const r = asRead.request as Extract<EffectRequest, { kind: 'fs.read' }>
  if (!grants!.fs[r.root]!.write) return { denied: `${what}: the root '${r.root}' is not granted for writing; add \`write: true\` to \`effects.fs.${r.root}\` in the front matter` }
  const text = typeof data === 'string' ? data : JSON.stringify(data)
  if (text === undefined) return { denied: `${what}: the data is text or plain data` }
  if (Buffer.byteLength(text) > MAX_ACTION_BODY) return { denied: `${what}: the data is larger than ${MAX_ACTION_BODY} bytes` }
  const policy = policyOf(what, options, true)
  if (typeof policy === 'string') return { denied: policy }
  return { action: { request: { kind: 'fs.write', root: r.root, rootPath: r.rootPath, path: r.path, data: text }, attempts: policy.attempts, backoff: policy.backoff }, what }
}

/** An action in a line (no body): what an outcome event says it asked. */
export function askedOf(r: EffectRequest): string {
  return r.kind === 'http.send' ? `${r.method} ${r.url}` : r.kind === 'fs.write' ? `write ${r.root}:${r.path}` : r.kind === 'http.get' ? `GET ${r.url}` : `read ${r.root}:${r.path}`
}

/** Why `value` (a pending entry of `sys.effects`: anyone's, a log is untrusted) is not an action the runner may perform, or null. */
export function actionProblem(value: unknown): string | null {
  const a = value as Partial<Action> | null
  if (a === null || typeof a !== 'object' || a.request === null || typeof a.request !== 'object') return 'no request'
  if (a.request.kind !== 'http.send' && a.request.kind !== 'fs.write') return 'not an action'
  if (!Number.isSafeInteger(a.attempts) || a.attempts! < 1 || a.attempts! > 20 || !Number.isSafeInteger(a.backoff) || a.backoff! < 0 || a.backoff! > 60_000) return 'no retry policy'
  return null
}

/** Why `input` is not an outcome event's input, or null. */
export function outcomeInputProblem(input: unknown): string | null {
  const i = input as Partial<OutcomeInput> | null
  if (i === null || typeof i !== 'object' || typeof i.id !== 'string') return 'no action id'
  const o = i.outcome
  if (o === null || typeof o !== 'object' || Array.isArray(o) || typeof o.ok !== 'boolean' || o.id !== i.id) return 'no outcome'
  return null
}

/** True for an effect event's input that finishes an action (a safe read's has a request hash instead). */
export function isOutcomeInput(input: unknown): boolean {
  return input !== null && typeof input === 'object' && typeof (input as { id?: unknown }).id === 'string'
}
