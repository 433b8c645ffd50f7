// The failed tests and errors seen since the window opened: what the top bar
// counts, and where E goes next.

/** An event after which a test failed (`test` names it) or a transaction threw (`test` empty). */
export type Problem = { branch: string; seq: number; kind: 'test' | 'error'; test: string }
/** What the top bar counts: failed tests, the events after which they failed, and the events after which a transaction threw. */
export interface ProblemCount { tests: number; testEvents: number; errors: number }

export class ProblemLog {
  /** One per event, kind and test, in the order seen. */
  private readonly problems: Problem[] = []

  /** Records `p`; the new count, or null when it was seen already. */
  add(p: Problem): ProblemCount | null {
    if (this.problems.some((q) => q.branch === p.branch && q.seq === p.seq && q.kind === p.kind && q.test === p.test)) return null
    this.problems.push(p)
    const failed = this.problems.filter((q) => q.kind === 'test')
    // A test that stays broken fails after every event until fixed: count the tests, and the events apart.
    return {
      tests: new Set(failed.map((q) => q.test)).size,
      testEvents: new Set(failed.map((q) => `${q.branch}@${q.seq}`)).size,
      errors: this.problems.length - failed.length,
    }
  }

  /** The next problem after moment `at` on its branch (round to the first), or null when there is none. */
  next(at: { branch: string; seq: number } | null): Problem | null {
    if (!this.problems.length) return null
    const order = [...this.problems].sort((a, b) => (a.branch === b.branch ? a.seq - b.seq : a.branch < b.branch ? -1 : 1))
    return order.find((p) => at && p.branch === at.branch && p.seq > at.seq) ?? order.find((p) => !at || p.branch !== at.branch) ?? order[0]!
  }
}
