// What a re-run transaction did differently from its record, in the user's
// words: for a request the answer first, then the changes per state and key
// ("seats: 0 → -1 recorded, unchanged now"), then what it printed. The one
// describer of a replay with new code: the CLI and the window both show its
// sentences, so they never say a divergence two ways.
import type { EventRecord, Outputs, Write } from '../runtime/event.ts'
import { canonicalJson, type Json } from '../runtime/values.ts'

/** A state (or one map entry) a transaction changed: `seats`, `holds["2"]`. */
export function targetOf(w: Write): string {
  return targetName(w.state, 'key' in w ? w.key : undefined)
}

export function targetName(state: string, key: string | undefined): string {
  return key === undefined ? state : `${state}[${JSON.stringify(key)}]`
}

/** The values before the transaction of the targets the describer may say a change went from; a target absent here is not known. */
export type Before = Map<string, Json | undefined>

const MAX_TARGETS = 3
const MAX_VALUE = 40
const MAX_TEXT = 400

/**
 * How `now` differs from `recorded` (null: the same writes and outputs). `ignoreLogs`: log lines are not a
 * difference (retroactive logging adds them on purpose).
 */
export function describeOutcome(recorded: EventRecord, now: EventRecord, before: Before = new Map(), { ignoreLogs = false } = {}): string | null {
  const sameWrites = canonicalJson(recorded.writes) === canonicalJson(now.writes)
  const outputs = (e: EventRecord) => canonicalJson(ignoreLogs ? { ...e.outputs, logs: undefined } : e.outputs)
  if (sameWrites && outputs(recorded) === outputs(now)) return null
  const parts = [
    answer(recorded.outputs, now.outputs),
    sameWrites ? null : changes(recorded.writes, now.writes, before),
    printed(recorded.outputs, now.outputs),
    ignoreLogs ? null : logged(recorded.outputs, now.outputs),
    recorded.outputs.halt === now.outputs.halt ? null : now.outputs.halt ? 'it halts the app now' : 'it no longer halts the app',
  ].filter((p): p is string => !!p)
  // Writes in another order, or an output the parts above do not name: still a divergence.
  if (!parts.length) parts.push(sameWrites ? 'its outputs differ' : 'it makes the same changes in another order')
  return bounded(parts.join('; '))
}

/** A recorded transaction that does not commit with the new code: why, and where on the new branch it would have come. */
export function describeNoCommit(failure: string | null, onto: string | null, after: number): string {
  const where = onto === null ? '' : `; on '${onto}' it would have come after event ${after}`
  return bounded(`it no longer commits (${failure ?? 'it failed'})${where}`)
}

function answer(a: Outputs, b: Outputs): string | null {
  if (a.http === undefined && b.http === undefined) return null
  if (canonicalJson(a.http ?? null) === canonicalJson(b.http ?? null)) return null
  const [ra, rb] = [responseOf(a.http), responseOf(b.http)]
  if (!rb) return 'it no longer answers'
  if (!ra) return `it answers ${rb.status} now`
  if (ra.status !== rb.status) return `answered ${rb.status} instead of ${ra.status}${rb.body === undefined ? '' : ` (now ${body(rb.body)})`}`
  if (canonicalJson(ra.body ?? null) !== canonicalJson(rb.body ?? null)) return `answered ${rb.status} with ${bodyChange(ra.body, rb.body)}`
  return `answered ${rb.status} with other headers`
}

/** Two bodies: the fields that differ when both are JSON objects (`seats: 0 instead of -1`), else the bodies. */
function bodyChange(a: Json | undefined, b: Json | undefined): string {
  const [oa, ob] = [objectIn(a), objectIn(b)]
  if (!oa || !ob) return `${body(b)} instead of ${body(a)}`
  const keys = [...new Set([...Object.keys(oa), ...Object.keys(ob)])].filter((k) => canonicalJson(oa[k] ?? null) !== canonicalJson(ob[k] ?? null))
  const said = keys.slice(0, MAX_TARGETS).map((k) => `${k}: ${value(ob[k])} instead of ${value(oa[k])}`)
  if (keys.length > MAX_TARGETS) said.push(`and ${keys.length - MAX_TARGETS} more`)
  return said.join(', ')
}

/** A JSON object body, also as the text it is sent as. */
function objectIn(v: Json | undefined): { readonly [key: string]: Json } | null {
  let o: unknown = v
  if (typeof v === 'string' && v.startsWith('{')) {
    try {
      o = JSON.parse(v)
    } catch {
      return null
    }
  }
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as { readonly [key: string]: Json }) : null
}

function responseOf(v: Json | undefined): { status: string; body: Json | undefined } | null {
  if (v === undefined || v === null) return null
  if (typeof v !== 'object' || Array.isArray(v)) return { status: '?', body: v }
  const r = v as { readonly [key: string]: Json }
  return { status: String(r.status ?? '?'), body: r.body }
}

/** Per target whose writes differ: what it went to in the recorded run, and now. */
function changes(a: Write[], b: Write[], before: Before): string | null {
  const [ga, gb] = [byTarget(a), byTarget(b)]
  const targets = [...new Set([...ga.keys(), ...gb.keys()])].filter((t) => canonicalJson(ga.get(t) ?? []) !== canonicalJson(gb.get(t) ?? []))
  if (!targets.length) return null
  const said = targets.slice(0, MAX_TARGETS).map((t) => `${t}: ${effect(ga.get(t), before, t)} recorded, ${effect(gb.get(t), before, t)} now`)
  if (targets.length > MAX_TARGETS) said.push(`and ${targets.length - MAX_TARGETS} more`)
  return said.join(', ')
}

function byTarget(writes: Write[]): Map<string, Write[]> {
  const out = new Map<string, Write[]>()
  for (const w of writes) {
    const t = targetOf(w)
    const list = out.get(t)
    if (list) list.push(w)
    else out.set(t, [w])
  }
  return out
}

const ABSENT = Symbol('absent')
const UNKNOWN = Symbol('unknown')
type Known = Json | typeof ABSENT | typeof UNKNOWN | null

/** What a target's writes did: `0 → -1` (or `→ -1` when the value before is not known), `pushed 2`, `unchanged`. */
function effect(writes: Write[] | undefined, before: Before, target: string): string {
  if (!writes?.length) return 'unchanged'
  const known = before.get(target)
  const start: Known = !before.has(target) ? UNKNOWN : known === undefined ? ABSENT : known
  let v: Known = start
  let delta = 0
  const other: string[] = []
  for (const w of writes) {
    if (w.op === 'set') v = w.value
    else if (w.op === 'delete') v = ABSENT
    else if (w.op === 'add') {
      delta += w.value
      v = typeof v === 'number' ? v + w.value : v
    } else if (w.op === 'queue') other.push(`took ${w.take}, pushed ${list(w.push)}`)
    else if (w.op === 'bag') other.push(`took ${w.take.length}, put ${list(w.put)}`)
    else other.push(`declared as ${value(w.value)}`)
  }
  if (other.length) return other.join(', ')
  if (v === UNKNOWN) return delta ? `${delta > 0 ? '+' : ''}${delta}` : '→ ?'
  const to = v === ABSENT ? 'none' : value(v)
  return start === UNKNOWN ? `→ ${to}` : `${start === ABSENT ? 'none' : value(start)} → ${to}`
}

function printed(a: Outputs, b: Outputs): string | null {
  if ((a.tty ?? '') === (b.tty ?? '')) return null
  if (!b.tty) return `it no longer prints ${text(a.tty!)}`
  return a.tty ? `printed ${text(b.tty)} instead of ${text(a.tty)}` : `it prints ${text(b.tty)} now`
}

function logged(a: Outputs, b: Outputs): string | null {
  const [la, lb] = [a.logs ?? [], b.logs ?? []]
  if (canonicalJson(la) === canonicalJson(lb)) return null
  const i = la.findIndex((l, k) => canonicalJson(l) !== canonicalJson(lb[k] ?? null))
  const line = (l: { channel: string; message: Json } | undefined) => (l ? `${l.channel} ${value(l.message)}` : 'nothing')
  const k = i === -1 ? la.length : i
  return `logged ${line(lb[k])} instead of ${line(la[k])}`
}

/** A value in at most a few dozen characters: a long list or record by its size. */
function value(v: Json | undefined): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v)
  if (s.length <= MAX_VALUE) return s
  if (Array.isArray(v)) return v.length === 1 ? '1 item' : `${v.length} items`
  return `${s.slice(0, MAX_VALUE - 1)}…`
}

/** A response body as sent: text as it is (a JSON answer is sent as its text). */
function body(v: Json | undefined): string {
  if (typeof v !== 'string') return value(v)
  return v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE - 1)}…` : v || 'an empty body'
}

function list(items: Json[]): string {
  return items.length === 1 ? value(items[0]) : `${items.length} items`
}

function text(s: string): string {
  const one = JSON.stringify(s)
  return one.length > MAX_VALUE ? `${one.slice(0, MAX_VALUE - 1)}…"` : one
}

function bounded(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s
}
