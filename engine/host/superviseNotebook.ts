// A notebook's session as `loom serve` and the desktop app start it alike: the
// app's own port first (taken by another program: refused before anything
// starts), then the supervisor, whose every engine process is attached to it.
import type { HostOptions } from './EngineHost.ts'
import { EngineSupervisor, type SupervisorEvents } from './EngineSupervisor.ts'
import type { SpawnEngine } from './engineLink.ts'
import { forkEngine } from './forkEngine.ts'
import { appPortOf, openAppPort, type AppPort } from './appPort.ts'

export interface SessionOptions extends HostOptions {
  /** The app's own HTTP port (0: any free one); default: the notebook's `http:` setting, and none without one. */
  appPort?: number
  /** Tests: another way to start engine processes (then the app's port is not relayed). */
  spawn?: SpawnEngine
}

export interface Supervised {
  supervisor: EngineSupervisor
  app?: AppPort
  /** Stops the engine process and closes the app's port. */
  stop(): Promise<void>
}

export async function superviseNotebook(options: SessionOptions, events?: SupervisorEvents): Promise<Supervised> {
  const { appPort, spawn, ...host } = options
  const port = appPort ?? (await appPortOf(host.notebook))
  const app = port === undefined ? undefined : await openAppPort(port).catch((err: NodeJS.ErrnoException) => {
    throw Object.assign(new Error(`cannot serve the app on port ${port}: ${err.message}`), { code: err.code, port, option: '--app-port' })
  })
  const supervisor = new EngineSupervisor(spawn ?? ((o) => forkEngine(o, {}, { appPort: app })), { ...host, ...(app ? { appUrl: app.url } : {}) }, events)
  return {
    supervisor,
    ...(app ? { app } : {}),
    stop: async () => {
      await supervisor.stop()
      await app?.close()
    },
  }
}
