// The REPL: an expression evaluated against the state at one moment, in a
// fresh vm context that holds nothing of the host, made in an evaluator
// process of its own (evaluatorProcess.ts) so that one that runs out of
// memory ends only that process, never the engine. Only text crosses the
// boundary — the state and the expression go in as strings, the state is
// rebuilt inside as frozen read-only views, and the answer comes out as a
// JSON string made inside under the time limit — so an expression can
// neither change state nor reach the engine process, and a hostile value
// (a getter, a proxy, a toJSON that loops) only ever runs inside the limit.
import vm from 'node:vm'
import { types } from 'node:util'
import type { Json, StateValue } from '../protocol/messages.ts'
import { Refusal } from './problems.ts'
import { DEEP_FREEZE } from '../runtime/deepFreeze.ts'
import { QUERY_SETUP } from './querySetup.ts'
import { NO_GC_OBSERVERS } from '../runtime/gcObservers.ts'
import { EvaluatorDeath, type Evaluator, type EvalContext, type EvalRun } from './evaluator.ts'

const TIME_LIMIT_MS = 1000
const MAX_ANSWER = 1 << 20

// Runs once inside the context: builds one view per state with the read
// methods of its kind (every write method throws, saying why and what to do
// instead), freezes every intrinsic, and returns the evaluator, which keeps
// its own references to JSON and String so that the expression cannot
// change how its answer is made.
const SETUP = `(function (stateJson, bindingsJson, momentJson) {
  "use strict";
  const G = globalThis;
  // The rules of a cell, read-only: no clock and no randomness of its own; sys reads the moment.
  const moment = JSON.parse(momentJson);
  const instead = (what, use) => function () { throw new Error(what + " is not available in the REPL: " + use); };
  const RealDate = Date;
  function ReplDate(...args) {
    if (!new.target || args.length === 0) throw new Error("Date() and new Date() are not available in the REPL: use new Date(sys.time.now()), the time of the moment shown");
    return Reflect.construct(RealDate, args, new.target);
  }
  Object.defineProperty(ReplDate, "prototype", { value: RealDate.prototype });
  ReplDate.UTC = RealDate.UTC;
  ReplDate.parse = RealDate.parse;
  ReplDate.now = instead("Date.now()", "use sys.time.now(), the time of the moment shown");
  G.Date = ReplDate;
  Math.random = instead("Math.random()", "as in a cell, use sys.random(index, n) in a transaction");
  // A FinalizationRegistry callback would run later outside the time limit, Atomics.wait would block the engine.
  ${NO_GC_OBSERVERS}
  const inTx = (name) => instead("sys." + name + "()", "it belongs to a transaction; the REPL reads the state at one moment");
  const sys = {
    time: { now: () => { if (moment.time === null) throw new Error("sys.time.now(): no event has happened yet at this moment"); return moment.time; }, await: inTx("time.await") },
    env: { get: (k) => (Object.prototype.hasOwnProperty.call(moment.env, k) ? moment.env[k] : undefined), args: moment.args },
    random: inTx("random"), fork: inTx("fork"), abort: inTx("abort"), halt: inTx("halt"), log: inTx("log"),
    tty: { write: inTx("tty.write"), read: inTx("tty.read") },
  };
  Object.defineProperty(G, "sys", { value: sys, writable: false, enumerable: true, configurable: false });
  const stringify = JSON.stringify, parse = JSON.parse, toText = String, evaluate = G.eval, keys = Object.keys;
  const freezeValue = (v) => { if (v && typeof v === "object") { Object.freeze(v); for (const k of keys(v)) freezeValue(v[k]); } return v; };
  const copy = (v) => v === undefined ? undefined : freezeValue(parse(stringify(v)));
  const refuse = (name, method) => function () {
    throw new Error(name + "." + method + "() would change state, and the REPL is read-only: change state with a step, an http request or an edit in the state view");
  };
  const states = parse(stateJson);
  const views = {};
  // Each view reads its state as it is now: a query moves the same views from event to event.
  const makeView = (name) => {
    const kind = states[name].kind;
    const now = () => states[name].value;
    if (kind === "var") return Object.freeze({ get: () => copy(now()), set: refuse(name, "set"), update: refuse(name, "update") });
    if (kind === "map") return Object.freeze({
      get: (k) => copy(Object.prototype.hasOwnProperty.call(now(), k) ? now()[k] : undefined), has: (k) => Object.prototype.hasOwnProperty.call(now(), k),
      keys: () => keys(now()), values: () => Object.values(copy(now())), entries: () => Object.entries(copy(now())),
      size: () => keys(now()).length, set: refuse(name, "set"), delete: refuse(name, "delete"),
    });
    if (kind === "queue") return Object.freeze({ peek: () => copy(now()[0]), size: () => now().length, items: () => copy(now()), push: refuse(name, "push"), take: refuse(name, "take") });
    if (kind === "bag") return Object.freeze({ size: () => now().length, items: () => copy(now()), put: refuse(name, "put"), take: refuse(name, "take") });
    if (kind === "set") return Object.freeze({ size: () => now().length, values: () => copy(now()), has: (v) => now().some((x) => JSON.stringify(x) === JSON.stringify(v)), add: refuse(name, "add"), delete: refuse(name, "delete") });
    return Object.freeze({ get: () => now(), add: refuse(name, "add") });
  };
  for (const name of keys(states)) views[name] = makeView(name);
  const bind = (name, view) => {
    if (!/^[A-Za-z_$][\\w$]*$/.test(name) || name in G) return;
    Object.defineProperty(G, name, { value: view, writable: false, enumerable: true, configurable: false });
  };
  for (const name of keys(views)) bind(name, views[name]);
  const bindings = parse(bindingsJson);
  for (const local of keys(bindings)) if (views[bindings[local]]) bind(local, views[bindings[local]]);
  // All together, as they are now (a query adds the states a code event declares).
  Object.defineProperty(G, "$state", { get: () => Object.freeze({ ...views }), enumerable: true, configurable: false });

  const describe = (e) => {
    try {
      if (e && typeof e === "object" && typeof e.message === "string") return toText(e.message);
      return "the expression threw " + toText(e);
    } catch { return "the expression threw a value that cannot be shown"; }
  };
  const run = function (source) {
    try {
      const value = evaluate(source);
      if (typeof value === "function") return stringify({ error: "the answer is a function; call it to see a value" });
      if (typeof value === "bigint") return stringify({ value: toText(value) });
      const text = value === undefined ? "null" : stringify(value);
      return '{"value":' + (text === undefined ? "null" : text) + "}";
    } catch (e) {
      return stringify({ error: describe(e) });
    }
  };
  Object.defineProperty(G, "__loomRepl", { value: run, writable: false, enumerable: false, configurable: false });
  ${QUERY_SETUP}
  ${DEEP_FREEZE}
  seen.add(G);
  for (const key of Reflect.ownKeys(G)) {
    const d = Object.getOwnPropertyDescriptor(G, key);
    if ("value" in d) freeze(d.value);
    if (d.configurable) Object.defineProperty(G, key, "value" in d ? { value: d.value, writable: false, configurable: false } : { configurable: false });
  }
  freeze(Object.getPrototypeOf(G));
  return feed;

})`

/**
 * Evaluates `expr` against `state`. States are in scope by their names and by
 * the variable names the notebook binds them to (`bindings`), and all
 * together as `$state`. Throws a Refusal with what went wrong.
 */
export interface ReplMoment {
  /** The time of the moment's event (what sys.time.now() read in it), or null before the first. */
  time: number | null
  /** The app's configuration: sys.env. */
  env: Record<string, string>
  args: string[]
}

export async function evaluateReadOnly(evaluator: Evaluator, expr: string, state: Record<string, StateValue>, bindings: Map<string, string> = new Map(), moment: ReplMoment = { time: null, env: {}, args: [] }): Promise<Json> {
  if (expr.trim() === '') throw new Refusal("type an expression, like accounts.get('alice')", undefined, 'badInput')
  try {
    new vm.Script(expr, { filename: 'repl' })
  } catch (err) {
    throw new Refusal(`the expression does not parse: ${(err as Error).message}`, undefined, 'badInput')
  }
  const context = await evaluator.open(state, bindings, moment).catch(outOfMemory(evaluator, 'while the state was loaded', null, LARGE_STATE))
  let ran: EvalRun
  try {
    // The global object itself cannot be frozen: the expression arrives as a property of it, as text.
    ran = await evaluator.run(context, { script: '__loomRepl(__loomSource)', filename: 'loom:repl', timeout: TIME_LIMIT_MS, source: `"use strict";\n${expr}` }).catch(outOfMemory(evaluator, ''))
  } finally {
    evaluator.close(context)
  }
  if ('thrown' in ran) throw new Refusal(`the expression ran past ${TIME_LIMIT_MS} ms and was stopped`, undefined, 'timeLimit')
  const out = ran.out
  if (out.length > MAX_ANSWER) throw new Refusal(`the answer is ${out.length} characters long; ask for a part of it (the limit is ${MAX_ANSWER})`)
  const answer = JSON.parse(out) as { value?: Json; error?: string }
  if (answer.error !== undefined) {
    const write = /read[- ]only property|not extensible|Cannot (assign|add|delete|define)/.test(answer.error)
    throw new Refusal(write ? `${answer.error}: values in the REPL are read-only copies of the state` : answer.error, undefined, 'runtime')
  }
  return answer.value ?? null
}

/** An expression that ran out of the evaluator's memory; `events`: the first and last of the batch it was evaluated after. */
export class MemoryRefusal extends Refusal {
  constructor(message: string, readonly events: [number, number] | null) {
    super(message, undefined, 'runtime')
  }
}

/** A batch of events ran past its time limit (the limit is the batch's, together); `at`: the event it was stopped at. */
export class TimeRefusal extends Refusal {
  constructor(message: string, readonly at: number | null) {
    super(message, undefined, 'timeLimit')
  }
}

const LARGE_STATE = ' (a state this large needs more: LOOM_EVAL_MEMORY_MB=N where Loom runs)'

/** The evaluator process ended under a request: a Refusal that says why (`at`: where the expression was). */
function outOfMemory(evaluator: Evaluator, at: string, events: [number, number] | null = null, hint = ''): (err: unknown) => never {
  return (err) => {
    if (!(err instanceof EvaluatorDeath)) throw err
    const where = at ? ` ${at}` : ''
    if (!err.blamed) throw new Refusal(`the expression was not evaluated: another expression ended the evaluator process${where}; ask again`, undefined, 'runtime')
    if (err.oom) throw new MemoryRefusal(`the expression used more than ${evaluator.memoryMb} MB${where} and was stopped${hint}`, events)
    throw new Refusal(`the evaluator process ended (${err.how})${where} and the expression was stopped`, undefined, 'runtime')
  }
}

// In the evaluator process (evaluatorProcess.ts): the contexts themselves.

/** A REPL or query context, and how a batch of events is handed to it (QUERY_SETUP's feed). */
export interface ReplContext {
  context: vm.Context
  feed: (batch: string) => void
}

/** A fresh context holding the read-only views of `state` (and nothing of the host); the arguments are JSON text. */
export function replContext(stateJson: string, bindingsJson: string, momentJson: string): ReplContext {
  const context = vm.createContext(Object.create(null), { name: 'loom repl', codeGeneration: { strings: true, wasm: false }, microtaskMode: 'afterEvaluate' })
  const setup = new vm.Script(SETUP, { filename: 'loom:repl' }).runInContext(context) as (s: string, b: string, m: string) => (batch: string) => void
  const feed = setup(stateJson, bindingsJson, momentJson)
  return { context, feed }
}

/** The batch given to feed, evaluated (compiled once: a batch as a literal of the script cost a compile of it each time). */
const QUERY_FED = new vm.Script('__loomQuery(null)', { filename: 'loom:query' })

/** What a script run in a context gave: only a primitive string is read, and of what it threw only the text. `batch`: a query's events, fed first. */
export function runInReplContext(c: ReplContext, r: { script?: string; batch?: string; filename: string; lineOffset?: number; timeout: number; source?: string }): EvalRun {
  if (r.source !== undefined) (c.context as { __loomSource?: string }).__loomSource = r.source
  try {
    if (r.batch !== undefined) c.feed(r.batch)
    const script = r.batch !== undefined ? QUERY_FED : new vm.Script(r.script ?? '', { filename: r.filename, lineOffset: r.lineOffset ?? 0 })
    const out = script.runInContext(c.context, { timeout: r.timeout }) as unknown
    return { out: typeof out === 'string' ? out : '' }
  } catch (err) {
    const code = ownText(err, 'code')
    return { thrown: ownText(err, 'message').slice(0, 1000), timedOut: code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' }
  }
}

/** What one batch of events answered: matches as [seq, value or null for true], errors as [seq, message, [line, column] in the expression]. */
export interface PredicateAnswer {
  matches: [number, Json][]
  count: number
  errors: [number, string, [number, number] | null][]
  errorCount: number
  stopped: boolean
}

/**
 * A predicate over the state and the event, kept in one context of the
 * evaluator process while a query moves it through a branch
 * (engine/replay/query.ts): the REPL's views, text in and out, each batch
 * under the time limit. close() when done.
 */
export class PredicateContext {
  private constructor(private readonly evaluator: Evaluator, private readonly context: EvalContext, readonly timeLimitMs: number) {}

  /** Compiles `expr` against the state before the first event to evaluate; a syntax error is a Refusal saying where. */
  static async open(evaluator: Evaluator, expr: string, state: Record<string, StateValue>, bindings: Map<string, string>, timeLimitMs = TIME_LIMIT_MS): Promise<PredicateContext> {
    if (expr.trim() === '') throw new Refusal("give an expression, like accounts.get('bob') < 0 or event.http.status >= 500", undefined, 'badInput')
    // The expression's own line 1 is line 1 of the script 'query', so a place in it reads as a place in what was typed.
    const source = `__loomPredicate(function (event) { "use strict"; return (\n${expr}\n) })`
    try {
      new vm.Script(source, { filename: 'query', lineOffset: -1 })
    } catch (err) {
      const line = Number(/^query:(\d+)/.exec((err as Error).stack ?? '')?.[1] ?? 0)
      const where = line > expr.split('\n').length ? ' (at its end)' : line ? ` (line ${line})` : ''
      throw new Refusal(`the expression does not parse${where}: ${(err as Error).message}`, undefined, 'badInput')
    }
    const context = await evaluator.open(state, bindings, { time: null, env: {}, args: [] }).catch(outOfMemory(evaluator, 'while the state before its first event was loaded', null, LARGE_STATE))
    const compiled = await evaluator.run(context, { script: source, filename: 'query', lineOffset: -1, timeout: timeLimitMs }).catch(outOfMemory(evaluator, 'while it was compiled'))
    if ('thrown' in compiled) {
      evaluator.close(context)
      throw new Refusal(`the expression ran past ${timeLimitMs} ms while it was compiled and was stopped`, undefined, 'timeLimit')
    }
    return new PredicateContext(evaluator, context, timeLimitMs)
  }

  /** Evaluates a batch of events `first..last` (see QUERY_SETUP); one that runs past the limit or out of memory is a Refusal naming where. */
  async run(batch: string, first: number, last: number): Promise<PredicateAnswer> {
    const during = first === last ? `at event ${first}` : `while evaluated after events ${first}..${last}`
    // The batch is fed to the context (QUERY_SETUP): once the expression has run, nothing writes to the
    // context's global again (an accessor the expression put there would run outside the limit).
    const ran = await this.evaluator.run(this.context, { batch, filename: 'loom:query', timeout: this.timeLimitMs }).catch(outOfMemory(this.evaluator, during, [first, last]))
    if ('thrown' in ran) {
      const at = await this.at()
      if (!ran.timedOut) throw new Refusal(`the query could not go on${at ? ` at event ${at}` : ''}: ${ran.thrown.slice(0, 300) || 'it was stopped'}`, undefined, 'runtime')
      throw new TimeRefusal(`the expression ran past ${this.timeLimitMs} ms${at ? ` at event ${at}` : ''} and was stopped (a loop that does not end?)`, at)
    }
    if (ran.out === '') throw new Refusal('the query did not give an answer that can be read')
    return JSON.parse(ran.out) as PredicateAnswer
  }

  close(): void {
    this.evaluator.close(this.context)
  }

  private async at(): Promise<number | null> {
    try {
      const ran = await this.evaluator.run(this.context, { script: 'String(__loomAt())', filename: 'loom:query', timeout: 100 })
      const seq = 'out' in ran ? Number(ran.out) : NaN
      return Number.isSafeInteger(seq) && seq > 0 ? seq : null
    } catch {
      return null
    }
  }
}

/** A string own property of what a context threw, read without running any of its code (no getter, no proxy trap). */
function ownText(thrown: unknown, key: string): string {
  if (thrown === null || typeof thrown !== 'object' || types.isProxy(thrown)) return ''
  const value = Object.getOwnPropertyDescriptor(thrown, key)?.value as unknown
  return typeof value === 'string' ? value : ''
}
