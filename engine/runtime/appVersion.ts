// A notebook's code as the executor holds it: its compiled app, its methods
// and tests once loaded, and what is wrong when it cannot load.
import { basename } from 'node:path'
import type { CompiledApp, MethodName } from './compile.ts'
import type { Notebook } from './notebook.ts'
import type { SourceLocation } from './event.ts'
import { loomError, LoomFailure, type LoomErrorCode, type Where } from '../protocol/loomError.ts'

/** A code version loaded into the sandbox. */
export interface AppVersion {
  app: CompiledApp
  filename: string
  methods: Partial<Record<MethodName, (...args: unknown[]) => unknown>>
  tests: { name: string; property: () => unknown; at: SourceLocation | null }[]
  /** What only exploration reads (`test.symmetric`, `test.constraint`, `test.eventually`, `test.leadsTo`, `test.fair`). */
  explore: ExploreDeclarations
}

/** A predicate over state a notebook declares, checked like a test (read-only, under the time limit). */
export interface Predicate {
  name: string
  property: () => unknown
  at: SourceLocation | null
}

export interface ExploreDeclarations {
  /** Values that can be permuted without changing what can happen (TLC's SYMMETRY): states equal up to a permutation are one. */
  symmetric: { name: string; values: string[]; at: SourceLocation | null }[]
  /** Only states where each holds are expanded (TLC's CONSTRAINT). */
  constraints: Predicate[]
  /** Liveness under weak fairness of step(): `[]<>P` ('eventually') or `P ~> Q` ('leadsTo', `then` is Q). */
  liveness: (Predicate & { kind: 'eventually' | 'leadsTo'; then?: () => unknown })[]
  /** Moves treated fairly (TLA+'s WF_vars(A)): `method` run with its first choices answered `choices`. */
  fair: FairMove[]
}

/** A move a fair run cannot keep possible for ever without taking it: `method` whose first sys.fork answers are `choices`. */
export interface FairMove {
  name: string
  method: string
  choices: number[]
  at: SourceLocation | null
}

/** An app that declares none of them. */
export const NO_EXPLORE_DECLARATIONS: ExploreDeclarations = Object.freeze({ symmetric: [], constraints: [], liveness: [], fair: [] })

/** A notebook whose code loaded but whose top level is wrong (duplicate state, a thrown error…). */
export class LoadError extends LoomFailure {
  constructor(message: string, where?: Where, code: LoomErrorCode = 'load') {
    super(loomError(code, message, where))
  }
}

/** The seed of `sys.random` and of the fair agent: the notebook's `seed:` setting, else one made from the file name. */
export function notebookSeed(notebook: Notebook, path: string): string {
  return notebook.settings.seed !== undefined ? String(notebook.settings.seed) : `loom:${basename(path)}`
}

/** The file name the sandbox compiles an app under: stack frames name it, so errors find their cell. */
export function appFilename(app: CompiledApp): string {
  return `loom:app/${app.codeHash.slice(0, 16)}.js`
}
