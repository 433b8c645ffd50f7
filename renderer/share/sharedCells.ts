// The shared notebook's cells as a page reads and changes them. The Yjs
// document's shape is engine/share/notebookDoc.ts's — an array `cells` of
// Y.Map blocks in file order, each with `id`, `kind` and its text as a
// Y.Text — and the host writes the file back from it. Structural changes
// (add, move, delete) are one transaction each, so everyone sees them whole.
import * as Y from 'yjs'

export type SharedKind = 'code' | 'prose'

export interface SharedCell {
  id: string
  kind: SharedKind
  text: Y.Text
}

export function cellsOf(doc: Y.Doc): Y.Array<Y.Map<unknown>> {
  return doc.getArray<Y.Map<unknown>>('cells')
}

/**
 * The blocks people see, in order: code and prose, but not the front matter,
 * nor the blank space between cells as the file had it (prose whose text is
 * blank and that came from the file). A new empty text block is shown.
 */
export function visibleCells(doc: Y.Doc): SharedCell[] {
  const out: SharedCell[] = []
  for (const m of cellsOf(doc) as Y.Array<unknown>) {
    // Junk a guest put there (a number, a bare text) until the host takes it out again.
    if (!(m instanceof Y.Map)) continue
    const kind = m.get('kind')
    const text = m.get('text')
    if ((kind !== 'code' && kind !== 'prose') || !(text instanceof Y.Text)) continue
    if (kind === 'prose' && m.get('orig') !== undefined && text.toString().trim() === '') continue
    out.push({ id: String(m.get('id')), kind, text })
  }
  return out
}

function indexOf(doc: Y.Doc, id: string): number {
  return cellsOf(doc).toArray().findIndex((m) => m instanceof Y.Map && m.get('id') === id)
}

/** An id nobody has yet; random, so that two people adding a cell at once do not pick the same one. */
function freshId(doc: Y.Doc, prefix: string): string {
  const taken = new Set(cellsOf(doc).toArray().map((m) => (m instanceof Y.Map ? m.get('id') : null)))
  for (;;) {
    const id = `${prefix}-${Math.random().toString(36).slice(2, 6)}`
    if (!taken.has(id)) return id
  }
}

function block(fields: Record<string, unknown>, text: string): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) m.set(k, v)
  m.set('text', new Y.Text(text))
  return m
}

/** Blank lines as the file would have them, invisible here: keeps a new code cell off the fence before it. */
const blankLine = (doc: Y.Doc) => block({ id: freshId(doc, 'blank'), kind: 'prose', lead: '\n', trail: '', eol: '\n', orig: '\n' }, '')

/** Adds an empty cell after `after` (null: at the top, below the front matter); returns its id. */
export function addCell(doc: Y.Doc, after: string | null, kind: SharedKind): string {
  const cells = cellsOf(doc)
  const first = cells.length ? (cells.get(0) as unknown) : null
  const at = after === null ? (first instanceof Y.Map && first.get('kind') === 'front' ? 1 : 0) : indexOf(doc, after) + 1
  const id = freshId(doc, kind === 'code' ? 'code' : 'prose')
  const blocks =
    kind === 'code'
      ? [blankLine(doc), block({ id, kind: 'code', info: `ts #${id}` }, '')]
      : [block({ id, kind: 'prose', lead: '\n', trail: '\n', eol: '\n' }, '')]
  doc.transact(() => cells.insert(Math.max(0, at), blocks))
  return id
}

export function deleteCell(doc: Y.Doc, id: string): void {
  const at = indexOf(doc, id)
  if (at >= 0) doc.transact(() => cellsOf(doc).delete(at, 1))
}

/** Moves a cell one place up or down among the visible cells. Yjs has no move: the block is copied, with its text as it is now. */
export function moveCell(doc: Y.Doc, id: string, by: -1 | 1): void {
  const visible = visibleCells(doc)
  const i = visible.findIndex((c) => c.id === id)
  const neighbour = visible[i + by]
  if (i < 0 || !neighbour) return
  doc.transact(() => {
    const cells = cellsOf(doc)
    const from = indexOf(doc, id)
    const old = cells.get(from)
    const copy = new Y.Map<unknown>()
    for (const [k, v] of old.entries()) copy.set(k, v instanceof Y.Text ? new Y.Text(v.toString()) : v)
    cells.delete(from, 1)
    const to = indexOf(doc, neighbour.id)
    cells.insert(by < 0 ? to : to + 1, [copy])
  })
}

/** Makes `text` hold `value` with one delete and one insert around what they share (a textarea's edit). */
export function setText(text: Y.Text, value: string): void {
  const old = text.toString()
  if (old === value) return
  let start = 0
  while (start < old.length && start < value.length && old[start] === value[start]) start++
  let end = 0
  while (end < old.length - start && end < value.length - start && old[old.length - 1 - end] === value[value.length - 1 - end]) end++
  text.doc!.transact(() => {
    if (old.length - start - end > 0) text.delete(start, old.length - start - end)
    if (value.length - start - end > 0) text.insert(start, value.slice(start, value.length - end))
  })
}
