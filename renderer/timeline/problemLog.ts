// The failed tests and errors seen since the window opened, and those the log
// kept from before: what the top bar counts, and where E goes next.

/** An event after which a test failed (`test` names it) or a transaction threw (`test` empty). */
export type Problem = { branch: string; seq: number; kind: 'test' | 'error'; test: string }
/**
 * What the top bar counts: failed tests, the events after which they failed, and the events after which a transaction threw;
 * `notRecordedUntil`: the most events of a branch written by a Loom that kept no failures (their failures are unknown).
 */
export interface ProblemCount { tests: number; testEvents: number; errors: number; notRecordedUntil: number }

export class ProblemLog {
  /** One per event, kind and test, in the order seen. */
  private readonly problems: Problem[] = []
  private readonly keys = new Set<string>()
  private readonly failedTests = new Set<string>()
  private readonly testEvents = new Set<string>()
  private errors = 0
  private notRecordedUntil = 0

  /** Records `p`; false when it was seen already (live, or kept by the log). */
  add(p: Problem): boolean {
    const key = `${p.branch}\0${p.seq}\0${p.kind}\0${p.test}`
    if (this.keys.has(key)) return false
    this.keys.add(key)
    this.problems.push(p)
    if (p.kind === 'test') {
      this.failedTests.add(p.test)
      this.testEvents.add(`${p.branch}@${p.seq}`)
    } else this.errors++
    return true
  }

  /** A branch's first `seq` events were written by a Loom that kept no failures. */
  notRecorded(seq: number): void {
    this.notRecordedUntil = Math.max(this.notRecordedUntil, seq)
  }

  count(): ProblemCount {
    // A test that stays broken fails after every event until fixed: count the tests, and the events apart.
    return { tests: this.failedTests.size, testEvents: this.testEvents.size, errors: this.errors, notRecordedUntil: this.notRecordedUntil }
  }

  /** The next problem after moment `at` on its branch (round to the first), or null when there is none. */
  next(at: { branch: string; seq: number } | null): Problem | null {
    if (!this.problems.length) return null
    const order = [...this.problems].sort((a, b) => (a.branch === b.branch ? a.seq - b.seq : a.branch < b.branch ? -1 : 1))
    return order.find((p) => at && p.branch === at.branch && p.seq > at.seq) ?? order.find((p) => !at || p.branch !== at.branch) ?? order[0]!
  }
}
