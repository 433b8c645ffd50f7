// What a search is told and what it tells: the states it refers to across
// shards, the violations it finds, the options it runs under, and the
// observer that is told of the state graph as it is found (search.ts).
import type { World } from './worlds.ts'
import type { Action } from './model.ts'
import type { WantedEffect } from './effectOutcomes.ts'
import type { Move, Violation } from './explore.ts'

/** A state of some shard's search. */
export interface StateRef {
  shard: number
  id: number
}

/** A violation found at a state; its trace is made later from parent links. */
export interface Found {
  violation: Omit<Violation, 'trace'>
  at: StateRef
  /** How many transactions from the start that state is. */
  depth: number
  /** One report per key: per test, per erroring place, one deadlock. */
  key: string
}

/** Told of the state graph as it is found (liveness.ts keeps it): one thread's search only. */
export interface SearchObserver {
  /** A state found, its tests checked. Called inside `exec.run`. */
  state(id: number, world: World, depth: number): void
  /** A move from one state to another (or the same); `move` makes its Move. */
  edge(from: number, to: number, move: () => Move): void
  /** A state outside a constraint: not expanded. */
  outside(id: number): void
  /** A state where nothing can move and the app is not finished (reported or not: `--no-deadlock`). */
  deadlock?(id: number): void
}

export interface SearchOptions {
  /** False: a state where nothing can move is counted, not reported (`--no-deadlock`). */
  deadlock?: boolean
  /**
   * A random walk (`--simulate`): each next level is one of the states found,
   * picked by `walk(n)` (0..n-1), and states are told apart only within a level,
   * so a walk may come back to a state an earlier one saw.
   */
  walk?: (n: number) => number
  observer?: SearchObserver
  /** Bytes (encoded) a level may take in memory before it goes to a temporary file (frontier.ts); default FRONTIER_BYTES. */
  frontierBytes?: number
  /** Where a level's temporary file is made (default the system's temporary folder): a confined process's own folder. */
  spillDir?: string
  /** The seen set shared with other threads: this search expands the states it claims there first. */
  shared?: { claim(h1: number, h2: number): boolean; take(): boolean }
}

/** A state to expand, and the thread whose state it is. */
export interface Queued {
  world: World
  id: number
  shard: number
}

/** How big a level may grow in memory, encoded, before the rest of it is spilled to disk (reading a state back costs about 0.1 ms, so only a level that would not fit otherwise). */
export const FRONTIER_BYTES = 2 ** 30

/** The state a search is expanding, and how far it has got. */
export interface Expanding {
  world: World
  id: number
  /** The thread whose state it is (another's when it was moved here to even out a level). */
  shard: number
  /** The transactions that can run in it; null until listed (listing may call clients()). */
  actions: Action[] | null
  /** The one whose choice sequences are being tried. */
  index: number
  leaves: number
  committed: boolean
  /** Some attempt waited for time or tty input: something outside could let it through. */
  external: boolean
  /** The soonest deadline an attempt awaits past the world's clock (0: none): time passing to it is a move. */
  wake: number
  /** An attempt waited for tty input. */
  ttyWait: boolean
  /** Some transaction had more choice sequences than were tried. */
  cut: boolean
  /** The effects attempts waited for, by request hash: each answer to each is a move. */
  effects: Map<string, WantedEffect> | null
}
