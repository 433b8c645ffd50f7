// Keeps the UI connected to the engine host: connects, says hello (with the
// invite link's token in a shared session), and when the connection drops,
// shows it and tries again until it is back.
import { EngineClient } from '../engine/protocol/client.ts'
import type { Result } from '../engine/protocol/messages.ts'
import { openTransport } from './transport.ts'

export type Hello = Result<'hello'>
export type LinkState = { state: 'connecting' } | { state: 'open' } | { state: 'reconnecting'; reason: string; attempt: number }

export interface ConnectionHandlers {
  /** A (new) connection is ready: everything the UI shows must be re-read from `hello`. */
  open(client: EngineClient, hello: Hello): void
  /** The connection's state changed (shown in the top bar). */
  link(state: LinkState): void
}

export function connect(handlers: ConnectionHandlers): void {
  let attempt = 0
  const retry = (reason: string) => {
    attempt++
    handlers.link({ state: 'reconnecting', reason, attempt })
    setTimeout(tryOnce, Math.min(250 * 2 ** Math.min(attempt - 1, 3), 2000))
  }
  const tryOnce = async () => {
    let client: EngineClient | null = null
    try {
      const transport = await openTransport()
      transport.onClose((reason) => retry(reason))
      client = new EngineClient(transport)
      // A page opened from an invite link (`?token=…`) shows its token: a shared session lets nothing through without it.
      const token = new URLSearchParams(location.search).get('token')
      const hello = await client.call('hello', { client: 'loom-ui', ...(token ? { token } : {}) })
      attempt = 0
      handlers.link({ state: 'open' })
      handlers.open(client, hello)
    } catch (err) {
      client?.close()
      if (!client) retry((err as Error).message)
      else console.error('loom: hello failed', err)
    }
  }
  handlers.link({ state: 'connecting' })
  void tryOnce()
}
