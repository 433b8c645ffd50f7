// Hand-made changes from the projectional state editor: one `edit` event on
// the live head, like any transaction. A state that does not exist, or an
// edit that does not fit its kind, is refused by the engine at the cell that
// declares it (a LoomError, passed on as it is).
import type { Engine } from '../runtime/engine.ts'
import type { Json, Result, StateEdit } from '../protocol/messages.ts'

export function editState(engine: Engine, edits: StateEdit[], expect?: Record<string, Json>): Result<'editState'> {
  const event = engine.edit(edits, expect)
  const state = engine.state()
  const after: Record<string, Json> = {}
  for (const e of edits) if (state[e.state]) after[e.state] = state[e.state]!.value
  return { event, after }
}
