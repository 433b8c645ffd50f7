// The engine protocol in a shared session: a connection is not relayed to
// the engine until its `hello` carries a valid token; from then on every
// request is checked against the token's role. Refusals are ordinary error
// responses (a ProblemView saying why and what to do), and the connection
// stays open so a page can ask again with a better link. The answer to a
// good `hello` also tells the page its role and where the shared document is.
import type { Message, ShareView, Transport } from '../protocol/messages.ts'
import type { EngineEndpoint } from '../host/engineSocket.ts'
import { allows, roleFor, roleOfToken, WHAT, type Role, type Tokens } from './roles.ts'

/** Where the shared document is (`sync` null: the page's own server), known once the session has started. */
export type SyncPlace = () => { sync: string | null; room: string; port: number }

export function guardEndpoint(endpoint: EngineEndpoint, tokens: Tokens, place?: SyncPlace): EngineEndpoint {
  return {
    connect(outer: Transport): () => void {
      let role: Role | null = null
      let disconnect: (() => void) | null = null
      /** The ids of `hello` requests on their way to the engine: their answers say where the shared document is. */
      const hellos = new Set<number>()
      const receivers = new Set<(m: Message) => void>()
      // What the engine sees: the same connection, minus what this guard answered itself.
      const inner: Transport = {
        send: (m) => {
          if (m.kind === 'response' && hellos.delete(m.id) && m.ok && role && place) {
            const share: ShareView = { role, ...place(), can: WHAT }
            return outer.send({ ...m, result: { ...(m.result as object), share } })
          }
          outer.send(m)
        },
        onMessage(fn) {
          receivers.add(fn)
          return () => receivers.delete(fn)
        },
        onClose: (fn) => outer.onClose(fn),
        close: () => outer.close(),
      }
      const refuse = (id: number, message: string) => {
        try {
          outer.send({ kind: 'response', id, ok: false, error: { message } })
        } catch {
          // gone already
        }
      }
      outer.onMessage((message) => {
        const m = message as { kind?: unknown; id?: unknown; op?: unknown; params?: unknown }
        const id = typeof m.id === 'number' ? m.id : 0
        if (m.kind !== 'request' || typeof m.op !== 'string') return refuse(id, 'the engine answers requests only, like {"kind":"request","id":1,"op":"hello","params":{"token":"…"}}')
        if (role === null) {
          if (m.op !== 'hello') return refuse(id, `this session is shared: say hello with the token from your invite link first (${m.op} was refused)`)
          const token = (m.params as { token?: unknown } | undefined)?.token
          const granted = roleOfToken(tokens, token)
          if (granted === null) {
            return refuse(id, token === undefined ? 'this session is shared: open it with an invite link (its token is missing)' : 'the token of this link is not valid for this session; ask the person who shares it for a new link')
          }
          role = granted
          disconnect = endpoint.connect(inner)
        } else {
          const needed = roleFor(m.op, m.params)
          if (needed && !allows(role, needed)) {
            return refuse(id, `you joined with a ${role} link, which can ${WHAT[role]}; ${m.op} needs a ${needed} link (${WHAT[needed]}) — ask the person who shares the session`)
          }
        }
        if (m.op === 'hello') hellos.add(id)
        for (const fn of receivers) fn(message)
      })
      return () => disconnect?.()
    },
  }
}
