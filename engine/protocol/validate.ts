// What a client may send, checked before anything acts on it — the one
// validator every transport uses (the WebSocket, Electron IPC through the
// supervisor, the share guard, the engine process). A frame is measured
// (size, nesting) before it is parsed, so nothing later stringifies or walks
// a value deep enough to overflow the stack; a request is an object with a
// numeric id, a known op and parameters of the right types. A typo is
// refused with what was wrong, never guessed at.
//
// Shared by engine/ and renderer/: no Node, no DOM.
import type { Op, LoomError } from './messages.ts'
import { LOOM_ERROR_CODES, MAX_ERROR_TEXT, MAX_WHERE_TEXT, type Where } from './loomError.ts'

/** Frames larger than this are refused (the WebSocket closes with 1009): a notebook or an exported branch is far below it. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024
/**
 * Deeper nesting is refused. JSON.stringify overflows the stack near 4,000
 * levels (Node 20, measured) and JSON.parse of millions of levels blocks for
 * seconds; no request needs more than a few levels (a hand-edited state
 * value is the deepest), so 64 leaves room without coming near either.
 */
export const MAX_DEPTH = 64

/** Why a message was refused, for code that reacts (tests, tools) rather than people. */
export type MessageProblemCode = 'not-json' | 'too-large' | 'too-deep' | 'bad-request'

export interface MessageProblem extends LoomError {
  code: MessageProblemCode
}

export interface Request {
  id: number
  op: Op
  params: Record<string, unknown>
}

/** A checked request, or what to answer instead (with the id to answer, 0 when the message had none). */
export type Checked = { ok: true; request: Request } | { ok: false; id: number; problem: MessageProblem }

type Kind = 'string' | 'flag' | 'count' | 'positive' | 'seq' | 'moment' | 'cellKind' | 'cellOrNull' | 'strings' | 'edits' | 'previewMethod' | 'request' | 'choices' | 'answers' | 'values' | 'effectAnswers' | 'faults'
type Spec = Record<string, { kind: Kind; required?: true }>

const none: Spec = {}
// Ops of the protocol that the host does not answer yet are refused as unknown.
const PARAMS: Partial<Record<Op, Spec>> = {
  hello: { token: { kind: 'string' }, client: { kind: 'string' } },
  notebook: none,
  save: { text: { kind: 'string' }, path: { kind: 'string' }, overwrite: { kind: 'flag' } },
  stopJob: { job: { kind: 'positive', required: true } },
  editNotebook: { text: { kind: 'string', required: true }, asGuest: { kind: 'flag' } },
  editCell: { cell: { kind: 'string', required: true }, source: { kind: 'string', required: true }, asGuest: { kind: 'flag' } },
  addCell: { after: { kind: 'cellOrNull', required: true }, kind: { kind: 'cellKind', required: true }, source: { kind: 'string', required: true }, asGuest: { kind: 'flag' } },
  deleteCell: { cell: { kind: 'string', required: true }, asGuest: { kind: 'flag' } },
  moveCell: { cell: { kind: 'string', required: true }, to: { kind: 'count', required: true }, asGuest: { kind: 'flag' } },
  run: none,
  pause: none,
  step: none,
  status: none,
  log: { branch: { kind: 'string' }, from: { kind: 'seq' }, limit: { kind: 'count' } },
  state: { branch: { kind: 'string' }, at: { kind: 'seq' } },
  attempts: { limit: { kind: 'count' } },
  failures: { limit: { kind: 'count' } },
  branches: none,
  ttyInput: { text: { kind: 'string', required: true } },
  evaluate: { expr: { kind: 'string', required: true }, branch: { kind: 'string' }, at: { kind: 'seq' } },
  fork: { name: { kind: 'string', required: true }, from: { kind: 'string' }, at: { kind: 'seq', required: true } },
  promote: { name: { kind: 'string', required: true } },
  verify: { branch: { kind: 'string' }, from: { kind: 'seq' }, to: { kind: 'seq' } },
  rerun: { branch: { kind: 'string' }, onto: { kind: 'string', required: true } },
  query: { expr: { kind: 'string', required: true }, branch: { kind: 'string' }, from: { kind: 'seq' }, to: { kind: 'seq' }, limit: { kind: 'positive' } },
  retroLogs: { branch: { kind: 'string' }, limit: { kind: 'positive' } },
  renameBranch: { name: { kind: 'string', required: true }, to: { kind: 'string', required: true } },
  deleteBranch: { name: { kind: 'string', required: true } },
  exportBranch: { branch: { kind: 'string', required: true } },
  importBranch: { text: { kind: 'string', required: true }, name: { kind: 'string' } },
  editState: { edits: { kind: 'edits', required: true }, expect: { kind: 'values' } },
  timeline: { branch: { kind: 'string' }, from: { kind: 'seq' }, to: { kind: 'seq' }, bins: { kind: 'positive', required: true } },
  series: { branch: { kind: 'string' }, states: { kind: 'strings', required: true }, from: { kind: 'seq' }, to: { kind: 'seq' }, points: { kind: 'positive', required: true } },
  explore: { branch: { kind: 'string' }, at: { kind: 'seq' }, depth: { kind: 'positive' }, maxStates: { kind: 'positive' }, faults: { kind: 'faults' } },
  saveCounterexample: { job: { kind: 'count', required: true }, violation: { kind: 'count', required: true }, name: { kind: 'string', required: true } },
  preview: { method: { kind: 'previewMethod', required: true }, request: { kind: 'request' }, choices: { kind: 'choices' }, answers: { kind: 'answers' }, effects: { kind: 'effectAnswers' } },
  commitPreview: { id: { kind: 'count', required: true } },
  discardPreview: { id: { kind: 'count', required: true } },
  forkPreview: { id: { kind: 'count', required: true }, name: { kind: 'string', required: true } },
  profile: { branch: { kind: 'string' } },
  timings: { branch: { kind: 'string' }, from: { kind: 'seq', required: true }, to: { kind: 'seq', required: true } },
  diff: { from: { kind: 'moment', required: true }, to: { kind: 'moment', required: true }, limit: { kind: 'positive' } },
  openNotebook: { path: { kind: 'string', required: true } },
  recentNotebooks: none,
  effectsToAllow: none,
  allowEffects: none,
}

export const OPS = Object.keys(PARAMS) as Op[]

/** A request's id when it has a usable one, else 0: the id of answers to messages that could not be read. */
export function requestId(message: unknown): number {
  const id = (message as { id?: unknown } | null)?.id
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : 0
}

/** Checks a request that arrived as a value (Electron IPC, an in-memory pair, the engine process's channel). */
export function checkRequest(message: unknown): Checked {
  const id = requestId(message)
  const depth = depthOf(message)
  if (depth === Infinity) return refused(id, 'too-large', `a message of more than ${MAX_NODES} objects and arrays was refused`)
  if (depth > MAX_DEPTH) return refused(id, 'too-deep', `a message nested more than ${MAX_DEPTH} levels deep was refused; no request needs that many`)
  try {
    return { ok: true, request: readRequest(message) }
  } catch (err) {
    if (err instanceof Invalid) return refused(id, 'bad-request', err.message)
    throw err
  }
}

/** A frame's text read as JSON, its size and nesting checked before it is parsed; its shape is left to checkRequest. */
export function readFrame(text: string): { ok: true; value: unknown } | Extract<Checked, { ok: false }> {
  if (text.length > MAX_MESSAGE_BYTES) return refused(0, 'too-large', `a message of ${text.length} characters was refused; the limit is ${MAX_MESSAGE_BYTES} bytes`)
  if (textDepth(text) > MAX_DEPTH) return refused(0, 'too-deep', `a message nested more than ${MAX_DEPTH} levels deep was refused; no request needs that many`)
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    return refused(0, 'not-json', `a frame that is not JSON was refused (${(err as Error).message}); send one JSON message per text frame`)
  }
}

/** Checks a request that arrived as text: readFrame, then its shape. */
export function parseRequest(text: string): Checked {
  const frame = readFrame(text)
  return frame.ok ? checkRequest(frame.value) : frame
}

/** A checked message's problem as the error response that answers it. */
export function refusalOf(checked: Extract<Checked, { ok: false }>): { kind: 'response'; id: number; ok: false; error: MessageProblem } {
  return { kind: 'response', id: checked.id, ok: false, error: checked.problem }
}

function refused(id: number, code: MessageProblemCode, message: string): Extract<Checked, { ok: false }> {
  return { ok: false, id, problem: { code, message } }
}

/** How deeply brackets nest in JSON text, outside strings; stops counting past the limit. Linear, no recursion. */
export function textDepth(text: string): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // a backslash: skip what it escapes
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max && (max = depth) > MAX_DEPTH) return max
    } else if (c === 93 || c === 125) depth--
  }
  return max
}

/**
 * At most this many objects and arrays in one message. A value that came
 * over Electron IPC (structured clone) may share one object many times over,
 * or hold a cycle: without a count, walking (or serializing) it could take
 * forever.
 */
export const MAX_NODES = 1_000_000

/** How deeply a value nests (objects and arrays), walked with an explicit stack; stops past the limit (or past MAX_NODES: Infinity). */
export function depthOf(value: unknown): number {
  let max = 0
  let nodes = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [v, d] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (++nodes > MAX_NODES) return Infinity
    if (d + 1 > max && (max = d + 1) > MAX_DEPTH) return max
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) if (child !== null && typeof child === 'object') stack.push([child, d + 1])
  }
  return max
}

/** A problem with a request, said to whoever sent it. */
class Invalid extends Error {}

/** A value as an error message quotes it: short, whatever was sent. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v)
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}

/** A parameter's name as messages quote it: 'name', cut short. */
function quoted(name: string): string {
  return `'${name.length > 40 ? `${name.slice(0, 40)}…` : name}'`
}

/** The request in `message`, checked; throws Invalid saying what is wrong. */
function readRequest(message: unknown): Request {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new Invalid('a message must be a JSON object like {"kind":"request","id":1,"op":"hello","params":{}}')
  }
  const m = message as Record<string, unknown>
  if (m.kind !== 'request') throw new Invalid(`the engine answers requests only (kind "request"), not ${shown(m.kind ?? null)}`)
  if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id)) throw new Invalid('a request needs a whole-number id')
  if (typeof m.op !== 'string' || !Object.hasOwn(PARAMS, m.op)) {
    throw new Invalid(`there is no op ${shown(m.op ?? null)}; the ops are ${OPS.join(', ')}`)
  }
  const op = m.op as Op
  const params = m.params === undefined ? {} : m.params
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new Invalid(`${op}: params must be an object`)
  const spec = PARAMS[op]!
  for (const [name, value] of Object.entries(params)) {
    const rule = spec[name]
    if (!rule) throw new Invalid(`${op} takes no parameter ${quoted(name)}${Object.keys(spec).length ? `; it takes ${Object.keys(spec).join(', ')}` : ''}`)
    if (value === undefined) continue
    if (rule.kind === 'edits') checkEdits(op, value)
    const problem = check(rule.kind, value)
    if (problem) throw new Invalid(`${op}: ${quoted(name)} must be ${problem}, not ${shown(value)}`)
  }
  for (const [name, rule] of Object.entries(spec)) {
    if (rule.required && (params as Record<string, unknown>)[name] === undefined) throw new Invalid(`${op} needs '${name}'`)
  }
  return { id: m.id, op, params: params as Record<string, unknown> }
}

function check(kind: Kind, v: unknown): string | null {
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? null : 'a string'
    case 'flag':
      return typeof v === 'boolean' ? null : 'true or false'
    case 'count':
      return Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'a whole number ≥ 0'
    case 'positive':
      return Number.isSafeInteger(v) && (v as number) >= 1 ? null : 'a whole number ≥ 1'
    case 'seq':
      return Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'an event number (a whole number ≥ 0)'
    case 'moment': {
      const m = v as Record<string, unknown>
      const ok = isObject(v) && typeof m.branch === 'string' && Number.isSafeInteger(m.seq) && (m.seq as number) >= 0 && Object.keys(m).every((k) => k === 'branch' || k === 'seq')
      return ok ? null : 'a moment like {"branch":"main","seq":12}'
    }
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
    case 'values':
      return isObject(v) ? null : 'an object of state values by name, like {"count": 3}'
    case 'answers':
      return isObject(v) ? null : 'an object of answers by question key, like {"amount": 10}'
    case 'faults':
      return Array.isArray(v) && v.length <= 5 && v.every((f) => ['timeout', 'refused', '5xx', 'failed', 'lost'].includes(f as string)) ? null : 'a list of faults: "timeout", "refused", "5xx", "failed", "lost" (empty: none)'
    case 'effectAnswers': {
      const response = (r: unknown) => {
        const x = r as Record<string, unknown>
        if (!isObject(r)) return false
        const keys = Object.keys(x)
        if ('error' in x) return typeof x.error === 'string' && keys.length === 1
        if ('text' in x) return typeof x.text === 'string' && keys.length === 1
        return Number.isSafeInteger(x.status) && (x.status as number) >= 100 && (x.status as number) <= 599 && typeof x.body === 'string'
          && (x.headers === undefined || (isObject(x.headers) && Object.values(x.headers).every((y) => typeof y === 'string'))) && keys.every((k) => ['status', 'headers', 'body'].includes(k))
      }
      const ok = Array.isArray(v) && v.length <= 16 && v.every((a: unknown) => {
        const e = a as Record<string, unknown>
        return isObject(a) && typeof e.hash === 'string' && /^[0-9a-f]{64}$/.test(e.hash) && Object.keys(e).every((k) => ['hash', 'fault', 'response'].includes(k))
          && (e.fault === undefined ? response(e.response) : ['timeout', 'refused', '5xx', 'failed'].includes(e.fault as string) && e.response === undefined)
      })
      return ok ? null : 'a list of at most 16 answers to pending effects, each {"hash": the request\'s hash, "fault": "timeout"|"refused"|"5xx"|"failed"} or {"hash", "response": {"status":200,"body":"…"} or {"error":"…"} or {"text":"…"}}'
    }
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
const EDIT_SHAPES = '{state, set} (a whole state), {state, key, set} or {state, key, delete: true} (a map entry), {state, push} (a queue), {state, put} (a bag), {state, remove} (a queue or bag item by place) or {state, add} (a counter)'
const EDIT_ACTIONS = ['set', 'delete', 'push', 'put', 'add', 'remove']

/** An edit the projectional editor sends: one state, one action; refused with which edit and why. */
function checkEdits(op: string, v: unknown): void {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LIST) throw new Invalid(`${op}: 'edits' must be a list of 1 to ${MAX_LIST} edits, each ${EDIT_SHAPES}`)
  v.forEach((e: unknown, i) => {
    const bad = (what: string) => new Invalid(`${op}: edit ${i + 1} ${what}; an edit is ${EDIT_SHAPES}`)
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
    if (action === 'remove' && !(Number.isSafeInteger(edit.remove) && (edit.remove as number) >= 0)) throw bad("removes, and that needs the item's place: a whole number from 0")
  })
}

/** Longest error message read from elsewhere: a compile error of a whole notebook fits many times over. */
const WHERE_TEXT = ['file', 'cell', 'branch'] as const
const WHERE_NUMBER = ['line', 'column', 'fileLine', 'event'] as const

/**
 * A LoomError that arrived from elsewhere (an engine process, a host over the
 * network), if it has the shape: a known code, a message, and a where whose
 * every part is what it says. Anything else is null: never guessed at.
 */
export function readLoomError(v: unknown): LoomError | null {
  if (!isObject(v) || !Object.keys(v).every((k) => k === 'code' || k === 'message' || k === 'where')) return null
  if (!LOOM_ERROR_CODES.includes(v.code as LoomError['code'])) return null
  if (typeof v.message !== 'string' || v.message.length > MAX_ERROR_TEXT) return null
  if (v.where !== undefined && !isWhere(v.where)) return null
  return v as unknown as LoomError
}

function isWhere(v: unknown): v is Where {
  if (!isObject(v)) return false
  return Object.entries(v).every(([k, x]) =>
    (WHERE_TEXT as readonly string[]).includes(k) ? typeof x === 'string' && x.length <= MAX_WHERE_TEXT
      : (WHERE_NUMBER as readonly string[]).includes(k) ? Number.isSafeInteger(x) && (x as number) >= 0
        : false)
}
