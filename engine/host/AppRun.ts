// The app the host runs: its engine (none while the notebook does not run, or
// its branch is damaged), and whether its loop is running. Run, Pause and
// Step from every UI go through here, one loop at a time.
import type { Engine } from '../runtime/engine.ts'
import type { EventRecord } from '../runtime/event.ts'
import type { LogDamageError } from '../replay/logErrors.ts'
import { Refusal } from './problems.ts'

export interface AppRunHooks {
  /** Why there is no engine to run (the notebook's problems). */
  notRunnable(): Error
  /** The loop stopped on an error (the log could not write). */
  stopped(err: Error): void
  /** The loop started or ended. */
  statusChanged(): void
}

export class AppRun {
  engine: Engine | null = null
  /** The live branch's history is damaged: the engine does not run on it (the message says how to continue). */
  damaged: LogDamageError | null = null
  private loop: Promise<void> | null = null

  constructor(private readonly hooks: AppRunHooks) {}

  get running(): boolean {
    return this.loop !== null
  }

  /** The engine, or a refusal saying why there is none. */
  runnable(): Engine {
    if (this.engine) return this.engine
    if (this.damaged) throw new Refusal(this.damaged.message, this.damaged.where, 'history')
    throw this.hooks.notRunnable()
  }

  run(): void {
    const engine = this.runnable()
    if (this.loop) return
    this.loop = engine
      .run()
      .then(() => {}, (err: Error) => this.hooks.stopped(err))
      .finally(() => {
        this.loop = null
        this.hooks.statusChanged()
      })
  }

  /** Pauses after the batch in progress; resolves once the loop has stopped. `holdRequests`: a person paused (requests wait until it runs). */
  async pause(holdRequests = false): Promise<void> {
    this.engine?.pause({ holdRequests })
    await this.loop
  }

  step(): EventRecord | null {
    const engine = this.runnable()
    if (this.loop) throw new Refusal('the app is running; pause it before stepping')
    return engine.step()
  }
}
