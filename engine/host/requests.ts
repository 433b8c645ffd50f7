// What a client may send, checked before anything acts on it: a request is
// an object with a numeric id, a known op and parameters of the right types.
// A typo is refused with what was wrong, never guessed at.
import type { Op } from '../protocol/messages.ts'
import { Refusal } from './problems.ts'

type Kind = 'string' | 'count' | 'positive' | 'seq' | 'cellKind' | 'cellOrNull' | 'strings' | 'edits' | 'previewMethod' | 'request' | 'choices' | 'answers'
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
  fork: { name: { kind: 'string', required: true }, from: { kind: 'string' }, at: { kind: 'seq', required: true } },
  promote: { name: { kind: 'string', required: true } },
  verify: { branch: { kind: 'string' }, from: { kind: 'seq' }, to: { kind: 'seq' } },
  rerun: { branch: { kind: 'string' }, onto: { kind: 'string', required: true } },
  exportBranch: { branch: { kind: 'string', required: true } },
  importBranch: { text: { kind: 'string', required: true }, name: { kind: 'string' } },
  editState: { edits: { kind: 'edits', required: true } },
  timeline: { branch: { kind: 'string' }, from: { kind: 'seq' }, to: { kind: 'seq' }, bins: { kind: 'positive', required: true } },
  series: { branch: { kind: 'string' }, states: { kind: 'strings', required: true }, from: { kind: 'seq' }, to: { kind: 'seq' }, points: { kind: 'positive', required: true } },
  explore: { branch: { kind: 'string' }, at: { kind: 'seq' }, depth: { kind: 'positive' }, maxStates: { kind: 'positive' } },
  saveCounterexample: { job: { kind: 'count', required: true }, violation: { kind: 'count', required: true }, name: { kind: 'string', required: true } },
  preview: { method: { kind: 'previewMethod', required: true }, request: { kind: 'request' }, choices: { kind: 'choices' }, answers: { kind: 'answers' } },
  commitPreview: { id: { kind: 'count', required: true } },
  discardPreview: { id: { kind: 'count', required: true } },
  forkPreview: { id: { kind: 'count', required: true }, name: { kind: 'string', required: true } },
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
    if (rule.kind === 'edits') checkEdits(op, value)
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
    case 'positive':
      return Number.isSafeInteger(v) && (v as number) >= 1 ? null : 'a whole number ≥ 1'
    case 'seq':
      return Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'an event number (a whole number ≥ 0)'
    case 'cellKind':
      return v === 'code' || v === 'prose' ? null : '"code" or "prose"'
    case 'cellOrNull':
      return v === null || typeof v === 'string' ? null : 'a cell id or null'
    case 'strings':
      return Array.isArray(v) && v.length <= MAX_LIST && v.every((x) => typeof x === 'string') ? null : `a list of at most ${MAX_LIST} strings`
    case 'edits':
      return null // checkEdits says exactly what is wrong
    case 'previewMethod':
      return v === 'step' || v === 'http' || v === 'gui' ? null : '"step", "http" or "gui"'
    case 'choices':
      return Array.isArray(v) && v.length <= MAX_LIST && v.every((x) => Number.isSafeInteger(x) && x >= 0) ? null : `a list of at most ${MAX_LIST} whole numbers ≥ 0 (the answer to each sys.fork, in order)`
    case 'answers':
      return isObject(v) ? null : 'an object of answers by question key, like {"amount": 10}'
    case 'request': {
      const r = v as Record<string, unknown>
      const strings = (x: unknown) => x === undefined || (isObject(x) && Object.values(x).every((y) => typeof y === 'string'))
      const ok = isObject(v) && typeof r.method === 'string' && typeof r.path === 'string' && strings(r.query) && strings(r.headers) && (r.body === undefined || typeof r.body === 'string')
        && Object.keys(r).every((k) => ['method', 'path', 'query', 'headers', 'body'].includes(k))
      return ok ? null : 'a request like {"method":"GET","path":"/","query":{},"headers":{},"body":""} (query and headers map names to strings)'
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

const MAX_LIST = 1000
const EDIT_SHAPES = '{state, set} (a var), {state, key, set} or {state, key, delete: true} (a map entry), {state, push} (a queue), {state, put} (a bag) or {state, add} (a counter)'
const EDIT_ACTIONS = ['set', 'delete', 'push', 'put', 'add']

/** An edit the projectional editor sends: one state, one action; refused with which edit and why. */
function checkEdits(op: string, v: unknown): void {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LIST) throw new Refusal(`${op}: 'edits' must be a list of 1 to ${MAX_LIST} edits, each ${EDIT_SHAPES}`)
  v.forEach((e: unknown, i) => {
    const bad = (what: string) => new Refusal(`${op}: edit ${i + 1} ${what}; an edit is ${EDIT_SHAPES}`)
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw bad('is not an object')
    const edit = e as Record<string, unknown>
    if (typeof edit.state !== 'string' || !edit.state) throw bad("names no state (give 'state')")
    const actions = EDIT_ACTIONS.filter((a) => edit[a] !== undefined)
    if (actions.length !== 1) throw bad(actions.length ? `has ${actions.join(' and ')}: give one action` : 'has no action')
    const extra = Object.keys(edit).filter((k) => k !== 'state' && k !== 'key' && !EDIT_ACTIONS.includes(k))
    if (extra.length) throw bad(`has ${extra.map((k) => `'${k}'`).join(', ')}`)
    const action = actions[0]!
    if (edit.key !== undefined && typeof edit.key !== 'string') throw bad("has a 'key' that is not a string")
    if (edit.key !== undefined && action !== 'set' && action !== 'delete') throw bad(`has a 'key', and ${action} takes none`)
    if (action === 'delete' && (edit.delete !== true || edit.key === undefined)) throw bad("deletes, and that needs 'key' and delete: true")
    if (action === 'add' && !(typeof edit.add === 'number' && Number.isFinite(edit.add))) throw bad('adds something that is not a finite number')
  })
}
