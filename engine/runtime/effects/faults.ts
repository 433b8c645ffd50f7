// The faults an effect can meet, as the runner would record them: what
// exploration gives an effect besides its recorded responses, and what a
// person may answer a pending effect with in the agent panel. The words are
// the runner's own (perform.ts), so a cell meets a fault as it meets the real one.
import type { EffectRequest, EffectResponse } from './request.ts'
import { DEFAULT_TIMEOUT, outcomeOf, type Action, type Outcome } from './action.ts'

export type Fault = 'timeout' | 'refused' | '5xx' | 'failed' | 'lost'
export const FAULTS: readonly Fault[] = ['timeout', 'refused', '5xx', 'failed', 'lost']

/** A response given by hand is no larger than one the runner would read (perform.ts's MAX_BODY). */
export const MAX_ANSWER = 4 * 1024 * 1024

/** What each fault is, in words (--faults' help, the agent panel). */
export const FAULT_MEANING: Record<Fault, string> = {
  timeout: 'an HTTP request gets no answer in time',
  refused: 'an HTTP connection is refused',
  '5xx': 'an HTTP server answers 503',
  failed: 'a file read or write fails',
  lost: 'an HTTP action is performed and its answer is lost',
}

/** What `fault` answers to `request`, or null when it cannot happen to it (a timeout reading a file). */
export function faultResponse(fault: Fault, request: EffectRequest): EffectResponse | null {
  const http = request.kind.startsWith('http.')
  // Only an action can have acted: a read that lost its answer is a timeout. Its cell sees a timeout either way.
  if (fault === 'lost') return request.kind === 'http.send' ? faultResponse('timeout', request) : null
  // The runner's words for the deadline this request would have had.
  if (fault === 'timeout') return http ? { error: `no complete answer within ${(request as { timeoutMs?: number }).timeoutMs ?? DEFAULT_TIMEOUT} ms` } : null
  if (fault === 'refused') return http ? { error: 'connection refused' } : null
  if (fault === '5xx') return http ? { status: 503, headers: { 'content-type': 'text/plain' }, body: 'Service Unavailable' } : null
  if (http) return null
  const r = request as { root?: string; path?: string }
  return { error: `'${r.path}' in the root '${r.root}' could not be ${request.kind === 'fs.read' ? 'read' : 'written'} (an I/O error)` }
}

/**
 * What `fault` makes of action `id`'s outcome, or null when it cannot happen to it: the runner's
 * outcome after every try met it (a retry meets the same fault), marked with the fault it stands for.
 */
export function faultOutcome(fault: Fault, id: string, action: Action): Outcome | null {
  const response = faultResponse(fault, action.request)
  return response && { ...outcomeOf(id, response, action.attempts), fault }
}

/** `sys.http.get("http://127.0.0.1:8080/stock")`, `sys.fs.write("data", "a.txt")`: a request the way the cell wrote it. */
export function describeRequest(r: EffectRequest): string {
  if (r.kind === 'http.get') return `sys.http.get(${JSON.stringify(r.url)})`
  if (r.kind === 'fs.read') return `sys.fs.read(${JSON.stringify(r.root)}, ${JSON.stringify(r.path)})`
  if (r.kind === 'http.send') return `sys.http.send(${r.method} ${JSON.stringify(r.url)})`
  if (r.kind === 'fs.write') return `sys.fs.write(${JSON.stringify(r.root)}, ${JSON.stringify(r.path)})`
  return `sys.${(r as { kind: string }).kind}(…)`
}

/** `timeout (no complete answer within 30000 ms)`, `200 "12"`, `text "alpha"`: a response in a few words. */
export function describeResponse(response: EffectResponse): string {
  const r = response as Record<string, unknown>
  if (typeof r.error === 'string') return r.error
  if (typeof r.status === 'number') return `${r.status} ${short(JSON.stringify(r.body ?? ''))}`
  // A write's outcome, or the response the runner read for it.
  if (r.ok === true || typeof r.written === 'number') return 'written'
  return `text ${short(JSON.stringify(r.text ?? ''))}`
}

function short(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + '…' : s
}
