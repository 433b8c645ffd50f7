// The notebook's own requests: save, and the edits that live-code the app
// (the whole text, a cell's source, a cell added, deleted or moved). Each runs
// in its turn, after the edits, saves and steps asked for before it.
import type { HostAccess } from './HostAccess.ts'
import type { HostNotebook } from './HostNotebook.ts'
import type { Handlers } from './requestTable.ts'
import type { GuestEdit } from '../protocol/messages.ts'
import { withCellAdded, withCellDeleted, withCellMoved, withCellSource } from './notebookCells.ts'

type NotebookOps = 'notebook' | 'save' | 'editNotebook' | 'editCell' | 'addCell' | 'deleteCell' | 'moveCell'

export function notebookRequests(host: HostAccess, notebook: HostNotebook): Handlers<NotebookOps> {
  const edit = (change: () => string, p: GuestEdit) => host.exclusive(() => notebook.edit(change, p.asGuest === true))
  return {
    notebook: () => notebook.view(),
    save: (p) => host.exclusive(() => notebook.save(p.text, p.path, p.overwrite === true)),
    editNotebook: (p) => edit(() => p.text, p),
    editCell: (p) => edit(() => withCellSource(notebook.editable(), p.cell, p.source), p),
    addCell: (p) =>
      host.exclusive(async () => {
        let cell = ''
        const r = await notebook.edit(() => {
          const added = withCellAdded(notebook.editable(), p.after, p.kind, p.source)
          cell = added.cell
          return added.text
        }, p.asGuest === true)
        return { ...r, cell }
      }),
    deleteCell: (p) => edit(() => withCellDeleted(notebook.editable(), p.cell), p),
    moveCell: (p) => edit(() => withCellMoved(notebook.editable(), p.cell, p.to).text, p),
  }
}
