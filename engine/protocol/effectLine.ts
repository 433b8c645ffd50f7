// An effect event in one line, for people: what was asked and what came
// back, `GET http://127.0.0.1:8080/stock → 200 · 4 ms` or
// `read data:orders.json → 312 B · 1 ms`. The one place that says it: the
// timeline's blocks, the Recent list, the event details and `loom log`.
// A log may be anyone's: every field is checked before it is used, and a
// credential in a URL's query is blanked.
import { redactUrl } from './redactCredentials.ts'
import { latencyText } from './latencyText.ts'

/** The state recorded responses live in, by request hash (not a name a cell can declare: it has a dot). */
export const EFFECTS_STATE = 'sys.effects'

/** What an effect was asked to do, in words: `GET http://…/stock`, `read data:orders.json`, `write data:receipts/7.json`. */
export function effectAsked(request: unknown): string {
  const r = (request !== null && typeof request === 'object' ? request : {}) as Record<string, unknown>
  const url = () => shorten(redactUrl(asText(r.url)), 120)
  const file = () => `${shorten(asText(r.root), 40)}:${shorten(asText(r.path), 80)}`
  switch (r.kind) {
    case 'http.get': return `GET ${url()}`
    case 'http.send': return `${typeof r.method === 'string' ? r.method.slice(0, 16).toUpperCase() : 'POST'} ${url()}`
    case 'fs.read': return `read ${file()}`
    case 'fs.write': return `write ${file()}`
    default: return 'an effect'
  }
}

/**
 * An effect event's input in one line: a read's (`{ request, response, ms }`)
 * or an action's outcome (`{ asked, outcome: { ok, status?, error?, tries }, ms }`).
 * `attempts` (given, or the input's `attempts` or its outcome's `tries`): an
 * action retried says how many times it was tried, `· after 3 attempts`; one
 * attempt says nothing.
 */
export function effectLine(input: unknown, attempts?: number): string {
  const i = effectParts(input)
  const tries = attempts ?? i.attempts
  // An answer no world gave (a person's, or a fault exploration tried) says so: it took no time to tell.
  const by = i.by === 'hand' ? ' (answered by hand)' : i.by === 'exploration' ? ` (given by exploration${i.fault ? `: ${i.fault}` : ''})` : ''
  const parts = [`${i.asked} → ${effectAnswer(i.answer)}${by}`]
  if (i.ms !== null && !by) parts.push(latencyText(i.ms))
  if (Number.isInteger(tries) && tries > 1) parts.push(`after ${tries} attempts`)
  return parts.join(' · ')
}

/** An effect event's input as the window shows it: what was asked in words, the answer, how long, how many attempts, and the key its answer is kept under in `sys.effects`. */
export function effectParts(input: unknown): { asked: string; request: Record<string, unknown> | null; answer: unknown; ms: number | null; attempts: number; key: string | null; by: 'hand' | 'exploration' | null; fault: string | null } {
  const i = (input !== null && typeof input === 'object' ? input : {}) as Record<string, unknown>
  const request = i.request !== null && typeof i.request === 'object' && !Array.isArray(i.request) ? i.request as Record<string, unknown> : null
  const answer = i.response ?? i.outcome
  const tries = typeof i.attempts === 'number' ? i.attempts : (answer as { tries?: unknown } | null)?.tries
  return {
    asked: request || typeof i.asked !== 'string' ? effectAsked(request) : shorten(redactUrl(i.asked), 140),
    request,
    answer,
    ms: typeof i.ms === 'number' && i.ms >= 0 && Number.isFinite(i.ms) ? i.ms : null,
    attempts: typeof tries === 'number' && Number.isSafeInteger(tries) && tries > 0 ? tries : 1,
    key: typeof i.hash === 'string' ? i.hash : typeof i.id === 'string' ? i.id : null,
    by: i.by === 'hand' || i.by === 'exploration' ? i.by : null,
    fault: typeof i.fault === 'string' ? shorten(i.fault, 20) : null,
  }
}

/** What came back, in words: `200`, `312 B`, `failed: connection refused`. */
export function effectAnswer(response: unknown): string {
  const a = (response !== null && typeof response === 'object' ? response : {}) as Record<string, unknown>
  if (typeof a.error === 'string') return `failed: ${shorten(a.error, 80)}`
  if (typeof a.status === 'number') return String(a.status)
  if (a.ok === false) return 'failed'
  if (typeof a.text === 'string') return sizeText(utf8Length(a.text))
  if (a.ok === true) return 'done'
  return 'no answer recorded'
}

/**
 * A value from a log as text without running anything of it: strings and numbers as they are,
 * anything else `?` (String() of a parsed `{"toString": 1}` throws).
 */
export function asText(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '?'
}

/** A size as people read it: `312 B`, `4.1 kB`, `2.3 MB`. */
export function sizeText(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : bytes < 1_000_000 ? `${(bytes / 1000).toFixed(1)} kB` : `${(bytes / 1_000_000).toFixed(1)} MB`
}

/** How many bytes `text` takes as UTF-8 (what was read), without encoding it. */
export function utf8Length(text: string): number {
  let n = 0
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && k + 1 < text.length && (text.charCodeAt(k + 1) & 0xfc00) === 0xdc00) {
      n += 4
      k++
    } else n += 3
  }
  return n
}

/** `s` cut in the middle to at most `max` characters: both ends of a URL say the most. */
function shorten(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.ceil(max * 0.6))}…${s.slice(s.length - Math.floor(max * 0.4) + 1)}`
}
