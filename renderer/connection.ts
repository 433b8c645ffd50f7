// Keeps the UI connected to the engine host: connects, says hello (with the
// token of the link the page was opened with), and when the connection drops,
// shows it and tries again until it is back.
import { EngineClient } from '../engine/protocol/client.ts'
import type { Result } from '../engine/protocol/messages.ts'
import { openTransport } from './transport.ts'
import { pageToken } from './pageToken.ts'

export type Hello = Result<'hello'>
export type LinkState = { state: 'connecting' } | { state: 'open' } | { state: 'reconnecting'; reason: string; attempt: number } | { state: 'refused'; reason: string }

export interface ConnectionHandlers {
  /** A (new) connection is ready: everything the UI shows must be re-read from `hello`. */
  open(client: EngineClient, hello: Hello): void
  /** The connection's state changed (shown in the top bar). */
  link(state: LinkState): void
  /** The engine refused this page's hello (a wrong or expired invite link): trying again would not help. */
  refused(message: string): void
}

/** A connection that has said hello. */
interface Link {
  client: EngineClient
  hello: Hello
}

/** Where a dropped connection is reported (set by `connect`). */
let dropped: (reason: string) => void = () => {}
/** The first attempt, when `dialEarly` started it. */
let early: Promise<Link> | null = null

/**
 * Starts the first connection and its hello now. boot.ts calls it before
 * the rest of the UI's code (Monaco is most of it) is even parsed, so the
 * engine answers while the page is still getting ready.
 */
export function dialEarly(): void {
  early ??= dial()
  // connect() takes it over; until then a failure is only noted here.
  early.catch(() => {})
}

async function dial(): Promise<Link> {
  const transport = await openTransport()
  let refused = false
  transport.onClose((reason) => refused || dropped(reason))
  const client = new EngineClient(transport)
  try {
    // The engine lets nothing through without the token of the page's link (the owner's, or an invite's).
    const token = pageToken()
    return { client, hello: await client.call('hello', { client: 'loom-ui', ...(token ? { token } : {}) }) }
  } catch (err) {
    refused = true
    client.close()
    throw Object.assign(err as Error, { saidHello: true })
  }
}

export function connect(handlers: ConnectionHandlers): void {
  let attempt = 0
  const retry = (reason: string) => {
    attempt++
    handlers.link({ state: 'reconnecting', reason, attempt })
    setTimeout(tryOnce, Math.min(250 * 2 ** Math.min(attempt - 1, 3), 2000))
  }
  dropped = retry
  const tryOnce = async () => {
    const first = early
    early = null
    try {
      const { client, hello } = await (first ?? dial())
      attempt = 0
      handlers.link({ state: 'open' })
      handlers.open(client, hello)
    } catch (err) {
      // A refused hello (a wrong token…) is not cured by trying again; a connection that did not open may be.
      if ((err as { saidHello?: boolean }).saidHello) handlers.refused((err as Error).message)
      else retry((err as Error).message)
    }
  }
  handlers.link({ state: 'connecting' })
  void tryOnce()
}
