// Hand-made changes from the projectional state editor: one `edit` event on
// the live head, like any transaction. A state that does not exist, or an
// edit that does not fit its kind, is refused at the cell that declares it.
import type { Engine } from '../runtime/engine.ts'
import type { Notebook } from '../runtime/notebook.ts'
import type { Json, Result, StateEdit, Where } from '../protocol/messages.ts'
import { cellViews } from './notebookCells.ts'
import { Refusal } from './problems.ts'

export function editState(engine: Engine, edits: StateEdit[], notebook: Notebook | null, file: string, expect?: Record<string, Json>): Result<'editState'> {
  try {
    const event = engine.edit(edits, expect)
    const state = engine.state()
    const after: Record<string, Json> = {}
    for (const e of edits) if (state[e.state]) after[e.state] = state[e.state]!.value
    return { event, after }
  } catch (err) {
    const message = (err as Error).message.replace(/^edit: /, '')
    const missing = /^there is no state '([^']+)'/.exec(message)?.[1]
    if (missing !== undefined) {
      // Only now, on the way out, is the whole state worth copying for its names.
      const names = Object.keys(engine.state())
      throw new Refusal(`cannot edit: there is no state '${missing}'${names.length ? `; the states are ${names.join(', ')}` : ''}`, { file })
    }
    const named = /state '([^']+)'/.exec(message)?.[1]
    throw new Refusal(`cannot edit: ${message}`, named ? declaredAt(named, notebook, file) : { file })
  }
}

/** Where a state is declared: its cell, as the notebook view names it. */
function declaredAt(state: string, notebook: Notebook | null, file: string): Where {
  const cell = notebook ? cellViews(notebook).find((c) => c.declares?.includes(state)) : undefined
  return cell ? { file, cell: cell.id } : { file }
}
