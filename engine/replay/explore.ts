// Exhaustive exploration (DESIGN §6): breadth first over every sequence of
// transactions from a starting state, each under every sequence of its
// choices, deduplicating states by their canonical text and checking every
// test on every state found. Breadth first means the first trace found to a
// failure is a shortest one.
import { EveryChoiceAgent } from '../runtime/agent.ts'
import type { MethodName } from '../runtime/compile.ts'
import type { Choice, SourceLocation } from '../runtime/event.ts'
import { outcomeOf, type Model, type World } from './model.ts'
import type { Outcome } from './memo.ts'

export interface ExploreOptions {
  /** Transactions from the start beyond which states are not expanded (default: no bound). */
  depth?: number
  /** Distinct states after which the search stops (default 1,000,000). */
  maxStates?: number
  /** Choice sequences one transaction may have before exploration gives up on its rest (default 10,000). */
  maxOutcomes?: number
  /** Called about every 100 ms with the counts so far. */
  onProgress?: (progress: { states: number; transitions: number; depth: number }) => void
}

/** One transaction of a trace: which method ran and how its choices were answered. */
export interface Move {
  method: MethodName
  choices: Choice[]
}

export interface Violation {
  /** 'test': a test returned false or threw; 'deadlock': every transaction waits and nothing outside can help; 'error': a transaction threw. */
  kind: 'test' | 'deadlock' | 'error'
  /** The test's name; for a deadlock or an error, the implicit property that broke. */
  test: string
  message: string
  location: SourceLocation | null
  /** A shortest sequence of committed transactions from the start to the state where it happens. */
  trace: Move[]
  /** For an error: the transaction that throws in that state. */
  failing?: Move
}

export interface ExploreResult {
  /** Distinct states found (the start included). */
  states: number
  /** Committed transactions run, to new states or to ones seen before. */
  transitions: number
  /** The most transactions from the start to a state found. */
  depth: number
  /** True when every reachable state was found and checked. */
  exhausted: boolean
  /** What stopped the search short, when it was: the depth bound, the state bound, or a transaction with too many outcomes. */
  stoppedBy: 'depth' | 'states' | 'outcomes' | null
  /** States where every transaction waits and nothing outside the app could change that. */
  deadlocks: number
  violations: Violation[]
  elapsedMs: number
}

const BATCH_MS = 10

/** Explores every state reachable from the model's start. */
export function explore(model: Model, options: ExploreOptions = {}): ExploreResult {
  const search = new Search(model, options)
  const sandbox = model.exec.sandbox
  const limit = model.exec.config.timeLimitMs
  let lastProgress = performance.now()
  const work = () => {
    const t0 = performance.now()
    let n = 0
    while (search.advance()) {
      if ((++n & 31) === 0 && performance.now() - t0 > BATCH_MS) return
    }
  }
  while (!search.done) {
    const out = sandbox.run(work, limit + BATCH_MS)
    if (!out.ok) search.timedOut()
    if (options.onProgress && performance.now() - lastProgress > 100) {
      lastProgress = performance.now()
      options.onProgress({ states: search.states, transitions: search.transitions, depth: search.depth })
    }
  }
  return search.result()
}

interface Expanding {
  world: World
  id: number
  method: MethodName
  leaves: number
  committed: boolean
  /** Some attempt waited for time or tty input: something outside could let it through. */
  external: boolean
}

/** The search as a resumable machine: `advance` runs one transaction, so a time-out loses nothing. */
class Search {
  states = 0
  transitions = 0
  depth = 0
  done = false
  private deadlocks = 0
  private stoppedBy: ExploreResult['stoppedBy'] = null
  private readonly seen = new Map<string, number>()
  /** Per state id: the state it was first reached from, and how. */
  private readonly parent: number[] = []
  private readonly via: (Move | null)[] = []
  private level: { world: World; id: number }[] = []
  private next: { world: World; id: number }[] = []
  private index = 0
  private cur: Expanding | null = null
  /** A state found but not yet checked against the tests (checked by the next `advance`, under the time limit). */
  private unchecked: { world: World; id: number } | null = null
  private checking: number | null = null
  private readonly agent = new EveryChoiceAgent()
  private readonly violations: Violation[] = []
  private readonly reported = new Set<string>()
  private readonly maxDepth: number
  private readonly maxStates: number
  private readonly maxOutcomes: number
  private readonly started = performance.now()

  constructor(private readonly model: Model, options: ExploreOptions) {
    this.maxDepth = options.depth ?? Infinity
    this.maxStates = options.maxStates ?? 1_000_000
    this.maxOutcomes = options.maxOutcomes ?? 10_000
    if (!(this.maxDepth >= 0) || !(this.maxStates >= 1) || !(this.maxOutcomes >= 1)) throw new RangeError('exploration bounds are whole numbers: depth ≥ 0, states and outcomes ≥ 1')
    const root = model.root
    this.level.push({ world: root, id: this.add(root, -1, null, model.key(root)) })
  }

  /** Runs the next transaction of the search; false when the search is over or must yield. */
  advance(): boolean {
    if (this.done) return false
    if (this.unchecked) {
      const { world, id } = this.unchecked
      this.unchecked = null
      this.checking = id
      for (const f of this.model.brokenTests(world)) {
        this.report({ kind: 'test', test: f.test, message: f.message, location: f.location, trace: this.trace(id) }, `test:${f.test}`)
      }
      this.checking = null
      return true
    }
    if (!this.cur && !this.begin()) return false
    const cur = this.cur!
    this.settle(cur, this.model.outcome(cur.world, cur.method, this.agent))
    return !this.done
  }

  /** The batch was cut off by the time limit: the transaction (or test) running then overran. */
  timedOut(): void {
    const exec = this.model.exec
    const tx = exec.cur
    exec.cur = null
    if (!tx) return
    tx.failure = { reason: `ran past its time limit of ${exec.config.timeLimitMs} ms`, aborted: false, location: this.model.app.methodAt[tx.method as MethodName] ?? null }
    if (tx.kind === 'test' && this.checking !== null) {
      // A test overran: that state's later tests go unchecked.
      this.report({ kind: 'test', test: tx.method!, message: tx.failure.reason, location: null, trace: this.trace(this.checking) }, `test:${tx.method}`)
      this.checking = null
    } else if (this.cur) this.settle(this.cur, outcomeOf(tx))
  }

  /** Starts expanding the next state of the level; false when the search is over. */
  private begin(): boolean {
    for (;;) {
      if (this.index >= this.level.length) {
        if (!this.next.length) return this.finish(null)
        this.depth++
        this.level = this.next
        this.next = []
        this.index = 0
        if (this.depth >= this.maxDepth) return this.finish('depth')
      }
      const { world, id } = this.level[this.index++]!
      const method = this.model.methodAt(world)
      if (!method) continue
      this.agent.reset()
      this.cur = { world, id, method, leaves: 0, committed: false, external: false }
      return true
    }
  }

  /** Takes in one transaction's outcome and moves the agent to the next choice sequence. */
  private settle(cur: Expanding, tx: Outcome): void {
    cur.leaves++
    if (!tx.failure) {
      cur.committed = true
      this.transitions++
      const key = this.model.nextKey(cur.world, tx, cur.method)
      if (!this.seen.has(key)) {
        if (this.states >= this.maxStates) {
          this.finish('states')
          return
        }
        const world = this.model.after(cur.world, tx, cur.method)
        // A memo leaf's choices are never changed: the move can share them.
        const id = this.add(world, cur.id, { method: cur.method, choices: tx.choices }, key)
        this.next.push({ world, id })
      }
    } else if (tx.failure.aborted) {
      cur.external ||= tx.external
    } else {
      const failing = { method: cur.method, choices: tx.choices.slice() }
      const message = `${cur.method}() ${tx.failure.reason.startsWith('ran past') ? '' : 'throws: '}${tx.failure.reason}`
      const where = tx.failure.location ? `${tx.failure.location.cell}:${tx.failure.location.line}` : tx.failure.reason
      this.report({ kind: 'error', test: `${cur.method}() runs without an error`, message, location: tx.failure.location, trace: this.trace(cur.id), failing }, `error:${cur.method}@${where}`)
    }
    if (!this.agent.next(tx.choices.length)) this.end(cur, true)
    else if (cur.leaves >= this.maxOutcomes) {
      // The rest of this transaction's choices go unexplored: the search can no longer be exhaustive.
      this.stoppedBy ??= 'outcomes'
      this.end(cur, false)
    }
  }

  private end(cur: Expanding, complete: boolean): void {
    this.cur = null
    if (complete && !cur.committed && !cur.external && !this.model.takesInput) {
      this.deadlocks++
      this.report({ kind: 'deadlock', test: 'no deadlock', message: `every way ${cur.method}() can go waits, and nothing outside the app can change that`, location: this.model.app.methodAt[cur.method] ?? null, trace: this.trace(cur.id) }, 'deadlock')
    }
  }

  private add(world: World, parent: number, via: Move | null, key: string): number {
    const id = this.states++
    this.seen.set(key, id)
    this.parent.push(parent)
    this.via.push(via)
    this.unchecked = { world, id }
    return id
  }

  /** The first (so shortest) of each kind of violation. */
  private report(v: Violation, key: string): void {
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.violations.push(v)
  }

  private trace(id: number): Move[] {
    const moves: Move[] = []
    for (let i = id; i > 0; i = this.parent[i]!) moves.push(this.via[i]!)
    return moves.reverse()
  }

  private finish(stoppedBy: ExploreResult['stoppedBy']): false {
    if (stoppedBy) this.stoppedBy = stoppedBy
    this.done = true
    this.cur = null
    return false
  }

  result(): ExploreResult {
    return {
      states: this.states,
      transitions: this.transitions,
      depth: this.depth,
      exhausted: this.stoppedBy === null,
      stoppedBy: this.stoppedBy,
      deadlocks: this.deadlocks,
      violations: this.violations,
      elapsedMs: performance.now() - this.started,
    }
  }
}
