// Liveness (TLC's PROPERTIES) under weak fairness of the app's moves:
// test.eventually(name, P) is `[]<>P` — P holds again and again — and
// test.leadsTo(name, P, Q) is `P ~> Q` — whenever P holds, Q holds then or
// later. A fair run never stands still while the app can move (a move that
// changes nothing does not count); it may stop for ever where nothing can
// move. So a counterexample is a lasso: a prefix from the start, then a cycle
// of states where the awaited predicate never holds, or a state where nothing
// can move and it does not hold. The search tells this module the state graph
// as it finds it (SearchObserver); the check runs once the search is done.
import type { Move, Violation } from './explore.ts'
import { SECOND, type Model } from './model.ts'
import type { Found, StateRef } from './searchTypes.ts'
import type { World } from './worlds.ts'
import { StateGraph } from './stateGraph.ts'

/** A liveness violation: its trace is the prefix and then the cycle; `loop` says where the cycle starts. */
export interface LivenessFound extends Found {
  /** The moves after the prefix: the way from the state P held in to the cycle, then once round it. */
  tail: Move[]
  /** Where in the whole trace (prefix + tail) the repeating part begins; its length: nothing moves any more. */
  loop: number
}

export class LivenessGraph extends StateGraph {
  private readonly labels: number[] = []
  readonly errors: Found[] = []
  /** Properties whose predicates threw somewhere: that error is reported, the property is not judged. */
  private readonly unjudged = new Set<string>()

  constructor(model: Model, draw: boolean) {
    super(model, { all: true, draw })
  }

  override state(id: number, world: World, depth: number): void {
    super.state(id, world, depth)
    // The app before its start() commits is no state of a run (Model.uncounted): nothing holds there but what no run awaits.
    if (id === 0 && this.model.uncounted) {
      this.labels[id] = 0xaaaaaaaa
      return
    }
    const { bits, errors } = this.model.tests.labels(world)
    this.labels[id] = bits
    for (const e of errors) {
      const name = e.test.endsWith(SECOND) ? e.test.slice(0, -SECOND.length) : e.test
      const which = name === e.test ? '' : ' (its second predicate)'
      this.errors.push({ violation: { kind: 'error', test: `property '${name}'${which} runs without an error`, message: e.message, location: e.location }, at: { shard: 0, id }, depth, key: `property:${e.test}` })
      this.unjudged.add(name)
    }
  }

  /** A fair move no state explored has at all names nothing: an error at its declaration, not a vacuous fairness. */
  fairErrors(): Found[] {
    return this.model.version.explore.fair.flatMap((f, i) => {
      if (this.fairSeen & (1 << i)) return []
      const which = f.choices.length ? ` whose first sys.fork answer${f.choices.length === 1 ? ' is' : 's are'} ${f.choices.join(', ')}` : ''
      const message = `no state explored has a move ${f.method}()${which}: check the method and the answers (counted from 0), or remove the declaration`
      return [{ violation: { kind: 'error' as const, test: `fair move '${f.name}' is a move of the app`, message, location: f.at }, at: { shard: 0, id: 0 }, depth: 0, key: `fair:${f.name}:${i}` }]
    })
  }

  /** Every property's shortest-prefix counterexample, if it has one. */
  violations(): LivenessFound[] {
    const found: LivenessFound[] = []
    this.model.version.explore.liveness.forEach((p, i) => {
      if (this.unjudged.has(p.name)) return
      const holdsP = (s: number) => (this.labels[s]! >> (2 * i)) & 1
      const holdsQ = (s: number) => (this.labels[s]! >> (2 * i + 1)) & 1
      // []<>P: from the start, a fair run that ends in states without P. P ~> Q: one from a state with P that ends without Q.
      const awaited = p.kind === 'eventually' ? holdsP : holdsQ
      const from = (s: number) => (p.kind === 'eventually' ? true : holdsP(s) === 1)
      const lasso = this.lassoAvoiding((s) => awaited(s) === 0, from)
      if (!lasso) return
      const message =
        p.kind === 'eventually'
          ? lasso.cycle.length ? 'a fair run goes round a cycle of states where it never holds' : 'a fair run stops in a state where it does not hold: nothing can move there'
          : lasso.cycle.length ? 'it held, and then a fair run goes round a cycle of states where the awaited predicate never holds' : 'it held, and then a fair run stops in a state where the awaited predicate does not hold: nothing can move there'
      found.push({
        violation: { kind: 'liveness', test: p.name, message, location: p.at },
        at: { shard: 0, id: lasso.start },
        depth: this.depth[lasso.start]!,
        key: `liveness:${p.name}`,
        tail: [...lasso.path, ...lasso.cycle],
        loop: lasso.path.length,
      })
    })
    return found
  }

  /**
   * A fair run that, from some state where `from` holds (the shallowest),
   * stays among `bad` states for ever: a path through them to a cycle of
   * them, or to one where nothing moves. Null when there is none.
   */
  private lassoAvoiding(bad: (s: number) => boolean, from: (s: number) => boolean): { start: number; path: Move[]; cycle: Move[] } | null {
    const n = this.labels.length
    const inBad = (s: number) => s < n && bad(s)
    // Where a run can stay among bad states for ever: a bad state where nothing moves, or a cycle of bad states.
    // A cycle counts only if a run round it can be fair to every fair move: see fairIn.
    const ends = new Set<number>()
    const sccOf = new Map<number, Set<number>>()
    for (let s = 0; s < n; s++) if (inBad(s) && !this.outsideIds.has(s) && !(this.next[s]?.length)) ends.add(s)
    for (const list of sccsAmong(n, inBad, (s) => this.next[s] ?? [])) {
      const scc = new Set(list)
      if (list.length > 1 && this.fairIn(scc)) for (const s of list) ends.add(s), sccOf.set(s, scc)
    }
    if (!ends.size) return null
    // Bad states from which such an end is reachable through bad states (backwards from the ends).
    const prev: number[][] = []
    for (let s = 0; s < n; s++) if (inBad(s)) for (const t of this.next[s] ?? []) if (inBad(t)) (prev[t] ??= []).push(s)
    const doomed = new Set(ends)
    const queue = [...ends]
    while (queue.length) for (const s of prev[queue.pop()!] ?? []) if (!doomed.has(s)) doomed.add(s), queue.push(s)
    let start = -1
    for (const s of doomed) if (from(s) && (start < 0 || this.depth[s]! < this.depth[start]!)) start = s
    if (start < 0) return null
    // From the start state, the shortest way through doomed states to an end; then round its cycle.
    const { path, end } = this.shortest(start, (s) => doomed.has(s), (s) => ends.has(s))
    const scc = sccOf.get(end)
    if (!scc) return { start, path, cycle: [] }
    const cycle = this.fairTour(end, scc) ?? this.cycleThrough(end, (s) => scc.has(s))
    return cycle ? { start, path, cycle } : { start, path, cycle: [] }
  }

  /**
   * Whether a run can go round the cycles of `scc` for ever fairly: every
   * fair move is taken on some move within it, or some state of it cannot
   * take it (so it is not possible all along). Going round the whole of it
   * then is fair; if not, no cycle within it is either.
   */
  private fairIn(scc: Set<number>): boolean {
    if (!this.model.version.explore.fair.length) return true
    let taken = 0
    let everywhere = -1
    for (const s of scc) {
      everywhere &= this.fairFrom[s] ?? 0
      ;(this.next[s] ?? []).forEach((t, j) => {
        if (scc.has(t)) taken |= this.fairOn[s]![j]!
      })
    }
    return (everywhere & ~taken) === 0
  }

  /** A way round `scc` from `end` back to it that takes each fair move or passes a state that cannot take it; null when no move is needed. */
  private fairTour(end: number, scc: Set<number>): Move[] | null {
    const within = (s: number) => scc.has(s)
    const moves: Move[] = []
    let at = end
    this.model.version.explore.fair.forEach((_, i) => {
      const bit = 1 << i
      let edge: [number, number] | null = null
      let still = -1
      for (const s of scc) {
        if (!((this.fairFrom[s] ?? 0) & bit)) still = s
        ;(this.next[s] ?? []).forEach((t, j) => {
          if (!edge && scc.has(t) && this.fairOn[s]![j]! & bit) edge = [s, j]
        })
      }
      // Prefer passing a state where the move is not possible: it needs no move of its own.
      const goal = still >= 0 ? still : edge![0]
      const way = this.shortest(at, within, (s) => s === goal)
      moves.push(...way.path)
      at = goal
      if (still < 0) {
        const [s, j] = edge!
        moves.push(this.moves[s]![j]!)
        at = this.next[s]![j]!
      }
    })
    if (!moves.length) return null
    moves.push(...this.shortest(at, within, (s) => s === end).path)
    return moves
  }

  /** Breadth first from `from` through states where `within` holds, to the first where `goal` holds. */
  private shortest(from: number, within: (s: number) => boolean, goal: (s: number) => boolean): { path: Move[]; end: number } {
    const back = new Map<number, [number, Move]>()
    const queue = [from]
    const seen = new Set([from])
    for (let i = 0; i < queue.length; i++) {
      const s = queue[i]!
      if (goal(s)) return { path: this.pathTo(s, from, back), end: s }
      ;(this.next[s] ?? []).forEach((t, j) => {
        if (seen.has(t) || !within(t)) return
        seen.add(t)
        back.set(t, [s, this.moves[s]![j]!])
        queue.push(t)
      })
    }
    return { path: [], end: from }
  }

  /** The shortest cycle from `s` back to `s` through states where `within` holds. */
  private cycleThrough(s: number, within: (s: number) => boolean): Move[] | null {
    const back = new Map<number, [number, Move]>()
    const queue: number[] = []
    const seen = new Set<number>()
    ;(this.next[s] ?? []).forEach((t, j) => {
      if (!within(t) || seen.has(t)) return
      seen.add(t)
      back.set(t, [s, this.moves[s]![j]!])
      queue.push(t)
    })
    for (let i = 0; i < queue.length; i++) {
      const u = queue[i]!
      if (u === s) return this.pathTo(s, s, back)
      for (const [j, t] of (this.next[u] ?? []).entries()) {
        if (t === s) {
          back.set(s, [u, this.moves[u]![j]!])
          return this.pathTo(s, s, back, true)
        }
        if (seen.has(t) || !within(t)) continue
        seen.add(t)
        back.set(t, [u, this.moves[u]![j]!])
        queue.push(t)
      }
    }
    return null
  }

  private pathTo(s: number, from: number, back: Map<number, [number, Move]>, round = false): Move[] {
    const moves: Move[] = []
    let cur = s
    while (round || cur !== from) {
      round = false
      const [prev, move] = back.get(cur)!
      moves.push(move)
      cur = prev
    }
    return moves.reverse()
  }
}

/** Strongly connected components of the states where `member` holds (Tarjan's, without recursion). */
function sccsAmong(n: number, member: (s: number) => boolean, next: (s: number) => readonly number[]): number[][] {
  const index = new Int32Array(n).fill(-1)
  const low = new Int32Array(n)
  const onStack = new Uint8Array(n)
  const stack: number[] = []
  const out: number[][] = []
  let count = 0
  for (let root = 0; root < n; root++) {
    if (!member(root) || index[root] !== -1) continue
    const work: [number, number][] = [[root, 0]]
    index[root] = low[root] = count++
    stack.push(root)
    onStack[root] = 1
    while (work.length) {
      const top = work[work.length - 1]!
      const [v, i] = top
      const succ = next(v)
      if (i < succ.length) {
        top[1]++
        const w = succ[i]!
        if (!member(w)) continue
        if (index[w] === -1) {
          index[w] = low[w] = count++
          stack.push(w)
          onStack[w] = 1
          work.push([w, 0])
        } else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!)
        continue
      }
      work.pop()
      if (work.length) {
        const u = work[work.length - 1]![0]
        low[u] = Math.min(low[u]!, low[v]!)
      }
      if (low[v] === index[v]) {
        const scc: number[] = []
        let w: number
        do {
          w = stack.pop()!
          onStack[w] = 0
          scc.push(w)
        } while (w !== v)
        out.push(scc)
      }
    }
  }
  return out
}

/** The whole trace of a liveness violation: the prefix to its start state, then its tail. */
export function lassoTrace(found: LivenessFound, prefix: (at: StateRef) => Move[]): Pick<Violation, 'trace' | 'loop'> {
  const head = prefix(found.at)
  return { trace: [...head, ...found.tail], loop: head.length + found.loop }
}
