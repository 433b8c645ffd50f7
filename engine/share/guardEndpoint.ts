// The engine protocol in a shared session: a connection is not relayed to
// the engine until its `hello` carries a valid token; from then on every
// request is checked against the token's role. Refusals are ordinary error
// responses (a ProblemView saying why and what to do), and the connection
// stays open so a page can ask again with a better link. The answer to a
// good `hello` also tells the page its role and where the shared document is.
// Every message is checked (protocol/validate.ts) before anything reads it.
import type { Message, ShareView, Transport } from '../protocol/messages.ts'
import { checkRequest, refusalOf } from '../protocol/validate.ts'
import type { EngineEndpoint } from '../host/engineSocket.ts'
import { allows, roleFor, roleOfToken, WHAT, type Role, type Tokens } from './roles.ts'

/** Where the shared document is (`sync` null: the page's own server), known once the session has started. */
export type SyncPlace = () => { sync: string | null; room: string; port: number }

/** More guests than this on the engine protocol at once: a further hello is refused (strangers do not count; see Admission.ts). */
export const MAX_GUESTS = 200
/** A connection that has not said hello with a valid token by then is closed, on either listener. */
export const HELLO_WITHIN_MS = 5_000

export function guardEndpoint(endpoint: EngineEndpoint, tokens: Tokens, place?: SyncPlace): EngineEndpoint {
  let guests = 0
  return {
    connect(outer: Transport, admit?: () => void): () => void {
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
      const send = (m: Message) => {
        try {
          outer.send(m)
        } catch {
          // gone already
        }
      }
      const refuse = (id: number, message: string) => send({ kind: 'response', id, ok: false, error: { message } })
      const late = setTimeout(() => role === null && outer.close('no hello with a valid token in time; open the session with an invite link'), HELLO_WITHIN_MS)
      late.unref?.()
      outer.onClose(() => clearTimeout(late))
      outer.onMessage((message) => {
        const checked = checkRequest(message)
        if (!checked.ok) return send(refusalOf(checked))
        const { id, op, params } = checked.request
        if (role === null) {
          if (op !== 'hello') return refuse(id, `this session is shared: say hello with the token from your invite link first (${op} was refused)`)
          const token = params.token
          const granted = roleOfToken(tokens, token)
          if (granted === null) {
            return refuse(id, token === undefined ? 'this session is shared: open it with an invite link (its token is missing)' : 'the token of this link is not valid for this session; ask the person who shares it for a new link')
          }
          if (guests >= MAX_GUESTS) return refuse(id, `this session already has ${MAX_GUESTS} guests connected; try again later`)
          role = granted
          guests++
          outer.onClose(() => guests--)
          admit?.()
          disconnect = endpoint.connect(inner)
        } else {
          const needed = roleFor(op, params)
          if (needed && !allows(role, needed)) {
            return refuse(id, `you joined with a ${role} link, which can ${WHAT[role]}; ${op} needs a ${needed} link (${WHAT[needed]}) — ask the person who shares the session`)
          }
        }
        if (op === 'hello') hellos.add(id)
        const request: Message = { kind: 'request', id, op, params }
        for (const fn of receivers) fn(request)
      })
      return () => disconnect?.()
    },
  }
}
