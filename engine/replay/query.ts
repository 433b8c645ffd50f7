// When did X first happen: a predicate over the state and the event,
// evaluated after every event of a range of a branch. The state is rolled
// forward from the nearest snapshot by applying write sets (no cell code
// runs), every event read is checked against the hash chain, and the
// expression runs in the REPL's context (engine/host/evaluate.ts), never here.
import { Store } from '../runtime/store.ts'
import type { EventRecord, Write } from '../runtime/event.ts'
import type { Json } from '../runtime/json.ts'
import { chainHash } from './history/hashChain.ts'
import { redactCredentials } from '../protocol/redactCredentials.ts'
import type { HistoryLog } from './historyLog.ts'
import type { Damage } from './logErrors.ts'
import { nearestSnapshot } from './seek.ts'
import { MemoryRefusal, PredicateContext, TimeRefusal } from '../host/evaluate.ts'
import { Refusal } from '../host/problems.ts'
import type { Evaluator } from '../host/evaluator.ts'
import { stateBindings } from '../host/notebookCells.ts'

export interface QueryOptions {
  branch: string
  /** Where the expression runs: a process with a heap limit of its own (engine/host/evaluator.ts). */
  evaluator: Evaluator
  /** The first and last events to evaluate after (default: the whole branch). */
  from?: number
  to?: number
  /** Stop at the first match. */
  first?: boolean
  /** Matches kept (all are counted); default 1000. */
  limit?: number
  /** Per batch of events; default the REPL's. */
  timeLimitMs?: number
  /** Events per batch sent to the evaluator (default 500). */
  batchSize?: number
  /** Called after each batch; a promise it returns is awaited (a host yields to other work there). */
  onProgress?: (done: number, total: number) => void | Promise<void>
  /**
   * Blank every credential header (redactCredentials) in what the expression sees: a question from the
   * window may be a guest's, and a value it picks out of a `headers` object is no longer under that key
   * when it is answered. `loom query` (whoever may read the file) sees the log as it is.
   */
  redact?: boolean
}

export interface QueryMatch {
  seq: number
  kind: string
  method: string | null
  /** What the expression gave, when it was not `true`. */
  value?: Json
}

export interface QueryError {
  seq: number
  message: string
  /** The place in the expression (line 1 is its first line). */
  line?: number
  column?: number
}

export interface QueryResult {
  branch: string
  from: number
  to: number
  /** Events after which the expression was evaluated. */
  evaluated: number
  matches: QueryMatch[]
  /** Every match, kept or not. */
  count: number
  /** The first events at which the expression threw, and how many did. */
  errors: QueryError[]
  errorCount: number
  /** A changed byte found where the query read: nothing after it is evaluated. */
  damage: Damage | null
}

const BATCH = 500
const KEEP_ERRORS = 20

/** Evaluates `expr` after each event `from..to` of a branch; throws a Refusal for an expression that does not parse, runs too long or out of memory. */
export async function queryBranch(log: HistoryLog, expr: string, o: QueryOptions): Promise<QueryResult> {
  try {
    return await queryOnce(log, expr, o)
  } catch (err) {
    if (!(err instanceof MemoryRefusal) || !err.events || err.events[0] === err.events[1]) throw err
    // Which event of the batch: the batch again, one event at a time (the first to run out again is named).
    await queryOnce(log, expr, { ...o, from: err.events[0], to: err.events[1], batchSize: 1, onProgress: undefined })
    throw err // one at a time, each fit: it was the batch as a whole
  }
}

async function queryOnce(log: HistoryLog, expr: string, o: QueryOptions): Promise<QueryResult> {
  const info = log.branchInfo(o.branch)
  if (!info) throw new Error(`there is no branch '${o.branch}'`)
  const from = Math.max(1, o.from ?? 1)
  const to = Math.min(o.to ?? info.head, info.head)
  const limit = o.limit ?? 1000
  const result: QueryResult = { branch: o.branch, from, to, evaluated: 0, matches: [], count: 0, errors: [], errorCount: 0, damage: null }
  if (from > to) return result
  const snap = nearestSnapshot(log, { branch: o.branch, seq: from - 1 })
  const store = snap ? Store.from(snap.state) : new Store()
  const bindings = bindingsAt(log, o.branch, to)
  let parent = log.hashAt(o.branch, snap?.seq ?? 0)
  const withEvent = /\bevent\b/.test(expr)
  const seen = <T>(v: T): T => (o.redact ? redactCredentials(v) : v)
  let predicate: PredicateContext | null = null
  let batch: string[] = []
  let labels: [number, string, string | null][] = []
  const run = async (): Promise<boolean> => {
    const first = labels[0]![0]
    const answer = await predicate!.run(`{"keep":${Math.max(0, limit - result.matches.length)},"keepErrors":${KEEP_ERRORS - result.errors.length},"first":${!!o.first},"events":[${batch.join(',')}]}`, first, labels[labels.length - 1]![0]).catch((err) => slowOrLoop(err, first))
    for (const [seq, value] of answer.matches) {
      const [, kind, method] = labels[seq - first]!
      result.matches.push(value === null ? { seq, kind, method } : { seq, kind, method, value })
    }
    result.count += answer.count
    result.errorCount += answer.errorCount
    for (const [seq, message, where] of answer.errors) result.errors.push(where ? { seq, message, line: where[0], column: where[1] } : { seq, message })
    result.evaluated = answer.stopped ? answer.matches[answer.matches.length - 1]?.[0] ?? first : labels[labels.length - 1]![0]
    result.evaluated -= from - 1
    batch = []
    labels = []
    await o.onProgress?.(result.evaluated, to - from + 1)
    return answer.stopped
  }
  // The limit is the batch's, together: stopped past its first event, the event it was at is asked again alone
  // (its updates again onto the state after it: the same state), which tells a loop from an expression slow at every event.
  const slowOrLoop = async (err: unknown, first: number): Promise<never> => {
    if (!(err instanceof TimeRefusal) || err.at === null || err.at <= first || err.at - first >= batch.length) throw err
    const alone = await predicate!.run(`{"keep":0,"keepErrors":0,"first":false,"events":[${batch[err.at - first]}]}`, err.at, err.at).catch((again) => again)
    if (alone instanceof Error) throw alone instanceof TimeRefusal ? err : alone
    const limitMs = predicate!.timeLimitMs
    throw new Refusal(`the expression ran past ${limitMs} ms over events ${first}..${err.at} together (the limit is for each ${batch.length} events) and was stopped at event ${err.at}: a slow expression needs a longer limit (loom query --time-limit MS)`, undefined, 'timeLimit')
  }
  try {
    return await walk()
  } finally {
    ;(predicate as PredicateContext | null)?.close()
  }
  async function walk(): Promise<QueryResult> {
    for (const raw of log.raw(o.branch, (snap?.seq ?? 0) + 1, to)) {
      if (chainHash(parent, raw.body) !== raw.hash) {
        result.damage = { code: 'hash-mismatch', branch: o.branch, seq: raw.seq, message: `branch '${o.branch}': event ${raw.seq} does not match its hash: the log was changed after it was written` }
        break
      }
      parent = raw.hash
      const e = JSON.parse(raw.body) as EventRecord
      if (e.seq >= from) predicate ??= await PredicateContext.open(o.evaluator, expr, seen(store.values()), bindings, o.timeLimitMs)
      store.apply(e.writes, e.seq)
      if (e.seq < from) continue
      // The whole event crosses only for an expression that names it (parsing it again inside costs as much as the rest).
      const event = withEvent ? (o.redact ? JSON.stringify(redactCredentials(e)) : raw.body) : JSON.stringify({ seq: e.seq, branch: e.branch, kind: e.kind, method: e.method, time: e.time })
      batch.push(`[${event},${JSON.stringify(seen(updatesOf(store, e.writes)))}]`)
      labels.push([e.seq, e.kind, e.method])
      if (batch.length === (o.batchSize ?? BATCH) && (await run())) return result
    }
    // A range whose every event is before the damage: the expression is still checked.
    predicate ??= await PredicateContext.open(o.evaluator, expr, seen(store.values()), bindings, o.timeLimitMs)
    if (batch.length) await run()
    return result
  }
}

/**
 * What an event changed, as the context takes it: a map's keys one by one,
 * any other state's whole value as the store holds it after the event (the
 * store's apply is the one place write sets are interpreted).
 */
function updatesOf(store: Store, writes: readonly Write[]): Json[] {
  const out: Json[] = []
  const whole = new Set<string>()
  for (const w of writes) {
    if (w.op === 'set' && 'key' in w) out.push([1, w.state, w.key, w.value])
    else if (w.op === 'delete') out.push([2, w.state, w.key])
    else whole.add(w.state)
  }
  for (const name of whole) {
    const cell = store.get(name)
    if (cell) out.push([0, name, cell.kind, cell.value()])
  }
  return out
}

/** The variable names the code in force at `seq` binds its states to (`const accts = state.map('accounts')`). */
function bindingsAt(log: HistoryLog, branch: string, seq: number): Map<string, string> {
  const at = log.lastOfKind(branch, 'code', seq)
  const hash = at === null ? null : log.event(branch, at)?.codeHash
  const code = hash ? log.getCode(hash) : null
  return code ? stateBindings({ cells: code.sources }) : new Map()
}
