// What exploration checks in each world it finds: the notebook's tests, its
// constraints (test.constraint) and the predicates of its liveness
// properties. Each is a read-only transaction, its outcome remembered like a
// method's (memo.ts) by what it read.
import { FairAgent } from '../runtime/agent.ts'
import type { AppVersion, Executor } from '../runtime/executor.ts'
import type { SourceLocation } from '../runtime/event.ts'
import { Memo, outcomeOf, type MemoWorld } from './memo.ts'
import type { World } from './worlds.ts'

/** How the second predicate of test.leadsTo(name, p, q) is named where it fails. */
export const SECOND = '\u0000q'

/** The agent a test runs with: a test makes no choices, but a transaction has an agent. */
export const TEST_AGENT = new FairAgent(0)
/** No constraint fails (most apps declare none: asked once per state, nothing is made). */
const NONE_BROKEN: Broken[] = Object.freeze([]) as unknown as Broken[]

/** A test that does not hold in a world: its name, why, and where. */
export interface Broken {
  test: string
  message: string
  location: SourceLocation | null
}

type Test = AppVersion['tests'][number]

/** The tests, constraints and liveness predicates of one app version, checked in exploration's worlds. */
export class WorldTests {
  private readonly tests: Memo<World>[] = []
  private readonly constraints: Memo<World>[] = []
  private readonly liveness: Memo<World>[] = []

  constructor(
    private readonly exec: Executor,
    private readonly version: AppVersion,
    private readonly worlds: MemoWorld<World> & { enter(world: World): void },
  ) {}

  /** The tests that do not hold in `world`. Call inside `exec.run`. */
  broken(world: World): Broken[] {
    return this.check(world, this.version.tests, this.tests, 'test')
  }

  /**
   * The constraints (test.constraint) that do not hold in `world`: exploration
   * finds it and checks its tests but does not expand it. Call inside `exec.run`.
   */
  outside(world: World): Broken[] {
    const constraints = this.version.explore.constraints
    return constraints.length ? this.check(world, constraints, this.constraints, 'constraint') : NONE_BROKEN
  }

  /**
   * Which of the liveness properties' predicates hold in `world`: for property i,
   * bit 2i its P, bit 2i+1 its Q (test.leadsTo). A predicate that throws is
   * false there, and named in `errors`. Call inside `exec.run`.
   */
  labels(world: World): { bits: number; errors: Broken[] } {
    const props = this.version.explore.liveness
    const predicates = props.flatMap((p) => [p, { name: `${p.name}${SECOND}`, property: p.then ?? (() => true), at: p.at }])
    const failed = this.check(world, predicates, this.liveness, 'property')
    let bits = 0
    predicates.forEach((p, i) => {
      if (!failed.some((f) => f.test === p.name)) bits |= 1 << i
    })
    return { bits, errors: failed.filter((f) => f.message !== 'returned false') }
  }

  private check(world: World, tests: readonly Test[], memos: Memo<World>[], kind: string): Broken[] {
    const broken: Broken[] = []
    for (let i = 0; i < tests.length; i++) {
      const t = tests[i]!
      const memo = (memos[i] ??= new Memo(`${kind} '${t.name}'`, this.worlds))
      let outcome = memo.find(world, TEST_AGENT.reset(0))
      if (!outcome) {
        this.worlds.enter(world)
        // A memo switched off keeps nothing: the test's reads need not be recorded.
        const { tx, message } = this.exec.checkTest(this.version, t, TEST_AGENT.reset(0), !memo.off)
        outcome = outcomeOf(tx)
        outcome.failure = message === null ? null : { reason: message, aborted: false, location: tx.failure?.location ?? t.at }
        memo.add(world, tx, outcome)
      }
      if (outcome.failure) broken.push({ test: t.name, message: outcome.failure.reason, location: outcome.failure.location })
    }
    return broken
  }
}
