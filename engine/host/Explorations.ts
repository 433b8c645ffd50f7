// Exploration from the agent panel (DESIGN §6): every state reachable from a
// moment, every test checked in each. It runs in the model's own sandbox, a
// batch of about 10 ms at a time, handing the engine process's thread back
// in between so the live app and every UI carry on. Each result is kept by
// its job, so a violation's trace can be committed as a branch.
import { Model, type ModelOptions } from '../replay/model.ts'
import { exploring, type ExploreResult } from '../replay/explore.ts'
import { describeMove, saveTrace, traceFailure } from '../replay/trace.ts'
import { NondeterminismError } from '../replay/memo.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import type { SourceLocation } from '../runtime/event.ts'
import type { BranchView, ExploreView, Params, Where } from '../protocol/messages.ts'
import type { HostAccess } from './HostAccess.ts'
import { announce } from './branchRequests.ts'
import { progressOf, turnOver } from './progress.ts'
import { Refusal } from './problems.ts'
import { GRAPH_STATES } from '../protocol/exploreGraph.ts'

/** States explored when the UI gives no bound: enough for a small model, not enough to exhaust the engine process. */
export const DEFAULT_MAX_STATES = 100_000
/** Results kept for saveCounterexample; older ones are forgotten. */
const KEPT = 20

interface Kept {
  text: string
  branch: string
  seq: number
  result: ExploreResult
  /** The clock the exploration started at (clock moves are shown from it). */
  start: number
}

export class Explorations {
  private readonly kept = new Map<number, Kept>()

  constructor(private readonly host: HostAccess) {}

  async explore(p: Params<'explore'>): Promise<ExploreView> {
    const host = this.host
    const { branch, at } = host.moment(p.branch, p.at)
    const text = host.text()
    const model = await Model.create(text, { ...this.options(branch, at, host.history()), ...(p.faults ? { faults: p.faults } : {}) })
    const { job, signal } = host.nextJob()
    const maxStates = p.maxStates ?? DEFAULT_MAX_STATES
    const what = at < 1 ? `exploring from the start of branch '${branch}'` : `exploring from event ${at} of branch '${branch}'`
    const progress = progressOf(host, job, 'explore', what)
    progress(0, null, true)
    const run = exploring(model, {
      depth: p.depth, maxStates, signal, draw: true,
      onProgress: (s) => progress(s.states, null, false, `${what}: ${s.states.toLocaleString('en')} states, depth ${s.depth}`),
    })
    let result: ExploreResult
    try {
      for (;;) {
        const r = run.next()
        if (r.done) {
          result = r.value
          break
        }
        await turnOver(host)
      }
    } catch (err) {
      if (err instanceof NondeterminismError) throw new Refusal(err.message)
      throw err
    }
    progress(result.states, result.states, true, `${what}: ${result.states.toLocaleString('en')} states, done`)
    this.kept.set(job, { text, branch, seq: at, result, start: model.time })
    for (const old of this.kept.keys()) if (this.kept.size > KEPT) this.kept.delete(old)
    return this.view(job, result, model.time)
  }

  /** Commits violation `index` of exploration `job` as branch `name`: forked at the moment explored from, one event per move. */
  async saveCounterexample(job: number, index: number, name: string): Promise<BranchView> {
    const kept = this.kept.get(job)
    if (!kept) throw new Refusal(`there is no exploration ${job}${this.kept.size ? `; the ones kept are ${[...this.kept.keys()].join(', ')}` : ''}: explore again`)
    const violation = kept.result.violations[index]
    if (!violation) throw new Refusal(`exploration ${job} found ${kept.result.violations.length} violation${kept.result.violations.length === 1 ? '' : 's'}; there is no violation ${index} (they count from 0)`)
    this.host.history()
    const log = this.host.openLog()
    try {
      await saveTrace(kept.text, this.options(kept.branch, kept.seq, log), violation.trace, log, name, traceFailure(violation)).catch((err: Error) => {
        throw new Refusal(`cannot save the counterexample as branch '${name}': ${err.message}`)
      })
    } finally {
      log.close()
    }
    return announce(this.host, name)
  }

  /** From a moment of the log; at event 0, from the start with every input the branch recorded. */
  private options(branch: string, seq: number, log: HistoryLog): ModelOptions {
    return { path: this.host.notebookPath, timeLimitMs: this.host.timeLimitMs, from: { log, branch, seq } }
  }

  private view(job: number, r: ExploreResult, start: number): ExploreView {
    return {
      job, states: r.states, transitions: r.transitions, depth: r.depth, exhausted: r.exhausted, stoppedBy: r.stoppedBy, deadlocks: r.deadlocks,
      violations: r.violations.map((v) => ({
        kind: v.kind, test: v.test, message: v.message,
        ...(v.location ? { where: this.where(v.location) } : {}),
        trace: v.trace.map((m) => ({ method: m.method, choices: m.choices.map((c) => c.value), label: describeMove(m, start) })),
        ...(v.loop !== undefined ? { loop: v.loop } : {}),
        ...(v.path && v.path.length <= GRAPH_STATES * 4 ? { path: v.path } : {}),
      })),
      unexplored: r.unexplored,
      ...(r.graph !== undefined ? { graph: r.graph } : {}),
    }
  }

  private where(l: SourceLocation): Where {
    return { file: this.host.notebookPath, cell: l.cell, line: l.line, fileLine: l.fileLine }
  }
}
