// Code the app ran that its file never had: a window's live edits, not saved
// before the `loom serve` that ran them stopped (a crash, kill -9, a power
// cut). The log keeps every code version's cells, so when a notebook opens on
// a branch whose last code is not the file's, and that code ran after the
// file was last written (so it is not an edit made to the file since), its
// cells are offered back instead of lost in silence.
import { stat } from 'node:fs/promises'
import type { EventRecord } from '../runtime/event.ts'
import { parseNotebook, type Notebook } from '../runtime/notebook.ts'
import type { HistoryLog } from '../replay/historyLog.ts'
import type { UnsavedCode } from '../protocol/messages.ts'
import { withCellAdded, withCellSource } from './notebookCells.ts'

/**
 * What to offer back, or null: `last` is the branch's last code event before the notebook
 * opened, `running` the code hash the app runs now (the file's).
 */
export async function unsavedCode(log: HistoryLog, last: EventRecord | undefined, running: string, nb: Notebook): Promise<UnsavedCode | null> {
  const path = nb.path
  if (!last || last.codeHash === running) return null
  // The file written after that code ran: an edit made to the file since, which is what runs now.
  const written = await stat(path).then((s) => s.mtimeMs, () => Infinity)
  if (written >= last.time) return null
  const sources = log.getCode(last.codeHash)?.sources ?? []
  if (!sources.length) return null
  // The file with each cell as that code had it; a cell the file lacks comes after the others.
  let model = nb
  let text = ''
  for (const s of sources) {
    text = model.cells.some((c) => c.id === s.id) ? withCellSource(model, s.id, s.source) : appended(model, s.source)
    model = parseNotebook(text, path)
  }
  return { event: last.seq, codeHash: last.codeHash, text }
}

function appended(nb: Notebook, source: string): string {
  const last = nb.cells.at(-1)?.id ?? null
  const added = withCellAdded(nb, last, 'code', '')
  return withCellSource(parseNotebook(added.text, nb.path), added.cell, source)
}
