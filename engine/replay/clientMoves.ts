// What the app's clients() would send next in a world, as exploration's http
// actions: clients() runs read-only, like a test, once per sequence of answers
// to its choices, and each distinct request it makes is one action.
import { canonicalText, type Json } from '../runtime/values.ts'
import type { SourceLocation } from '../runtime/event.ts'
import type { HttpRequest } from '../runtime/http.ts'
import { EveryChoiceAgent } from '../runtime/agent.ts'
import { runTest } from '../runtime/transaction/runTransaction.ts'
import { clientRequest } from './clients.ts'
import { memoSuffix, type World } from './worlds.ts'
import type { Action, Model } from './model.ts'

/** What clients() sends in a world: each distinct request, or what is wrong with it. */
export interface ClientMoves {
  actions: Action[]
  problem: { message: string; location: SourceLocation | null } | null
  /** It had more choice sequences than were tried. */
  cut: boolean
}

/** Runs clients() in `world` under every sequence of answers (at most `max`). Call inside `exec.run`. */
export function clientMovesIn(model: Model, world: World, max: number): ClientMoves {
  const fn = model.version.methods.clients!
  const at = model.app.methodAt.clients ?? null
  const check = { name: 'clients()', property: fn as () => unknown, at }
  const agent = new EveryChoiceAgent()
  const seen = new Set<string>()
  const moves: ClientMoves = { actions: [], problem: null, cut: false }
  const tail = memoSuffix(world.at, model.time)
  for (let runs = 1; ; runs++) {
    model.enter(world)
    const { tx, result } = runTest(model.exec, model.version, check, agent)
    if (tx.failure) {
      moves.problem = { message: `clients() ${tx.failure.aborted ? 'aborts' : 'throws'}: ${tx.failure.reason.replace('a test cannot', 'clients() cannot')}`, location: tx.failure.location ?? at }
      break
    }
    const answer = clientRequest(result)
    if ('problem' in answer) {
      moves.problem = { message: answer.problem, location: at }
      break
    }
    if (answer.request) addClient(moves, seen, answer.request, tail)
    if (!agent.next(tx.choices.length)) break
    if (runs >= max) {
      moves.cut = true
      break
    }
  }
  return moves
}

function addClient(moves: ClientMoves, seen: Set<string>, request: HttpRequest, tail: string): void {
  const text = canonicalText(request as unknown as Json)
  if (seen.has(text)) return
  seen.add(text)
  moves.actions.push({ method: 'http', input: request as unknown as Json, memo: `http ${text}${tail}`, client: true })
}
