// Exhaustive exploration (DESIGN §6): breadth first over every sequence of
// moves from a starting state — the app's transactions, each under every
// sequence of its choices, the recorded inputs and client requests it may
// get, the clock moving on to an awaited deadline — deduplicating states by
// their canonical text and checking every test on every state found.
// Breadth first means the first trace found to a failure is a shortest one.
// docs/exploring.md is the user's side of it.
import type { MethodName } from '../runtime/compile.ts'
import type { Choice, SourceLocation } from '../runtime/event.ts'
import type { Json } from '../runtime/values.ts'
import type { Model } from './model.ts'
import { mix } from '../runtime/agent.ts'
import { Search } from './search.ts'
import { levelBatches } from './levelBatches.ts'
import type { Found, StateRef } from './searchTypes.ts'
import { unexploredEffects, type Fault } from './effectOutcomes.ts'
import { LivenessGraph, lassoTrace } from './liveness.ts'
import { StateGraph, type DrawnGraph } from './stateGraph.ts'
import type { Coverage } from './coverage.ts'

export interface ExploreOptions {
  /** Transactions from the start beyond which states are not expanded (default: no bound). */
  depth?: number
  /** Distinct states after which the search stops (default 1,000,000). */
  maxStates?: number
  /** Choice sequences one transaction may have before exploration gives up on its rest (default 10,000). */
  maxOutcomes?: number
  /** False: a state where nothing can move is not reported (TLC's CHECK_DEADLOCK FALSE; `--no-deadlock`). Default true. */
  deadlock?: boolean
  /** Called about every 100 ms with the counts so far. */
  onProgress?: (progress: Progress) => void
  /**
   * Aborted (Ctrl+C, SIGTERM, a stop): the search ends at its next batch with what it found so far,
   * `stoppedBy: 'stopped'` — or `'memory'` when aborted with the reason 'memory' (near the heap limit).
   */
  signal?: AbortSignal
  /**
   * `--simulate`: instead of every state, `walks` random walks from the start, each to a state
   * with no successor or to `depth` (default 100), picked by a generator seeded with `seed`
   * (so a seed repeats its walks). Never exhaustive: `stoppedBy: 'walks'`.
   */
  simulate?: { seed: number; walks: number }
  /** Keep the state graph to draw when it has at most GRAPH_STATES states (the window; `--graph`): ExploreResult.graph. */
  draw?: boolean
  /** Bytes (compactly encoded) a level of the search may take in memory before it is spilled to a temporary file (default FRONTIER_BYTES). */
  frontierBytes?: number
  /** Where those files are made (default the system's temporary folder): `loom explore`'s confined process may write only its own folder. */
  spillDir?: string
}

/** How deep a random walk goes when no --depth is given. */
export const WALK_DEPTH = 100

export interface Progress {
  states: number
  transitions: number
  depth: number
}

/**
 * One move of a trace: a transaction — which method ran, how its choices
 * were answered, and its input (a request, or gui answers as {answers}) — or
 * one that is no transaction: the clock moving on to `time` ('clock'), or
 * recorded tty input typed ('tty', the characters as `input`), or the world
 * answering an effect ('effect': an EffectMoveInput as `input`, committed as
 * an `effect` event).
 */
export interface Move {
  method: MethodName | 'clock' | 'tty' | 'effect'
  choices: Choice[]
  input?: Json
  /** The clock it ran at (or moved to), where not the start's. */
  time?: number
  /** Tty input typed and not read yet when it ran. */
  typed?: string
  /** The recorded input it delivers: the event that carried it in the log. */
  recorded?: number
  /** A request the notebook's clients() sent. */
  client?: boolean
  /** For an effect answered with a fault: which. */
  fault?: Fault
  /** The ids of the actions it made (sys.http.send, sys.fs.write), in order. */
  made?: string[]
  /** An action's outcome recorded without effect(result), which failed on it. */
  bare?: boolean
}

export interface Violation {
  /**
   * 'test': a test returned false or threw; 'deadlock': every transaction waits and nothing outside can help; 'error': a transaction threw;
   * 'liveness': a fair run along which a test.eventually or test.leadsTo property fails (a lasso: `trace` and `loop`).
   */
  kind: 'test' | 'deadlock' | 'error' | 'liveness'
  /** The test's name; for a deadlock or an error, the implicit property that broke. */
  test: string
  message: string
  location: SourceLocation | null
  /** A shortest sequence of committed transactions from the start to the state where it happens. */
  trace: Move[]
  /** For an error: the transaction that throws in that state. */
  failing?: Move
  /**
   * For a liveness violation: the moves from index `loop` on go round a cycle back to the state after the
   * first `loop` moves, for ever; `loop` equal to the trace's length: nothing can move in its last state.
   */
  loop?: number
  /** With a drawn graph: the states along the trace, by their ids in it (one more than the moves: the start first). */
  path?: number[]
}

export interface ExploreResult {
  /** Distinct states found: the start, or with a start(), the states it commits (the app before it is not counted: Model.uncounted). */
  states: number
  /** Committed transactions run, to new states or to ones seen before. */
  transitions: number
  /** The most transactions from the start to a state found. */
  depth: number
  /** True when every reachable state was found and checked. */
  exhausted: boolean
  /** What stopped the search short, when it was: the depth bound, the state bound, a transaction with too many outcomes, or a stop asked for (`signal`). */
  stoppedBy: 'depth' | 'states' | 'outcomes' | 'stopped' | 'memory' | 'walks' | null
  /** `--simulate`: the walks taken (each at most `depth` transactions long) and the seed that repeats them. */
  walks?: { walks: number; depth: number; seed: number }
  /** States where every transaction waits and nothing outside the app could change that (counted, not reported, with `deadlock: false`). */
  deadlocks: number
  /** States found outside a constraint (test.constraint): among `states`, checked, not expanded. TLC's count leaves them out. */
  outside: number
  /** `--coverage`: per cell, its lines with statements and which never ran. */
  coverage?: Coverage[]
  /** With `draw`: the state graph, or null when it had more than GRAPH_STATES states (or GRAPH_EDGES edges) to draw. */
  graph?: DrawnGraph | null
  violations: Violation[]
  /**
   * Inputs the app takes that exploration did not give it, in words (empty:
   * none): with any, "no violation" is not "every reachable state".
   */
  unexplored: string[]
  /** Levels of the search that went to a temporary file because they passed `frontierBytes` (absent: none). */
  spilled?: number
  elapsedMs: number
}

/** Explores every state reachable from the model's start, on this thread. */
export function explore(model: Model, options: ExploreOptions = {}): ExploreResult {
  const run = exploring(model, options)
  for (;;) {
    const r = run.next()
    if (r.done) return r.value
  }
}

/**
 * The same search, handing control back after each batch of about 10 ms: a
 * host that must stay responsive (the engine process) does other work there.
 */
export function* exploring(model: Model, options: ExploreOptions = {}): Generator<void, ExploreResult> {
  const started = performance.now()
  const sim = options.simulate
  const bounds = boundsOf(sim ? { ...options, depth: options.depth ?? WALK_DEPTH } : options)
  let picks = 0
  const walk = sim ? (n: number) => mix(sim.seed, picks++) % n : undefined
  // Liveness needs the whole state graph: an exhaustive search on this thread, not random walks.
  const draw = !!options.draw && !sim
  const liveness = model.version.explore.liveness.length && !sim ? new LivenessGraph(model, draw) : null
  const graph = liveness ?? (draw ? new StateGraph(model, { all: false, draw }) : null)
  const search = new Search(model, bounds.maxOutcomes, bounds.maxStates - 1, { deadlock: options.deadlock, walk, observer: graph ?? undefined, frontierBytes: options.frontierBytes, spillDir: options.spillDir })
  let walks = 0
  let deepest = 0
  let lastProgress = performance.now()
  const tick = () => {
    if (options.onProgress && performance.now() - lastProgress > 100) {
      lastProgress = performance.now()
      options.onProgress({ states: search.states, transitions: search.transitions, depth: search.depth })
    }
  }
  search.seed()
  let stoppedBy: ExploreResult['stoppedBy'] = null
  // However it ends (a bound, a stop, an error, a host dropping it), spilled levels' files are let go.
  try {
    for (;;) {
      for (const _ of levelBatches(search, model)) {
        tick()
        yield
        if (options.signal?.aborted) break
      }
      if (options.signal?.aborted) {
        stoppedBy = stoppedWhy(options.signal)
        break
      }
      if (search.full) {
        stoppedBy = 'states'
        break
      }
      // A walk ends where nothing follows or at the depth bound; the next one sets out from the start.
      if (sim && (!search.frontier || search.depth + 1 >= bounds.maxDepth)) {
        deepest = Math.max(deepest, search.depth + (search.frontier ? 1 : 0))
        if (++walks >= sim.walks) {
          stoppedBy = 'walks'
          break
        }
        search.restart()
        continue
      }
      if (!search.frontier) break
      search.nextLevel()
      // The states at the bound are found and their tests checked; their successors are not.
      if (search.depth >= bounds.maxDepth) {
        stoppedBy = 'depth'
        break
      }
    }
  } finally {
    search.close()
  }
  if (!stoppedBy && search.cutOutcomes) stoppedBy = 'outcomes'
  const trail = (at: StateRef) => traceOf(at, (ref) => search.trail(ref.id))
  // With a graph to draw, each trace's states by id: parent links back to the start, then a lasso's own moves on.
  const ids = (at: StateRef) => {
    const out: number[] = []
    for (let r: StateRef | null = at; r; r = search.trail(r.id).parent) out.push(r.id)
    return out.reverse()
  }
  const violations: Violation[] = pickFirst(liveness ? [...search.found, ...liveness.errors] : search.found).map(({ violation, at }) => ({ ...violation, trace: trail(at), ...(draw ? { path: ids(at) } : {}) }))
  const unexplored = unexploredBy(model, search)
  if (liveness && !stoppedBy) {
    for (const f of liveness.violations()) {
      const path = draw ? ids(f.at) : []
      if (draw) for (const m of f.tail) path.push(liveness.target(path[path.length - 1]!, m) ?? -1)
      violations.push({ ...f.violation, ...lassoTrace(f, trail), ...(draw ? { path } : {}) })
    }
    for (const f of liveness.fairErrors()) violations.push({ ...f.violation, trace: [] })
  } else if (model.version.explore.liveness.length) unexplored.push(livenessUnchecked(sim ? 'random walks do not find every cycle' : 'the search did not reach every state'))
  const drawn = graph?.drawn() ?? null
  if (!drawn) for (const v of violations) delete v.path
  return {
    ...(draw ? { graph: drawn } : {}),
    states: search.states - model.uncounted, transitions: search.transitions, depth: sim ? Math.max(deepest, search.depth) : search.depth, exhausted: stoppedBy === null, stoppedBy,
    deadlocks: search.deadlocks, outside: search.outside, violations, unexplored, elapsedMs: performance.now() - started,
    ...(sim ? { walks: { walks, depth: bounds.maxDepth, seed: sim.seed } } : {}),
    ...(model.coverage ? { coverage: model.coverage() } : {}),
    ...(search.spilled ? { spilled: search.spilled } : {}),
  }
}

/**
 * What the app takes from outside that exploration did not give it: an
 * http() with no client model and no recorded requests, gui(agent) with no
 * recorded commits, tty input it waited for and did not have, client
 * requests past the budget, what the log recorded past the inputs delivered.
 */
export function unexploredBy(model: Model, seen: { ttyUnfed: boolean; budgetReached: boolean; outside: number; interrupted: number }): string[] {
  const out: string[] = []
  const m = model.version.methods
  const recorded = (kind: string) => model.recorded.some((r) => r.kind === kind)
  const none = model.from ? `the log recorded none after event ${model.from.seq}` : 'explore from a recorded moment to deliver the ones a log recorded: --from DB --at S, or in the window an earlier event'
  if (m.http && !m.clients && !recorded('http')) out.push(`HTTP requests — the notebook has http() but no clients() model and no recorded requests (${none})`)
  if (m.gui && !recorded('gui')) out.push(`agent commits — the notebook has gui(agent) and exploration has no recorded commits to deliver (${none})`)
  if (seen.ttyUnfed) out.push(`tty input — a transaction waits for sys.tty.read and exploration had no ${recorded('tty') ? 'more ' : ''}recorded input to type (${none})`)
  if (seen.budgetReached) out.push(`more than ${model.requests} client request${model.requests === 1 ? '' : 's'} along a trace — clients() may send more (--requests N)`)
  // Effects are inputs from the world: each gets its recorded responses and the faults asked for; what it did not get is said.
  out.push(...unexploredEffects(model.effectChoices))
  out.push(...model.left)
  if (seen.outside) out.push(outsideWords(model.version.explore.constraints.map((c) => c.name), seen.outside))
  // Never a wrong count in silence: a busy machine makes the result a doubt, said, not a proof.
  if (seen.interrupted) out.push(`certainty — the machine was too busy: ${seen.interrupted} batch${seen.interrupted === 1 ? '' : 'es'} of exploration ran past the time limit with no transaction to blame and resumed, so a state may be counted twice or missed; explore again on a quieter machine`)
  return out
}

/** Liveness properties declared and not checked, in words. */
export function livenessUnchecked(why: string): string {
  return `liveness — the test.eventually and test.leadsTo properties were not checked: ${why}`
}

/** States outside the constraints, in words: how many were found (and checked) but not expanded. */
export function outsideWords(names: string[], count: number): string {
  const which = names.map((n) => `'${n}'`).join(', ')
  return `what follows ${count.toLocaleString('en')} state${count === 1 ? '' : 's'} outside the constraint${names.length === 1 ? '' : 's'} ${which} — found and their tests checked, not expanded (test.constraint)`
}

/** Why an aborted search stopped: near the memory limit, or asked to. */
export function stoppedWhy(signal: AbortSignal): 'memory' | 'stopped' {
  return signal.reason === 'memory' ? 'memory' : 'stopped'
}

export interface Bounds {
  maxDepth: number
  maxStates: number
  maxOutcomes: number
}

export function boundsOf(options: ExploreOptions): Bounds {
  const b = { maxDepth: options.depth ?? Infinity, maxStates: options.maxStates ?? 1_000_000, maxOutcomes: options.maxOutcomes ?? 10_000 }
  if (!(b.maxDepth >= 1) || !(b.maxStates >= 1) || !(b.maxOutcomes >= 1)) throw new RangeError('exploration bounds are whole numbers of at least 1 (depth, states, outcomes)')
  return b
}

/** The shallowest report of each kind (per test, per erroring place, one deadlock). */
export function pickFirst(found: readonly Found[]): Found[] {
  const best = new Map<string, Found>()
  for (const f of found) {
    const b = best.get(f.key)
    if (!b || f.depth < b.depth) best.set(f.key, f)
  }
  return [...best.values()].sort((a, b) => a.depth - b.depth)
}

/** The moves from the start to a state, following parent links (in any shard). */
export function traceOf(at: StateRef, trail: (ref: StateRef) => { parent: StateRef | null; move: Move | null }): Move[] {
  const moves: Move[] = []
  for (let ref: StateRef | null = at; ref; ) {
    const { parent, move } = trail(ref)
    if (move) moves.push(move)
    ref = parent
  }
  return moves.reverse()
}

