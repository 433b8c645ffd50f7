// Who is this connection: the one door of the engine protocol for every page
// `loom serve` serves, shared or not. A connection is not relayed to the
// engine until its `hello` carries a valid token (the owner's, or an invite
// link's); a first message that is anything else, or a wrong token, is
// answered with why (a LoomError the page shows) and the connection is
// closed, so nothing is handled for it. From then on every request is
// checked against the token's role, refusals leave the connection open, and
// what a guest is sent has the credentials of recorded requests blanked.
// The answer to a good `hello` in a shared session also tells the page its
// role and where the shared document is; a guest sees the notebook by its
// file name, never the host's folders (hideHostPaths.ts). Every message is checked
// (protocol/validate.ts) before anything reads it.
import type { Message, ShareView, Transport } from '../protocol/messages.ts'
import { checkRequest, refusalOf } from '../protocol/validate.ts'
import type { EngineEndpoint, GuardedEndpoint } from '../host/engineSocket.ts'
import { allows, aRole, roleFor, roleOfToken, WHAT, type Role, type Tokens } from './roles.ts'
import { redactCredentials, redactJsonLines } from '../protocol/redactCredentials.ts'
import { hideHostPaths } from './hideHostPaths.ts'

/** How long a connection may stay open without a good hello. */
export const HELLO_WITHIN_MS = 5_000

/** Where the shared document is (`sync` null: the page's own server), known once the session has started. */
export type SyncPlace = () => { sync: string | null; room: string; port: number }

/** More guests than this on the engine protocol at once: a further hello is refused (strangers do not count; see Admission.ts). */
export const MAX_GUESTS = 200

/**
 * `place`: set when the session is shared (hello then tells each page its role and the shared document).
 * `notebook`: the notebook's path, whose folders guests are not shown.
 */
export function guardEndpoint(endpoint: EngineEndpoint, tokens: Tokens, place?: SyncPlace, notebook?: string): GuardedEndpoint {
  let guests = 0
  return {
    guarded: 'by token',
    connect(outer: Transport, admit?: () => void): () => void {
      let role: Role | null = null
      let disconnect: (() => void) | null = null
      let closed = false
      // A connection that never says hello (or never gets it right) does not hold a socket for ever.
      const silent = setTimeout(() => role === null && close(), HELLO_WITHIN_MS)
      silent.unref?.()
      /** Stops handling this connection now, and closes it once what was just sent (the refusal) is on its way. */
      const close = () => {
        if (closed) return
        closed = true
        clearTimeout(silent)
        queueMicrotask(() => {
          try {
            outer.close()
          } catch {
            // gone already
          }
        })
      }
      outer.onClose(() => {
        closed = true
        clearTimeout(silent)
      })
      /** The ids of `hello` requests on their way to the engine: their answers say where the shared document is. */
      const hellos = new Set<number>()
      /** The ids of `exportBranch` requests: their answer is JSON lines in a string, which a guest gets redacted line by line. */
      const exports = new Set<number>()
      const receivers = new Set<(m: Message) => void>()
      // What the engine sees: the same connection, minus what this guard answered itself.
      const inner: Transport = {
        send: (m) => {
          if (m.kind === 'response' && hellos.delete(m.id) && m.ok && role && place) {
            const share: ShareView = { role, ...place(), can: WHAT }
            m = { ...m, result: { ...(m.result as object), share } }
          }
          if (role === 'owner') return outer.send(m)
          // The owner sees their requests as recorded; a guest does not get their credentials.
          if (m.kind === 'response' && exports.delete(m.id) && m.ok) {
            const { text } = m.result as { text: string }
            m = { ...m, result: { ...(m.result as object), text: redactJsonLines(text) } }
          }
          outer.send(redactCredentials(notebook === undefined ? m : hideHostPaths(m, notebook)))
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
      const refuse = (id: number, message: string) => send({ kind: 'response', id, ok: false, error: { code: 'refused', message } })
      outer.onMessage((message) => {
        if (closed) return
        const checked = checkRequest(message)
        const shared = place !== undefined
        // Before a good hello, any refusal also ends the connection: nothing else is handled for a stranger.
        const turnAway = (id: number, why: string) => {
          refuse(id, why)
          close()
        }
        if (!checked.ok) {
          send(refusalOf(checked))
          if (role === null) close()
          return
        }
        const { id, op, params } = checked.request
        if (role === null) {
          const link = shared ? 'the token from your invite link' : 'the token of the address loom serve printed'
          if (op !== 'hello') return turnAway(id, `say hello with ${link} first (${op} was refused)`)
          const token = params.token
          const granted = roleOfToken(tokens, token)
          if (granted === null) {
            if (token === undefined) return turnAway(id, shared ? 'this session is shared: open it with an invite link (its token is missing)' : 'open Loom with the address loom serve printed: it carries a token, and this page was opened without one')
            return turnAway(id, shared ? 'the token of this link is not valid for this session (each start of loom serve makes new ones): ask the person who shares it for a new link, or, if you started it, open the address it printed' : 'the token of this address is not valid for this loom serve (it changes each time loom serve starts); open the address it printed')
          }
          if (granted !== 'owner' && guests >= MAX_GUESTS) return refuse(id, `this session already has ${MAX_GUESTS} guests connected; try again later`)
          role = granted
          clearTimeout(silent)
          if (granted !== 'owner') {
            guests++
            outer.onClose(() => guests--)
          }
          admit?.()
          disconnect = endpoint.connect(inner)
        } else {
          const needed = roleFor(op)
          if (needed && !allows(role, needed)) {
            return refuse(id, `you joined with ${aRole(role)} link, which can ${WHAT[role]}; ${op} needs ${aRole(needed)} link (${WHAT[needed]}) — ask the person who shares the session`)
          }
        }
        if (op === 'hello') hellos.add(id)
        if (op === 'exportBranch' && role !== 'owner') exports.add(id)
        // A guest's edit is marked as one, whatever it said: the engine keeps the front matter (the grants) the owner's.
        const request: Message = { kind: 'request', id, op, params: role !== 'owner' && roleFor(op) === 'edit' ? { ...params, asGuest: true } : params }
        for (const fn of receivers) fn(request)
      })
      return () => disconnect?.()
    },
  }
}
