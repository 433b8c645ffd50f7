// The API inside a Loom cell (DESIGN §3): what Monaco knows about `state`,
// `sys` and `test`. The real surface is engine/runtime/sandbox.ts; keep the two in step.

/** Plain data: the only values state may hold. Values read from state are frozen. */
type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json }

/** A single persistent value. */
interface LoomVar<T> {
  get(): T
  set(value: T): void
  /** Sets the value to `f(current)`. */
  update(f: (value: T) => T): void
}

/** A persistent map from string keys; reads and writes are tracked per key. */
interface LoomMap<V> {
  get(key: string): V | undefined
  set(key: string, value: V): void
  delete(key: string): void
  has(key: string): boolean
  keys(): string[]
  values(): V[]
  entries(): [string, V][]
  size(): number
}

/** A first-in first-out queue. */
interface LoomQueue<T> {
  push(value: T): void
  /** Takes the front element; on an empty queue the transaction aborts and waits for a push. */
  take(): T
  peek(): T | undefined
  size(): number
  items(): T[]
}

/** An unordered collection: which element `take()` returns is a fair, recorded, non-deterministic choice. */
interface LoomBag<T> {
  put(value: T): void
  /** Takes an element (chosen by the agent); on an empty bag the transaction aborts and waits. */
  take(): T
  size(): number
  items(): T[]
}

/**
 * A set of plain values, canonical like a mathematical set: elements are told
 * apart by value (`{ a: 1, b: 2 }` and `{ b: 2, a: 1 }` are one), listed in one
 * order, and `has(x)` depends on x alone, not on the whole set.
 */
interface LoomSet<T> {
  has(value: T): boolean
  add(value: T): void
  delete(value: T): void
  /** Every element, in canonical order (reads the whole set). */
  values(): T[]
  size(): number
}

/** A number that only grows by `add`; concurrent adds never conflict. */
interface LoomCounter {
  add(n: number): void
  get(): number
}

/** Declares persistent state. Declarations run once at load, in order, at the top level of a cell. */
// The type parameters are not constrained to Json: a constraint that includes
// string would make `state.var('line', '')` a var of the literal type "".
// Values are checked when written (a function or NaN aborts the transaction).
declare const state: {
  var<T>(name: string, initial: T): LoomVar<T>
  map<V>(name: string, initial?: { readonly [key: string]: V }): LoomMap<V>
  queue<T>(name: string, initial?: readonly T[]): LoomQueue<T>
  bag<T>(name: string, initial?: readonly T[]): LoomBag<T>
  set<T>(name: string, initial?: readonly T[]): LoomSet<T>
  counter(name: string, initial?: number): LoomCounter
}

/** Every effect and every source of non-determinism; all of it is recorded in the event. */
declare const sys: {
  /** An integer in 0..n-1, fairly chosen by the agent (the scheduler, exploration, or you at the agent panel). */
  fork(n: number): number
  /** A stable, unpredictable integer in 0..n-1: the same arguments give the same answer. */
  random(index: number | string, n: number): number
  readonly time: {
    /** The transaction's commit time in ms since the epoch; constant within a transaction. */
    now(): number
    /** Aborts unless now() >= t; the transaction is retried when the time comes. */
    await(t: number): void
  }
  readonly tty: {
    /** Writes to the terminal when the transaction commits. */
    write(text: string): void
    /** Exactly n characters of input, or the transaction waits for them. */
    read(n: number): string
  }
  readonly env: {
    get(key: string): string | undefined
    readonly args: readonly string[]
  }
  /** Aborts this transaction; it is retried when something it read changes. */
  abort(reason?: string): never
  /** When this transaction commits, the app stops. */
  halt(): void
  /** A structured log line kept with the event. */
  log(channel: string, message: Json): void
  /** Safe reads of other systems, where the front matter's `effects.http` grants the origin (docs/effects.md). */
  readonly http: {
    /**
     * The response to a GET: the first time the transaction waits while Loom reads it, then the
     * recorded response is reused until it is older than `maxAge` ms (in event time). Redirects are
     * not followed. A failed read (refused, timed out) throws.
     */
    get(url: string, options?: { headers?: Record<string, string>; maxAge?: number; timeoutMs?: number }): { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string }
    /**
     * An action: sent only after this transaction commits, at least once (retried on no answer, 5xx or
     * 429, `attempts` times in all, waiting `backoff` ms and then twice as long each time), with its id as
     * the `Idempotency-Key` header. Returns the id; the outcome comes in a later transaction.
     */
    send(request: { method?: string; url: string; headers?: Record<string, string>; body?: Json }, options?: ActionOptions): string
  }
  /** Files under the roots the front matter's `effects.fs` names (docs/effects.md). */
  readonly fs: {
    /** A file's text, `path` relative to the root and inside it; read once, then reused from the log. */
    read(root: string, path: string): string
    /** An action: writes the whole file after this transaction commits (the root needs `write: true`). Returns the id. */
    write(root: string, path: string, data: Json, options?: ActionOptions): string
  }
  /** The outcomes of actions. */
  readonly effects: {
    /** The outcome of the action `id` (from send or write): the transaction waits until there is one (a test, which cannot wait, gets null). */
    result(id: string): ActionOutcome
  }
}

/** How hard an action is tried: `attempts` in all (default 3), `backoff` ms before the second (default 200), `timeoutMs` each (default 30000). */
interface ActionOptions {
  attempts?: number
  backoff?: number
  timeoutMs?: number
}

/** How an action ended; also what `effect(result)` receives. */
interface ActionOutcome {
  readonly id: string
  readonly ok: boolean
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  readonly error?: string
  readonly tries: number
  /** Only in an outcome exploration gave: the fault it stands for; `lost` means the other system acted and its answer never came. */
  readonly fault?: 'timeout' | 'refused' | '5xx' | 'failed' | 'lost'
}

/** An invariant over state, checked after every commit in debug runs, by `loom test`, and during exploration. */
declare function test(name: string, property: () => boolean): void
/** What only `loom explore` reads (docs/exploring.md, "For TLA+ users"); `loom run` and `loom test` ignore it. */
declare namespace test {
  /** These values can be permuted without changing what the app can do (TLC's SYMMETRY): states equal up to a permutation are one. */
  function symmetric(name: string, values: readonly string[]): void
  /** Exploration expands only states where this holds (TLC's CONSTRAINT); the others are found and checked, not expanded. */
  function constraint(name: string, property: () => boolean): void
  /** Always eventually: on every fair run, `property` holds again and again (`[]<>P`). */
  function eventually(name: string, property: () => boolean): void
  /** Whenever `p` holds, `q` holds then or later, on every fair run (`P ~> Q`). */
  function leadsTo(name: string, p: () => boolean, q: () => boolean): void
  /** A fair run does not keep this move possible for ever without taking it (TLA+'s WF_vars(A)): `method` whose first sys.fork answers are `choices`. */
  function fair(name: string, method: 'start' | 'step' | 'http' | 'gui', choices?: readonly number[]): void
}

/** What `http(req)` receives. */
interface HttpRequest {
  method: string
  path: string
  query: { readonly [name: string]: string }
  headers: { readonly [name: string]: string }
  body: string
}

/** What `http(req)` returns: a string body is sent as it is, plain data as JSON. Nothing returned is 204. */
interface HttpResponse {
  status?: number
  headers?: { [name: string]: string | number }
  body?: Json
}

/** What `gui(agent)` receives: the questions a person answers in the agent panel before committing. */
interface LoomAgent {
  /** The answer to a question (any plain data the person gives), or `defaultValue` until they answer. */
  ask(key: string, defaultValue: Json): Json
  /** One of `options`, as the person picks it (the first until they do). */
  choose<T>(key: string, options: readonly T[]): T
  /** Shows a view of what the transaction will do, before it commits. */
  show(view: Json): void
}

/** Logs to the event's `console` (or `warn`, `error`) channel. */
declare const console: {
  log(...values: unknown[]): void
  info(...values: unknown[]): void
  debug(...values: unknown[]): void
  warn(...values: unknown[]): void
  error(...values: unknown[]): void
}
