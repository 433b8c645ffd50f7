// Loading a notebook's code into the engine: its cells run in the sandbox,
// then its `code` event commits through the pipeline (running `switch` when
// code is replaced). A switch that aborts waits; one that fails or overruns
// leaves the old code running.
import { LoadError, type AppVersion, type Call, type Executor } from './executor.ts'
import { FairAgent } from './agent.ts'
import type { CompiledApp } from './compile.ts'
import type { Where } from '../protocol/loomError.ts'
import type { EventRecord, Read } from './event.ts'
import type { Json } from './values.ts'
import type { Pipeline } from './transaction/pipeline.ts'

/** A switch() that aborted: the new code waits for what it read to change. */
export class SwitchWaits extends LoadError {
  constructor(message: string, where: Where, readonly reads: Read[]) {
    super(message, where, 'parked')
  }
}

export interface CodeEventHost {
  exec: Executor
  pipeline: Pipeline
  seedNumber: number
  now(): number
}

/**
 * Loads code and commits its `code` event (with `switch` when replacing);
 * when resuming with the code that last ran, only loads it. `took` hands the
 * engine the loaded version (and the app, when its event commits) before the
 * event commits. Throws LoadError.
 */
export function loadCode(host: CodeEventHost, app: CompiledApp, mode: 'initial' | 'replace' | 'resume', took: (version: AppVersion, app: CompiledApp | null) => void): EventRecord | null {
  const { exec, pipeline } = host
  const replacing = mode === 'replace'
  const fn = exec.compile(app)
  const limit = exec.config.timeLimitMs
  const before = exec.store.cells.length
  const loaded = pipeline.inSandbox(() => exec.load(app, fn))
  if (!loaded.ok) {
    exec.dropFresh(before)
    throw new LoadError(`loading the notebook's cells ran past the time limit of ${limit} ms`, { file: app.path }, 'timeLimit')
  }
  const { version, declares } = loaded.value
  if (mode === 'resume' && !declares.length) {
    took(version, null)
    return null
  }
  const time = host.now()
  const input: Json = { seed: exec.config.seed, env: exec.config.env, args: exec.config.args }
  // What the notebook grants is configuration too (replay reads it from here); a notebook without effects records as before.
  const grants = exec.config.effects
  if (grants) (input as Record<string, Json>).effects = grants as unknown as Json
  // Replacing code runs its switch (if it has one); otherwise the code event only declares.
  const call: Call = { kind: 'code', method: replacing && version.methods.switch ? 'switch' : null, input }
  const tx = pipeline.runNow(call, time, new FairAgent(host.seedNumber), version)
  if (!tx) {
    // The switch itself overran: the new code does not take over.
    exec.dropFresh(before)
    throw new LoadError(`the new code's switch() ran past the time limit of ${limit} ms; the old code keeps running`, { file: app.path }, 'timeLimit')
  }
  if (tx.failure) {
    exec.dropFresh(before)
    const failure = tx.failure
    pipeline.recordAttempt(tx)
    const message = `the new code's switch() did not commit (${failure.reason}); the old code keeps running`
    // An abort is a wait: the change happens once what the switch read allows it.
    if (failure.aborted) throw new SwitchWaits(`${message} until it can`, { file: app.path }, tx.reads)
    throw new LoadError(message, { file: app.path })
  }
  exec.log.putCode?.({ codeHash: app.codeHash, path: app.path, code: app.code, sources: app.sources })
  took(version, app)
  return pipeline.commitNow(tx, declares)
}
