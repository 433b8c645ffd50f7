// One run of one method against the store: what it read, what it would
// write, what it would output, and why it failed if it did. Nothing here
// touches committed state; the engine commits or discards it.
import type { Agent } from './agent.ts'
import type { Cell, TxView } from './store.ts'
import type { Choice, EventKind, LogLine, Outputs, Read, SourceLocation, Write } from './event.ts'
import type { Json } from './values.ts'
import type { EffectRequest } from './effects/request.ts'

export interface Failure {
  reason: string
  /** true for sys.abort (and the aborts the API makes, like an empty queue): a wait, not a bug. */
  aborted: boolean
  location: SourceLocation | null
  /** The time limit cut it off (a runaway), at `location`: the line it was running. */
  runaway?: true
}

type Question = { key: string; kind: 'ask' | 'choose'; options?: Json[]; answer: Json }

let nextId = 1
const NO_CHOICES: Choice[] = Object.freeze([]) as unknown as Choice[]
const NO_OUTPUTS: Outputs = Object.freeze({})

export class Transaction implements TxView {
  readonly id = nextId++
  readonly reads: Read[] = []
  /** Whether cells record its reads (TxView.tracks). */
  tracks = true
  readonly touched: Cell[] = []
  /** Shared and empty until the first choice: most transactions make none. */
  choices: Choice[] = NO_CHOICES
  writes: Write[] = []
  tty = ''
  logs: LogLine[] | null = null
  halt = false
  /** The response of an `http` transaction, an output like tty text. */
  http: Json | null = null
  /** A gui transaction's answers by key (the person's, or recorded ones on replay). */
  answers: Record<string, Json> | null = null
  private asked: Question[] | null = null
  private showed: Json[] | null = null
  /** The questions gui(agent) asked, each with the answer it got (made when first asked for: only gui asks). */
  get questions(): Question[] {
    return (this.asked ??= [])
  }
  /** What gui(agent) showed with agent.show. */
  get shown(): Json[] {
    return (this.showed ??= [])
  }
  /** Tty input it may read, and whether that is the live app's input (a commit then consumes what it read). */
  ttyIn = ''
  liveTty = true
  /** Characters of tty input consumed, and the offset in the engine's input where they start. */
  ttyRead = ''
  failure: Failure | null = null
  /** How long its body ran (ms), and the cell that exports its method: kept beside the event, outside its hash. */
  duration = 0
  cell: string | null = null
  /** For a transaction that waits: the time it waits for (0: none), and whether it waits for tty input. */
  wakeAt = 0
  waitsForInput = false
  /** A safe read it waits for (sys.http.get, sys.fs.read): the runner performs it and records an effect event. */
  wantsEffect: { request: EffectRequest; hash: string } | null = null
  /** It waits for an action's outcome (sys.effects.result): the runner is performing it. */
  waitsForAction = false
  /** Actions made so far (sys.http.send, sys.fs.write): the next one's number in its id. */
  actions = 0
  /** The ids of the actions it made. */
  made: string[] | null = null

  constructor(
    readonly kind: EventKind | 'test',
    readonly method: string | null,
    readonly input: Json,
    readonly time: number,
    private readonly agent: Agent,
  ) {}

  get readOnly(): boolean {
    return this.kind === 'test'
  }

  /** For each choice, how many reads came before it: with `reads`, the order the transaction asked in (exploration's memo needs it). */
  readsBeforeChoice: number[] | null = null

  choose(n: number): number {
    const value = this.agent.choose(n, this.choices.length)
    if (this.choices === NO_CHOICES) this.choices = []
    this.choices.push({ n, value })
    ;(this.readsBeforeChoice ??= []).push(this.reads.length)
    return value
  }

  /** What it outputs when it commits (empty and shared when nothing: most transactions output nothing). */
  outputs(): Outputs {
    if (!this.tty && !this.logs && !this.halt && !this.http) return NO_OUTPUTS
    const outputs: Outputs = {}
    if (this.tty) outputs.tty = this.tty
    if (this.logs) outputs.logs = this.logs
    if (this.http) outputs.http = this.http
    if (this.halt) outputs.halt = true
    return outputs
  }

  /** Collects the write set from every touched cell, in the order they were first written. */
  seal(): void {
    // One state written (most transactions): its list is the write set, not copied into another.
    if (this.touched.length === 1 && this.writes.length === 0) this.writes = this.touched[0]!.writes(this)
    else for (const cell of this.touched) for (const w of cell.writes(this)) this.writes.push(w)
  }
}
