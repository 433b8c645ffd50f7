// One UI connected to the engine host: it hears every notice, and each of its
// messages is checked against the protocol and answered from the host's table
// of requests. Whatever goes wrong becomes an error response to that client.
import type { Notice, Transport } from '../protocol/messages.ts'
import { checkRequest } from '../protocol/validate.ts'
import type { Notices, Client } from './Notices.ts'
import { errorOf } from './problems.ts'
import { answerFrom, type RequestTable } from './requestTable.ts'

export interface ClientHost {
  notices: Notices
  requests: RequestTable
  /** Throws while the host cannot answer anything (it is closing). */
  checkOpen(): void
  notebookPath(): string
}

/** Serves one UI over `transport` until it closes, `greeting` first; returns a function that disconnects it. */
export function connectClient(host: ClientHost, transport: Transport, greeting: Notice[]): () => void {
  const client: Client = {
    send: (m) => {
      try {
        transport.send(m)
      } catch {
        host.notices.clients.delete(client) // its transport is gone; the others carry on
      }
    },
  }
  host.notices.clients.add(client)
  const stop = transport.onMessage((m) => void receive(host, client, m))
  const disconnect = () => {
    stop()
    host.notices.clients.delete(client)
  }
  transport.onClose(disconnect)
  for (const notice of greeting) client.send({ kind: 'notice', notice })
  return disconnect
}

/** Answers one message. Never throws. */
async function receive(host: ClientHost, client: Client, message: unknown): Promise<void> {
  const checked = checkRequest(message)
  if (!checked.ok) return client.send({ kind: 'response', id: checked.id, ok: false, error: checked.problem })
  const { id, op, params } = checked.request
  try {
    host.checkOpen()
    const result = await answerFrom(host.requests, op, params)
    client.send({ kind: 'response', id, ok: true, result })
  } catch (err) {
    client.send({ kind: 'response', id, ok: false, error: errorOf(err, host.notebookPath()) })
  }
}
