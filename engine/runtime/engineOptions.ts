// What an engine is opened with, what a run returns, and what its listeners hear.
import type { EventLog } from './log.ts'
import type { StoreSnapshot } from './store.ts'
import type { Attempt, EventRecord, TestFailure } from './event.ts'
import type { EngineStatus } from './control/runControl.ts'
import type { Performer } from './effects/effectRunner.ts'

export interface EngineOptions {
  /** Where the notebook came from, for messages and the default seed. */
  path?: string
  /** A transaction running longer than this is aborted (default 1000 ms). */
  timeLimitMs?: number
  /** Check every test after every commit (true: debug runs, `loom test`), or once per group commit ('commit': `loom run`). */
  checkTests?: boolean | 'commit'
  /** A failed test ends the batch under way at once, and the run (loom run without --keep-going). */
  stopOnTestFailure?: boolean
  /** 'real' (default), or 'virtual': time starts at `startTime` and jumps to the next awaited time when idle. */
  clock?: 'real' | 'virtual'
  startTime?: number
  env?: Record<string, string>
  args?: string[]
  log?: EventLog
  branch?: string
  /** How many alternative choice sequences a step tries before it waits (default 64). */
  maxAlternatives?: number
  /**
   * Performs the safe reads cells ask for (sys.http.get, sys.fs.read) outside
   * the sandbox; without it a read with no recorded response fails, saying so.
   */
  performEffect?: Performer
  /** Continue a history: the state after the log's last event and what the engine needs to know of it. */
  resume?: Resume
}

/** Where a resumed history stands (built from a durable log by engine/replay). */
export interface Resume {
  state: StoreSnapshot
  last: EventRecord
  /** The last `code` event: which code ran, and with which configuration. */
  code: EventRecord
  started: boolean
}

export interface RunOptions {
  /** Stop after this many committed steps. */
  steps?: number
  /** Stop when nothing can happen without input from outside (a step waiting on state or tty). */
  untilIdle?: boolean
}

export interface RunSummary {
  events: number
  attempts: number
  steps: number
  status: EngineStatus
}

export interface EngineEvents {
  event: EventRecord
  tty: string
  attempt: Attempt
  test: TestFailure
  status: EngineStatus
}
