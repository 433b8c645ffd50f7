// The agent panel's transactions: run a step, a request or gui(agent) against
// the live head with the person's answers, show everything it would do — its
// reads, writes, outputs, the tests it would break, and every other outcome
// its choices allow — and commit it only when asked, re-running it first if
// something it read has changed meanwhile. A transaction that waits for an
// effect can be previewed with the person's answer to it (a response, a
// timeout, an error); committing it commits that answer first, as the
// effect's outcome, through the same effect event the runner would commit.
import type { Agent } from './agent.ts'
import { everyOutcome } from './everyOutcome.ts'
import { methodCall, type AppVersion, type Executor } from './executor.ts'
import type { Transaction } from './transaction.ts'
import type { HttpRequest } from './http.ts'
import type { PreviewSpec } from '../protocol/messages.ts'
import { canonicalJson, plainCopy, type Json } from './values.ts'
import type { EventRecord, Outputs, Write } from './event.ts'
import type { Cell } from './store.ts'
import { EFFECTS_STATE, effectWrites, type EffectInput, type EffectRequest, type EffectResponse } from './effects/request.ts'
import { describeRequest, describeResponse, faultResponse, MAX_ANSWER } from './effects/faults.ts'

export type { PreviewSpec }

export interface Preview {
  id: number
  spec: PreviewSpec
  method: PreviewSpec['method']
  choices: { n: number; value: number }[]
  questions: Transaction['questions']
  shown: Json[]
  committed: boolean
  reads: { state: string; key?: string }[]
  writes: Write[]
  changes: { state: string; before: Json; after: Json }[]
  outputs: Outputs
  failure: { message: string; where?: { cell: string; line: number; fileLine: number } } | null
  brokenTests: { test: string; message: string }[]
  /** Every outcome over all choice sequences (at most 256 tried), equal ones grouped. */
  outcomes: { choices: number[][]; committed: boolean; summary: string }[]
  /** The effect it waits for, which the person may answer by hand. */
  pendingEffect?: { hash: string; what: string; kind: string }
  /** The answers given by hand it ran with, in words. */
  answered?: { hash: string; what: string; answer: string }[]
}

/** An answer given by hand to an effect the transaction waited for: what an effect event would record. */
interface Given {
  request: EffectRequest
  hash: string
  response: EffectResponse
}

/** Answers choices from a list; 0 where the list has none or its answer is out of range. */
export class GivenChoices implements Agent {
  constructor(private readonly values: readonly number[]) {}
  choose(n: number, index: number): number {
    const v = this.values[index]
    return v !== undefined && Number.isSafeInteger(v) && v >= 0 && v < n ? v : 0
  }
}

/** What the previews need of the engine that owns them. */
export interface PreviewHost {
  exec: Executor
  version(): AppVersion
  now(): number
  timeLimitMs: number
  /** Commits a transaction as the live branch's next event (and announces it). */
  commit(tx: Transaction): EventRecord
}

const MAX_OUTCOMES = 256

/** A single transaction that runs past its time limit stops the call into the sandbox. */
const STOP = { overran: () => false }

export class Previews {
  private readonly open = new Map<number, { spec: PreviewSpec; tx: Transaction; preview: Preview; given: Given[] }>()
  private nextId = 1

  constructor(private readonly host: PreviewHost) {}

  /** Runs `spec` against the live head without committing. Throws for a method the app does not have. */
  preview(spec: PreviewSpec): Preview {
    const version = this.host.version()
    if (!version.methods[spec.method]) throw new Error(`the app has no ${spec.method}()`)
    if (spec.method === 'http' && !spec.request) throw new Error('an http preview needs a request')
    const exec = this.host.exec
    const time = this.host.now()
    // The answers given by hand are in the store only while the preview is made.
    const effects = exec.store.get(EFFECTS_STATE)
    const saved = effects?.share()
    try {
      return this.previewAnswered(version, spec, time)
    } finally {
      if (effects) effects.adopt(saved!)
    }
  }

  private previewAnswered(version: AppVersion, spec: PreviewSpec, time: number): Preview {
    const { tx, given } = this.answered(version, spec, time)
    const preview: Preview = {
      id: this.nextId++, spec, method: spec.method,
      choices: tx.choices.map((c) => ({ n: c.n, value: c.value })),
      questions: plainCopy(tx.questions), shown: plainCopy(tx.shown),
      committed: !tx.failure,
      reads: tx.reads.map((r) => (r.key === undefined ? { state: r.state } : { state: r.state, key: r.key })),
      writes: plainCopy(tx.writes), changes: [], outputs: plainCopy(tx.outputs()),
      failure: tx.failure ? { message: tx.failure.reason, ...(tx.failure.location ? { where: tx.failure.location } : {}) } : null,
      brokenTests: [],
      outcomes: this.outcomes(version, spec, time),
    }
    const wanted = tx.failure?.aborted ? tx.wantsEffect : null
    if (wanted) preview.pendingEffect = { hash: wanted.hash, what: describeRequest(wanted.request), kind: wanted.request.kind }
    if (given.length) preview.answered = given.map((g) => ({ hash: g.hash, what: describeRequest(g.request), answer: describeResponse(g.response) }))
    if (!tx.failure) this.consequences(version, tx, preview)
    this.open.set(preview.id, { spec, tx, preview, given })
    return preview
  }

  /**
   * Runs the spec; while it waits for an effect the person has answered, puts
   * that answer where a recorded response is kept (as an effect event would)
   * and runs it again. The caller takes the answers out of the store after.
   */
  private answered(version: AppVersion, spec: PreviewSpec, time: number): { tx: Transaction; given: Given[] } {
    const exec = this.host.exec
    const limit = this.host.timeLimitMs
    const given: Given[] = []
    for (;;) {
      const ran = exec.run(() => run(exec, version, spec, time, new GivenChoices(spec.choices ?? [])), STOP, limit)
      if (!ran.ok) throw new Error(`${spec.method}() ran past its time limit of ${limit} ms`)
      const tx = ran.value
      const want = tx.failure?.aborted ? tx.wantsEffect : null
      const answer = want && !given.some((g) => g.hash === want.hash) ? spec.effects?.find((a) => a.hash === want.hash) : undefined
      if (!want || !answer) return { tx, given }
      const response = answer.fault
        ? faultResponse(answer.fault, want.request) ?? { error: `${answer.fault}: ${describeRequest(want.request)} cannot meet this fault` }
        : (answer.response as EffectResponse)
      if (JSON.stringify(response).length > MAX_ANSWER) throw new Error(`the response given by hand to ${describeRequest(want.request)} is larger than ${MAX_ANSWER} characters (a read's limit)`)
      given.push({ request: want.request, hash: want.hash, response })
      const input: EffectInput = { request: want.request, hash: want.hash, response, ms: 0 }
      exec.store.apply(exec.inRealm(effectWrites(input, time).filter((w) => w.op === 'set')) as unknown as Write[], exec.head + 1)
    }
  }

  /**
   * Commits a preview: runs it again now with the same answers. If nothing it
   * read has changed, that run is the preview's transaction at the commit's
   * time (the answers are the same, and sys.random depends only on what it
   * reads), and it is committed — with a note when it does something else
   * than was shown because it reads the clock. If what it read has changed,
   * or at the commit's time it would not commit, answers with what changed
   * and a fresh preview instead.
   */
  commit(id: number): { event: EventRecord; note?: string } | { changed: string[]; preview: Preview } {
    const entry = this.take(id)
    const { spec, tx: shown, given } = entry
    if (shown.failure) throw new Error(`this preview does not commit (${shown.failure.aborted ? 'it waits' : 'it fails'}: ${shown.failure.reason}): there is nothing to commit`)
    const exec = this.host.exec
    // A response the person gave was no read of the live store: what matters is that the effect is still unanswered.
    const byHand = (r: { state: string; key?: string }) => r.state === EFFECTS_STATE && given.some((g) => g.hash === r.key)
    const changed = [...new Set(shown.reads.filter((r) => !byHand(r) && !exec.store.unchanged([r])).map((r) => r.state))]
    const effects = exec.store.get(EFFECTS_STATE)
    for (const g of given) if (effects && effects.value() && (effects.value() as Record<string, unknown>)[g.hash] !== undefined) changed.push(`${describeRequest(g.request)} (it was answered meanwhile)`)
    if (changed.length) return { changed, preview: this.preview(spec) }
    const version = this.host.version()
    // The answers first, each as the effect's outcome: the effect event the runner would commit, marked as given by hand.
    for (const g of given) {
      const input = { request: g.request, hash: g.hash, response: g.response, ms: 0, by: 'hand' } as unknown as Json
      const ran = exec.run(() => exec.runCall(version, { kind: 'effect', method: null, input }, this.host.now(), new GivenChoices([])), STOP, this.host.timeLimitMs)
      if (!ran.ok || ran.value.failure) throw new Error(`the answer to ${describeRequest(g.request)} could not be recorded: ${ran.ok ? ran.value.failure!.reason : 'it ran past its time limit'}`)
      this.host.commit(ran.value)
    }
    const ran = exec.run(() => run(exec, version, spec, this.host.now(), new GivenChoices(spec.choices ?? [])), STOP, this.host.timeLimitMs)
    if (!ran.ok) throw new Error(`${spec.method}() ran past its time limit of ${this.host.timeLimitMs} ms`)
    const tx = ran.value
    if (tx.failure) return { changed: [`the outcome: at the commit's time it ${tx.failure.aborted ? 'waits' : 'fails'} (${tx.failure.reason})`], preview: this.preview(spec) }
    const same = canonicalJson(plainCopy(tx.writes)) === canonicalJson(plainCopy(shown.writes)) && canonicalJson(plainCopy(tx.outputs())) === canonicalJson(plainCopy(shown.outputs()))
    const event = this.host.commit(tx)
    return same ? { event } : { event, note: 'it reads the clock: committed as it ran at the time of the commit, which differs from the preview' }
  }

  discard(id: number): void {
    this.take(id)
  }

  /** The spec of an open preview (to commit it elsewhere, as the first event of a new branch). */
  spec(id: number): PreviewSpec {
    const entry = this.open.get(id)
    if (!entry) throw new Error(`there is no open preview ${id} (it was committed or discarded)`)
    return entry.spec
  }

  private take(id: number) {
    const entry = this.open.get(id)
    if (!entry) throw new Error(`there is no open preview ${id} (it was committed or discarded)`)
    this.open.delete(id)
    return entry
  }

  /** The states it would change (before and after) and the tests it would break: its writes applied, the tests run, then undone. */
  private consequences(version: AppVersion, tx: Transaction, preview: Preview): void {
    const exec = this.host.exec
    const store = exec.store
    const touched = [...new Set(tx.writes.map((w) => w.state))].map((name) => store.get(name)).filter((c): c is Cell => !!c)
    const before = touched.map((c) => plainCopy(c.value()))
    const saved = touched.map((c) => c.share())
    // Applied and undone outside the time-limited call, so a test that overruns cannot leave them applied.
    store.apply(tx.writes, exec.head + 1)
    try {
      preview.changes = touched.map((c, i) => ({ state: c.name, before: before[i]!, after: plainCopy(c.value()) }))
      // One test at a time, each under its own time limit; one that overruns is a broken test.
      const limit = this.host.timeLimitMs
      let next = 0
      const check = () => {
        for (; next < version.tests.length && !exec.batchSpent; next++) {
          const f = exec.testFailure(version, version.tests[next]!, new GivenChoices([]))
          if (f) preview.brokenTests.push({ test: f.test, message: f.message })
        }
      }
      const overran = (tx: Transaction | null) => {
        preview.brokenTests.push({ test: tx?.method ?? '(the tests)', message: `ran past its time limit of ${limit} ms` })
        next++
        return true
      }
      while (next < version.tests.length) exec.run(check, { overran }, limit)
    } finally {
      touched.forEach((c, i) => c.adopt(saved[i]!))
    }
  }

  /** Every outcome of the transaction over its choice sequences, grouped by what it does. */
  private outcomes(version: AppVersion, spec: PreviewSpec, time: number): Preview['outcomes'] {
    const exec = this.host.exec
    const every = everyOutcome(exec, (agent) => run(exec, version, spec, time, agent), MAX_OUTCOMES, this.host.timeLimitMs)
    return every.groups.map(({ tx, choices }) => ({
      choices: choices.map((cs) => cs.map((c) => c.value)),
      committed: !tx.failure,
      summary: tx.failure ? `${tx.failure.aborted ? 'waits' : 'fails'}: ${tx.failure.reason}` : describeWrites(tx.writes, tx.outputs()),
    }))
  }
}

/** Runs a preview's transaction: the agent panel types no tty input. */
function run(exec: Executor, version: AppVersion, spec: PreviewSpec, time: number, agent: Agent): Transaction {
  return exec.runCall(version, methodCall(spec.method, previewInput(spec), ''), time, agent)
}

function previewInput(spec: PreviewSpec): Json {
  if (spec.method === 'gui') return { answers: spec.answers ?? {} }
  if (spec.method !== 'http') return null
  const r = spec.request!
  const req: HttpRequest = { method: r.method, path: r.path, query: r.query ?? {}, headers: r.headers ?? {}, body: r.body ?? '' }
  return req as unknown as Json
}

function describeWrites(writes: Write[], outputs: Outputs): string {
  const states = [...new Set(writes.map((w) => w.state))]
  const parts = [states.length ? `writes ${states.join(', ')}` : 'writes nothing']
  if (outputs.tty) parts.push(`prints ${JSON.stringify(outputs.tty.length > 40 ? outputs.tty.slice(0, 40) + '…' : outputs.tty)}`)
  if (outputs.halt) parts.push('halts')
  return parts.join(', ')
}
