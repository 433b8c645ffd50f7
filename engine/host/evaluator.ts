// Asks the evaluator process (evaluatorProcess.ts) to make REPL and query
// contexts and run scripts in them: JSON lines over a pipe. The process has a
// heap limit of its own, so an expression that allocates without end ends it,
// not the engine; whoever spawns it (evaluatorSpawn.ts) then says so with a
// `died` line, and the next request starts a fresh one. It answers requests
// in the order they were sent, so the oldest unanswered one is what ran.
import type { Socket } from 'node:net'
import type { StateValue } from '../protocol/messages.ts'
import type { ReplMoment } from './evaluate.ts'

/** Text both ways, in chunks (lines may be split anywhere); `hold` keeps the process alive while answers are due. */
export interface EvaluatorPipe {
  write(text: string): void
  onData(fn: (text: string) => void): void
  hold(busy: boolean): void
}

/** What the spawner says when the evaluator process ended. */
export interface EvaluatorDied {
  oom: boolean
  how: string
}

/** The evaluator process ended under a request. `blamed`: this request was the one it was running. */
export class EvaluatorDeath extends Error {
  constructor(readonly blamed: boolean, readonly oom: boolean, readonly how: string) {
    super(`the evaluator process ended (${how})`)
  }
}

export interface EvalContext {
  id: number
  /** The evaluator process it lives in (one per start). */
  life: number
}

/** A script's string answer, or the text of what it threw. */
export type EvalRun = { out: string } | { thrown: string; timedOut: boolean }

export interface EvalScript {
  /** The script to run, or for a query a batch of events to evaluate (QUERY_SETUP). */
  script?: string
  batch?: string
  filename: string
  lineOffset?: number
  timeout: number
  /** Set as the context's `__loomSource` before the script runs (the REPL's expression, as text). */
  source?: string
}

/** An evaluator's answers are bounded: a line longer than this is a broken evaluator. */
const MAX_LINE = 64 << 20

interface Pending {
  id: number
  resolve: (answer: Record<string, unknown>) => void
  reject: (err: Error) => void
}

export class Evaluator {
  private readonly pending: Pending[] = []
  private nextId = 1
  private life = 1
  private partial = ''

  /** `memoryMb`: the evaluator process's heap limit, as said in errors. */
  constructor(private readonly pipe: EvaluatorPipe, readonly memoryMb: number) {
    pipe.hold(false)
    pipe.onData((text) => this.take(text))
  }

  /** The evaluator on the engine process's fd (the supervisor spawns it and relays: evaluatorSpawn.ts). */
  static onSocket(socket: Socket, memoryMb: number): Evaluator {
    socket.setEncoding('utf8')
    socket.on('error', () => {})
    return new Evaluator({ write: (t) => void (socket.destroyed || socket.write(t)), onData: (fn) => void socket.on('data', fn), hold: (busy) => void (busy ? socket.ref() : socket.unref()) }, memoryMb)
  }

  async open(state: Record<string, StateValue>, bindings: Map<string, string>, moment: ReplMoment): Promise<EvalContext> {
    const context = { id: this.nextId, life: this.life }
    await this.ask({ op: 'open', ctx: context.id, state: JSON.stringify(state), bindings: JSON.stringify(Object.fromEntries(bindings)), moment: JSON.stringify(moment) })
    return context
  }

  async run(context: EvalContext, s: EvalScript): Promise<EvalRun> {
    if (context.life !== this.life) throw new EvaluatorDeath(false, false, 'restarted since the context was made')
    const a = await this.ask({ op: 'run', ctx: context.id, ...s })
    return typeof a.out === 'string' ? { out: a.out } : { thrown: typeof a.thrown === 'string' ? a.thrown : '', timedOut: a.timedOut === true }
  }

  close(context: EvalContext): void {
    if (context.life === this.life) this.pipe.write(JSON.stringify({ op: 'close', ctx: context.id }) + '\n')
  }

  private ask(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.push({ id, resolve, reject })
      this.pipe.hold(true)
      this.pipe.write(JSON.stringify({ id, ...request }) + '\n')
    })
  }

  private take(text: string): void {
    const lines = (this.partial + text).split('\n')
    this.partial = lines.pop()!
    if (this.partial.length > MAX_LINE) this.partial = ''
    for (const line of lines) {
      let m: { id?: unknown; died?: EvaluatorDied } & Record<string, unknown>
      try {
        m = JSON.parse(line)
      } catch {
        continue // the rest of a line cut off by a death
      }
      if (m.died) this.died(m.died)
      else this.answer(m)
    }
  }

  private answer(m: Record<string, unknown>): void {
    const at = this.pending.findIndex((p) => p.id === m.id)
    if (at < 0) return
    const [p] = this.pending.splice(at, 1)
    if (!this.pending.length) this.pipe.hold(false)
    if (typeof m.error === 'string') p!.reject(new Error(m.error))
    else p!.resolve(m)
  }

  /** The oldest unanswered request is what it was running: only that one is blamed. */
  private died(d: EvaluatorDied): void {
    this.life++
    this.partial = ''
    const all = this.pending.splice(0)
    this.pipe.hold(false)
    all.forEach((p, i) => p.reject(new EvaluatorDeath(i === 0, d.oom === true, String(d.how))))
  }
}
