// What a client may send, checked before anything acts on it: a request is
// an object with a numeric id, a known op and parameters of the right types.
// A typo is refused with what was wrong, never guessed at.
import type { Op } from '../protocol/messages.ts'
import { Refusal } from './problems.ts'

type Kind = 'string' | 'count' | 'seq' | 'cellKind' | 'cellOrNull'
type Spec = Record<string, { kind: Kind; required?: true }>

const none: Spec = {}
// Ops of the protocol that the host does not answer yet are refused as unknown.
const PARAMS: Partial<Record<Op, Spec>> = {
  hello: { token: { kind: 'string' }, client: { kind: 'string' } },
  notebook: none,
  save: { text: { kind: 'string' }, path: { kind: 'string' } },
  editCell: { cell: { kind: 'string', required: true }, source: { kind: 'string', required: true } },
  addCell: { after: { kind: 'cellOrNull', required: true }, kind: { kind: 'cellKind', required: true }, source: { kind: 'string', required: true } },
  deleteCell: { cell: { kind: 'string', required: true } },
  moveCell: { cell: { kind: 'string', required: true }, to: { kind: 'count', required: true } },
  run: none,
  pause: none,
  step: none,
  status: none,
  log: { branch: { kind: 'string' }, from: { kind: 'seq' }, limit: { kind: 'count' } },
  state: { branch: { kind: 'string' }, at: { kind: 'seq' } },
  attempts: { limit: { kind: 'count' } },
  branches: none,
  ttyInput: { text: { kind: 'string', required: true } },
  evaluate: { expr: { kind: 'string', required: true }, branch: { kind: 'string' }, at: { kind: 'seq' } },
}

export const OPS = Object.keys(PARAMS) as Op[]

/** A request's id when it has a usable one, else 0: the id of answers to messages that could not be read. */
export function requestId(message: unknown): number {
  const id = (message as { id?: unknown } | null)?.id
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : 0
}

/** The request in `message`, checked; throws a Refusal saying what is wrong. */
export function readRequest(message: unknown): { id: number; op: Op; params: Record<string, unknown> } {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new Refusal('a message must be a JSON object like {"kind":"request","id":1,"op":"hello","params":{}}')
  }
  const m = message as Record<string, unknown>
  if (m.kind !== 'request') throw new Refusal(`the engine answers requests only (kind "request"), not ${JSON.stringify(m.kind ?? null)}`)
  if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id)) throw new Refusal('a request needs a whole-number id')
  if (typeof m.op !== 'string' || !Object.hasOwn(PARAMS, m.op)) {
    throw new Refusal(`there is no op ${JSON.stringify(m.op ?? null)}; the ops are ${OPS.join(', ')}`)
  }
  const op = m.op as Op
  const params = m.params ?? {}
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new Refusal(`${op}: params must be an object`)
  const spec = PARAMS[op]!
  for (const [name, value] of Object.entries(params)) {
    const rule = spec[name]
    if (!rule) throw new Refusal(`${op} takes no parameter '${name}'${Object.keys(spec).length ? `; it takes ${Object.keys(spec).join(', ')}` : ''}`)
    if (value === undefined) continue
    const problem = check(rule.kind, value)
    if (problem) throw new Refusal(`${op}: '${name}' must be ${problem}, not ${JSON.stringify(value)}`)
  }
  for (const [name, rule] of Object.entries(spec)) {
    if (rule.required && (params as Record<string, unknown>)[name] === undefined) throw new Refusal(`${op} needs '${name}'`)
  }
  return { id: m.id, op, params: params as Record<string, unknown> }
}

function check(kind: Kind, v: unknown): string | null {
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? null : 'a string'
    case 'count':
      return Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'a whole number ≥ 0'
    case 'seq':
      return Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'an event number (a whole number ≥ 0)'
    case 'cellKind':
      return v === 'code' || v === 'prose' ? null : '"code" or "prose"'
    case 'cellOrNull':
      return v === null || typeof v === 'string' ? null : 'a cell id or null'
  }
}
