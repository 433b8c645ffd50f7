// Run control: whether the app runs, waits, is paused or has halted, as one
// state machine. Every change of the status the UI and the CLI show goes
// through `RunControl.on`, and every allowed change is in `TRANSITIONS`.
import type { RunState } from '../../protocol/messages.ts'

/** What the engine reports: the protocol's run states (the renderer's pill shows them). */
export type EngineStatus = RunState

/**
 * What can happen to the run:
 * - `run`: the loop starts;
 * - `park`: a step waits (for state, time or input);
 * - `idle`: there is nothing to do (no step method, or not yet started);
 * - `wake`: what the loop waited for came;
 * - `pause`: the person (or the CLI) pauses;
 * - `step`: one step is taken by hand;
 * - `halt`: the app called sys.halt().
 */
export type RunInput = 'run' | 'park' | 'idle' | 'wake' | 'pause' | 'step' | 'halt'

/**
 * Every transition; an input a state does not list leaves it as it is.
 * Pause works in every state but halted; a step leaves the app paused; a
 * halted app stays halted (new code gives it another chance at the next open).
 */
export const TRANSITIONS: Record<EngineStatus, Partial<Record<RunInput, EngineStatus>>> = {
  ready: { run: 'running', pause: 'paused', step: 'paused', halt: 'halted' },
  running: { park: 'parked', idle: 'idle', pause: 'paused', step: 'paused', halt: 'halted' },
  parked: { run: 'running', wake: 'running', idle: 'idle', pause: 'paused', step: 'paused', halt: 'halted' },
  idle: { run: 'running', wake: 'running', park: 'parked', pause: 'paused', step: 'paused', halt: 'halted' },
  paused: { run: 'running', step: 'paused', halt: 'halted' },
  halted: {},
}

/** States in which the loop goes on: running, or waiting to run again. */
const ACTIVE: ReadonlySet<EngineStatus> = new Set(['running', 'parked', 'idle'])

export class RunControl {
  private current: EngineStatus = 'ready'
  private readonly listeners = new Set<(status: EngineStatus) => void>()

  constructor(initial: EngineStatus = 'ready') {
    this.current = initial
  }

  get state(): EngineStatus {
    return this.current
  }

  /** Whether the loop should go on (nobody paused it and the app has not halted). */
  get active(): boolean {
    return ACTIVE.has(this.current)
  }

  /** Applies `input`; listeners hear the new state when it changed. Returns the state after. */
  on(input: RunInput): EngineStatus {
    const next = TRANSITIONS[this.current][input]
    if (next === undefined || next === this.current) return this.current
    this.current = next
    for (const fn of this.listeners) fn(next)
    return next
  }

  listen(fn: (status: EngineStatus) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
}
