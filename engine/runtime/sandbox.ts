// The sandbox: a node:vm context holding only `state`, `sys`, `test` and the
// language's pure built-ins, frozen. Everything a cell can touch is created
// inside the context, so no host object (and no host Function constructor)
// is ever reachable from cell code.
import vm from 'node:vm'
import { registerRealm } from './values.ts'
import { DEEP_FREEZE } from './deepFreeze.ts'
import { NO_GC_OBSERVERS } from './gcObservers.ts'

/**
 * What the sandbox may ask of the host. Host functions are held in a closure
 * inside the context and never handed to cell code; they signal failure by
 * throwing errors made with the context's own Error (see `Sandbox.error`).
 */
export interface HostApi {
  declare(kind: string, name: string, initial: unknown): number
  call(op: number, id: number, a?: unknown, b?: unknown): unknown
  sys(op: number, a?: unknown, b?: unknown): unknown
  /** `test(name, property)`; with a kind, one of the declarations only exploration reads (`test.symmetric`…: AppVersion.explore). */
  test(name: string, property: unknown, kind?: string, extra?: unknown): void
}

/** Operation codes shared with the in-context bridge below. */
export const OP = {
  varGet: 0, varSet: 1,
  mapGet: 10, mapSet: 11, mapDelete: 12, mapHas: 13, mapKeys: 14, mapValues: 15, mapEntries: 16, mapSize: 17,
  queuePush: 20, queueTake: 21, queuePeek: 22, queueSize: 23, queueItems: 24,
  bagPut: 30, bagTake: 31, bagSize: 32, bagItems: 33,
  counterAdd: 40, counterGet: 41,
  setHas: 50, setAdd: 51, setDelete: 52, setValues: 53, setSize: 54,
} as const

export const SYS = {
  fork: 0, random: 1, now: 2, await: 3, ttyWrite: 4, ttyRead: 5, envGet: 6, args: 7, abort: 8, halt: 9, log: 10,
  ask: 11, choose: 12, show: 13, httpGet: 14, fsRead: 15, httpSend: 16, fsWrite: 17, effectsResult: 18,
} as const


// Runs once in every new context. Replaces what could observe the world with
// functions that say what to use instead, builds the API over the host's two
// functions, then freezes every intrinsic so that no transaction can leave a
// trace outside state (a patched Array.prototype would survive an abort).
const BOOTSTRAP = `(function (host, OP, SYS) {
  "use strict";
  const G = globalThis;
  // Every call into the host goes through guarded: whatever the host throws
  // or returns that is not of this realm (an error V8 made while the stack
  // was nearly exhausted, a value a host bug let through) is replaced here,
  // inside the context, by this realm's own error. Host objects lead to the
  // host's Function, and from there to the whole process.
  const RealmObject = Object, RealmError = Error, RealmRangeError = RangeError;
  const foreign = (v) => v !== null && (typeof v === "object" || typeof v === "function") && !(v instanceof RealmObject);
  const adopt = (e) => {
    if (!foreign(e)) return e;
    let message = "the host could not answer this call";
    try { if (typeof e.message === "string") message = "" + e.message; } catch {}
    try { if (e.name === "RangeError") return new RealmRangeError(message); } catch {}
    return new RealmError(message);
  };
  const guarded = (f) => function (a, b, c, d) {
    let v;
    try { v = f(a, b, c, d); } catch (e) { throw adopt(e); }
    if (foreign(v)) throw new RealmError("Loom: a host value reached the sandbox (a bug in Loom; please report it)");
    return v;
  };
  const call = guarded(host.call), sysCall = guarded(host.sys), declareIn = guarded(host.declare), testIn = guarded(host.test), enter = guarded(host.enter);
  Error.stackTraceLimit = 30;
  const instead = (what, use) => function () { throw new Error(what + " is not available in a Loom cell: " + use); };
  const RealDate = Date;
  function LoomDate(...args) {
    if (!new.target) throw new Error("Date() is not available in a Loom cell: use sys.time.now() (the transaction's commit time)");
    if (args.length === 0) throw new Error("new Date() is not available in a Loom cell: use new Date(sys.time.now())");
    return Reflect.construct(RealDate, args, new.target);
  }
  Object.defineProperty(LoomDate, "prototype", { value: RealDate.prototype });
  LoomDate.UTC = RealDate.UTC;
  LoomDate.parse = RealDate.parse;
  LoomDate.now = instead("Date.now()", "use sys.time.now() (the transaction's commit time)");
  Object.defineProperty(RealDate.prototype, "constructor", { value: LoomDate });
  G.Date = LoomDate;
  Math.random = instead("Math.random()", "use sys.random(index, n) for a stable choice, or sys.fork(n) for a choice the agent makes");
  for (const name of ["setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate", "queueMicrotask", "requestAnimationFrame"]) {
    G[name] = instead(name + "()", "a transaction runs to completion; wait with sys.time.await(t) or by aborting until state changes");
  }
  // A promise callback runs after its transaction has ended (a job, not a step of it): no promises at all.
  // Async syntax is refused at compile; this closes Promise.resolve(thenable) and .then().
  Object.defineProperty(G, "Promise", { get: instead("Promise", "a transaction is synchronous and runs to completion; wait with sys.time.await(t) or by aborting until state changes") });
  ${NO_GC_OBSERVERS}
  for (const name of ["require", "process", "module", "exports", "global", "Buffer", "fetch", "XMLHttpRequest", "WebSocket"]) {
    Object.defineProperty(G, name, { get: instead(name, "a cell reaches the world only through sys (sys.tty, sys.log, sys.env, http)") });
  }
  const fmt = (a) => { if (typeof a === "string") return a; try { return JSON.stringify(a) ?? String(a); } catch { return String(a); } };
  const logTo = (channel) => (...args) => { sysCall(SYS.log, channel, args.map(fmt).join(" ")); };
  G.console = Object.freeze({ log: logTo("console"), info: logTo("console"), debug: logTo("console"), warn: logTo("warn"), error: logTo("error") });

  // A copy by a loop into a literal: with the intrinsics frozen, Array.from takes a slow path (~1 µs for 20 items),
  // and a global's name costs a call into the context's interceptor (~0.5 µs) at every use.
  const own = (arr) => { const out = []; for (let i = 0; i < arr.length; i++) out.push(arr[i]); return out; };
  const makers = {
    var: (id) => ({
      get: () => call(OP.varGet, id),
      set: (v) => { call(OP.varSet, id, v); },
      update: (f) => { call(OP.varSet, id, f(call(OP.varGet, id))); },
    }),
    map: (id) => ({
      get: (k) => call(OP.mapGet, id, k),
      set: (k, v) => { call(OP.mapSet, id, k, v); },
      delete: (k) => { call(OP.mapDelete, id, k); },
      has: (k) => call(OP.mapHas, id, k),
      keys: () => own(call(OP.mapKeys, id)),
      values: () => own(call(OP.mapValues, id)),
      entries: () => own(call(OP.mapEntries, id)).map(own),
      size: () => call(OP.mapSize, id),
    }),
    queue: (id) => ({
      push: (v) => { call(OP.queuePush, id, v); },
      take: () => call(OP.queueTake, id),
      peek: () => call(OP.queuePeek, id),
      size: () => call(OP.queueSize, id),
      items: () => own(call(OP.queueItems, id)),
    }),
    bag: (id) => ({
      put: (v) => { call(OP.bagPut, id, v); },
      take: () => call(OP.bagTake, id),
      size: () => call(OP.bagSize, id),
      items: () => own(call(OP.bagItems, id)),
    }),
    set: (id) => ({
      has: (v) => call(OP.setHas, id, v),
      add: (v) => { call(OP.setAdd, id, v); },
      delete: (v) => { call(OP.setDelete, id, v); },
      values: () => own(call(OP.setValues, id)),
      size: () => call(OP.setSize, id),
    }),
    counter: (id) => ({
      add: (n) => { call(OP.counterAdd, id, n); },
      get: () => call(OP.counterGet, id),
    }),
  };
  const declare = (kind) => (name, initial) => Object.freeze(makers[kind](declareIn(kind, name, initial)));
  const state = Object.freeze({ var: declare("var"), map: declare("map"), set: declare("set"), queue: declare("queue"), bag: declare("bag"), counter: declare("counter") });
  // Each key read once, here in the sandbox; a key left out (undefined) is not sent at all.
  const pick = (o, keys) => { const c = {}; for (const k of keys) { const v = o[k]; if (v !== undefined) c[k] = v; } return c; };
  const retryOptions = (o) => (o == null ? undefined : pick(o, ["attempts", "backoff", "timeoutMs"]));
  const sys = Object.freeze({
    fork: (n) => sysCall(SYS.fork, n),
    random: (index, n) => sysCall(SYS.random, index, n),
    time: Object.freeze({ now: () => sysCall(SYS.now), await: (t) => { sysCall(SYS.await, t); } }),
    // Text is made here, in the sandbox: the host never calls back into a value the cell made.
    tty: Object.freeze({ write: (text) => { sysCall(SYS.ttyWrite, String(text)); }, read: (n) => sysCall(SYS.ttyRead, n) }),
    env: Object.freeze({ get: (key) => sysCall(SYS.envGet, key), get args() { return sysCall(SYS.args); } }),
    abort: (reason) => { sysCall(SYS.abort, reason); },
    halt: () => { sysCall(SYS.halt); },
    log: (channel, message) => { sysCall(SYS.log, channel, message); },
    // The options are copied here, in the sandbox: the host never calls a getter the cell made.
    http: Object.freeze({
      get: (url, options) => sysCall(SYS.httpGet, url, options == null ? undefined : { headers: options.headers, maxAge: options.maxAge, timeoutMs: options.timeoutMs }),
      send: (request, options) => sysCall(SYS.httpSend, request == null ? request : pick(request, ["method", "url", "headers", "body"]), retryOptions(options)),
    }),
    fs: Object.freeze({
      read: (root, path) => sysCall(SYS.fsRead, root, path),
      write: (root, path, data, options) => sysCall(SYS.fsWrite, root, { path, data, options: retryOptions(options) }),
    }),
    effects: Object.freeze({ result: (id) => sysCall(SYS.effectsResult, id) }),
  });
  // Besides invariants, what only exploration reads: the values that may be permuted, the states it
  // expands, what must eventually happen, the moves a fair run must take (docs/exploring.md). Symmetric values and fair moves cross as JSON text made here.
  const test = Object.freeze(Object.assign((name, property) => { testIn(name, property); }, {
    symmetric: (name, values) => { testIn(name, JSON.stringify(values) ?? "null", "symmetric"); },
    constraint: (name, property) => { testIn(name, property, "constraint"); },
    eventually: (name, property) => { testIn(name, property, "eventually"); },
    leadsTo: (name, p, q) => { testIn(name, p, "leadsTo", q); },
    fair: (name, method, choices) => { testIn(name, JSON.stringify({ method, choices: choices === undefined ? [] : choices }) ?? "null", "fair"); },
  }));
  // What gui(agent) is given: the person's answers, asked for by key.
  const agent = Object.freeze({
    ask: (key, fallback) => sysCall(SYS.ask, key, fallback),
    choose: (key, options) => sysCall(SYS.choose, key, options),
    show: (view) => { sysCall(SYS.show, view); },
  });
  Object.defineProperty(G, "__loomEnter", { value: () => { enter(); } });

  ${DEEP_FREEZE}
  // The context's global object cannot be frozen; lock each of its properties
  // instead (cells cannot name globalThis to add new ones: the compiler refuses it).
  seen.add(G);
  for (const key of Reflect.ownKeys(G)) {
    const d = Object.getOwnPropertyDescriptor(G, key);
    if ("value" in d) {
      freeze(d.value);
      Object.defineProperty(G, key, { value: d.value, writable: false, configurable: false, enumerable: d.enumerable });
    } else {
      freeze(d.get);
      Object.defineProperty(G, key, { get: d.get, set: d.set, configurable: false, enumerable: d.enumerable });
    }
  }
  freeze(Object.getPrototypeOf(G));

  // What a module's top level declared, made read-only once it has run: a
  // value outside state must not carry anything from one transaction to the
  // next. Maps, sets and dates keep their data in internal slots that
  // Object.freeze does not reach: their own mutators are shadowed instead.
  const sealed = new WeakSet();
  const MUTATORS = [[Map, ["set", "delete", "clear"], "state.map"], [WeakMap, ["set", "delete"], "state.map"],
    [Set, ["add", "delete", "clear"], "state.map or state.bag"], [WeakSet, ["add", "delete"], "state.map or state.bag"]];
  const DATE_SETTERS = Object.getOwnPropertyNames(RealDate.prototype).filter((k) => k.startsWith("set"));
  const readOnly = (path, kind, use) => function () {
    throw new TypeError(path + " (a " + kind + " declared outside state) cannot change once the app has loaded: keep what changes in " + use);
  };
  const sealValue = (o, path) => {
    if ((typeof o !== "object" && typeof o !== "function") || o === null || seen.has(o) || sealed.has(o)) return;
    sealed.add(o);
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) {
      throw new TypeError(path + " holds binary data (" + Object.prototype.toString.call(o) + "), which cannot be made read-only: create it inside the method that uses it, or keep it in state");
    }
    for (const [kind, names, use] of MUTATORS) {
      if (!(o instanceof kind)) continue;
      for (const name of names) Object.defineProperty(o, name, { value: readOnly(path, kind.name, use) });
      if (kind === Map) for (const [k, v] of Map.prototype.entries.call(o)) { sealValue(k, path + " (a key)"); sealValue(v, path + ".get(" + JSON.stringify(k) + ")"); }
      if (kind === Set) for (const v of Set.prototype.values.call(o)) sealValue(v, path + " (an item)");
    }
    if (o instanceof RealDate) for (const name of DATE_SETTERS) Object.defineProperty(o, name, { value: readOnly(path, "Date", "state.var") });
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      const at = path + (typeof key === "string" ? "." + key : "[" + String(key) + "]");
      if ("value" in d) sealValue(d.value, at);
      else { sealValue(d.get, at); sealValue(d.set, at); }
    }
    sealValue(Object.getPrototypeOf(o), path + " (its prototype)");
    Object.freeze(o);
  };
  const seal = (values) => {
    for (const name of Object.keys(values)) {
      try { sealValue(values[name], "'" + name + "'"); } catch (e) { if (e instanceof TypeError) e.binding = name; throw e; }
    }
  };
  // The file line of the loop statement cell code last started (compile.ts runawayMarkers): where a runaway was.
  // A sealed plain object: its data properties can never become getters the host would run by reading them,
  // and a store to it costs what a local's does (a typed array's store is ~100× slower once the intrinsics are frozen).
  // "hits": with explore --coverage, an array with one slot per statement of the instrumented code (engine/replay/coverage.ts).
  const running = Object.seal({ line: 0, hits: null });
  return { state, sys, test, seal, agent, running, Error, Array, JSON, objectProto: Object.prototype, arrayProto: Array.prototype };
})`

/** The constructors of the context's realm that the host uses to hand values in. */
export interface Realm {
  Error: ErrorConstructor
  Array: ArrayConstructor
  JSON: JSON
}

export type AppFunction = (state: unknown, sys: unknown, test: unknown, seal: unknown, running: unknown) => Record<string, unknown>

export type Outcome<T> = { ok: true; value: T } | { ok: false }

export class Sandbox {
  readonly realm: Realm
  private readonly context: vm.Context
  private readonly api: { state: unknown; sys: unknown; test: unknown; seal: unknown }
  /** Made in the context (no host object reaches cell code); the host only reads and clears its line. */
  private readonly running: { line: unknown; hits: unknown }
  /** The `agent` a gui(agent) method is called with (its answers come from the running transaction). */
  readonly agent: unknown
  private readonly entry = new vm.Script('__loomEnter()', { filename: 'loom:batch' })
  private work: (() => unknown) | null = null
  private result: unknown
  private thrown: { err: unknown } | null = null

  constructor(host: HostApi) {
    this.context = vm.createContext(Object.create(null), {
      name: 'loom app',
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
    })
    const boot = new vm.Script(BOOTSTRAP, { filename: 'loom:bootstrap' }).runInContext(this.context)
    const adopt = (err: unknown): unknown => (err instanceof Error ? this.error(err.message) : err)
    // Host errors must not reach cell code: their constructor leads to the host's Function.
    const bridge = {
      declare: (kind: string, name: string, initial: unknown) => {
        try { return host.declare(kind, name, initial) } catch (e) { throw adopt(e) }
      },
      call: (op: number, id: number, a?: unknown, b?: unknown) => {
        try { return host.call(op, id, a, b) } catch (e) { throw adopt(e) }
      },
      sys: (op: number, a?: unknown, b?: unknown) => {
        try { return host.sys(op, a, b) } catch (e) { throw adopt(e) }
      },
      test: (name: string, property: unknown, kind?: string, extra?: unknown) => {
        try { host.test(name, property, kind, extra) } catch (e) { throw adopt(e) }
      },
      enter: () => {
        const work = this.work
        this.work = null // a cell calling __loomEnter() itself finds nothing to run
        if (!work) return
        // What the work throws is the host's business: carried past the context's guard, rethrown by run().
        try {
          this.result = work()
        } catch (err) {
          this.thrown = { err }
        }
      },
    }
    const r = boot(bridge, OP, SYS)
    registerRealm(r.objectProto, r.arrayProto)
    this.realm = { Error: r.Error, Array: r.Array, JSON: r.JSON }
    this.api = { state: r.state, sys: r.sys, test: r.test, seal: r.seal }
    this.running = r.running
    this.agent = r.agent
  }

  /**
   * Runs `work` under a time limit. The limit covers everything `work` does,
   * host code included, so one `runInContext` (≈100 µs) is paid per batch of
   * transactions, not per transaction. `ok: false` when the limit cut it off.
   */
  run<T>(work: () => T, timeoutMs: number): Outcome<T> {
    this.work = work
    this.result = undefined
    this.thrown = null
    try {
      this.entry.runInContext(this.context, { timeout: timeoutMs })
      const thrown = this.thrown as { err: unknown } | null // set by the work, behind the type checker's back
      if (thrown) throw thrown.err
      return { ok: true, value: this.result as T }
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { ok: false }
      throw err
    } finally {
      this.work = null
      this.result = undefined
      this.thrown = null
    }
  }

  /** Evaluates an app's module code to its module function (not yet called). */
  compile(code: string, filename: string): AppFunction {
    return new vm.Script(code, { filename }).runInContext(this.context) as AppFunction
  }

  /** Calls a module function: its top level declares state and tests. Call inside `run`. */
  instantiate(fn: AppFunction): Record<string, unknown> {
    return fn(this.api.state, this.api.sys, this.api.test, this.api.seal, this.running)
  }

  /**
   * Counts statements of code instrumented for coverage (engine/replay/coverage.ts): slot i is set when
   * statement i runs. Returns a reader of the slots set so far.
   */
  countHits(n: number): () => boolean[] {
    const hits = new this.realm.Array(n) as unknown[]
    this.running.hits = hits
    // Read by descriptor: a getter put there is not run.
    return () => Array.from({ length: n }, (_, i) => Object.getOwnPropertyDescriptor(hits, i)?.value === 1)
  }

  /** The file line of the loop statement cell code last started since `clearRunning` (0: none): where a runaway was cut off. */
  runningLine(): number {
    const line = this.running.line
    return Number.isSafeInteger(line) ? (line as number) : 0
  }

  clearRunning(): void {
    try {
      this.running.line = 0
    } catch {
      // A cell froze it: only its own runaways go unlocated.
    }
  }

  /** An error of the context's realm without a captured stack: cheap to throw for an abort. */
  signal(message: string): Error {
    const e = Object.create(this.realm.Error.prototype) as Error
    Object.defineProperty(e, 'message', { value: message, writable: true, configurable: true })
    return e
  }

  /** An error made in the context's realm: safe to throw into cell code. */
  error(message: string): Error {
    return new this.realm.Error(message)
  }
}
