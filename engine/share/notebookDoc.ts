// The notebook as a Yjs document, the shape everyone in a shared session
// edits: `doc.getArray('cells')` holds one Y.Map per block of the file, in
// file order, and the notebook file is written back from it. Blocks nobody
// touched keep their bytes (their original text is kept beside the Y.Text).
//
// A block's Y.Map:
//   id     string    code: its cell id (`state`, `cell-3`); prose: `prose-N`; front matter: `front`
//   kind   'code' | 'prose' | 'front'
//   text   Y.Text    what people edit: a code cell's source, a prose block's text between its
//                    blank lines, the whole front matter (both `---` lines included)
//   info   string    code only: the fence's info string (`ts #state`)
//   cell   string    code only: the parsed cell (JSON) it came from, to rebuild its fence
//   lead, trail      prose only: the blank lines around the text, kept as they were
//   orig   string    the text as loaded, so an unchanged block is written byte for byte
import * as Y from 'yjs'
import { parseNotebook, serializeNotebook, setCellSource, type CodeCell, type Notebook } from '../runtime/notebook.ts'
import { blockProblem } from './cellSchema.ts'

export type BlockKind = 'code' | 'prose' | 'front'

/** One block as plain values (what the renderer and the host read). */
export interface DocCell {
  id: string
  kind: BlockKind
  source: string
}

const CELLS = 'cells'

export function cellsOf(doc: Y.Doc): Y.Array<Y.Map<unknown>> {
  return doc.getArray<Y.Map<unknown>>(CELLS)
}

/** The blocks of the document that have the shape above; junk a guest put there is left out (cellSchema.ts). */
export function blocksOf(doc: Y.Doc): Y.Map<unknown>[] {
  return cellsOf(doc).toArray().filter((m) => blockProblem(m) === null)
}

function proseParts(text: string): { lead: string; body: string; trail: string } {
  const lead = /^\uFEFF?(?:[ \t]*\r?\n)*/.exec(text)![0]
  const rest = text.slice(lead.length)
  const trail = /(?:\r?\n[ \t]*)*$/.exec(rest)![0]
  return { lead, body: rest.slice(0, rest.length - trail.length), trail }
}

function block(fields: Record<string, unknown>, text: string): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(fields)) m.set(k, v)
  m.set('text', new Y.Text(text))
  return m
}

/** Fills an empty document with the notebook's blocks (one transaction, origin `origin`). */
export function fillDoc(doc: Y.Doc, nb: Notebook, origin: unknown = 'file'): void {
  const blocks: Y.Map<unknown>[] = []
  if (nb.frontMatter !== null) blocks.push(block({ id: 'front', kind: 'front', orig: nb.frontMatter }, nb.frontMatter))
  let prose = 0
  for (const b of nb.blocks) {
    if (b.type === 'code') {
      blocks.push(block({ id: b.id, kind: 'code', info: b.info, cell: JSON.stringify(b), orig: b.source }, b.source))
    } else {
      const { lead, body, trail } = proseParts(b.text)
      // CRLF files: people edit with "\n"; the file's line ending comes back on save.
      blocks.push(block({ id: `prose-${++prose}`, kind: 'prose', lead, trail, eol: /\r\n/.test(b.text) ? '\r\n' : '\n', orig: b.text }, body.replace(/\r\n/g, '\n')))
    }
  }
  doc.transact(() => cellsOf(doc).push(blocks), origin)
}

/** A new document holding the notebook. */
export function docFromNotebook(nb: Notebook): Y.Doc {
  const doc = new Y.Doc()
  fillDoc(doc, nb)
  return doc
}

export function readCells(doc: Y.Doc): DocCell[] {
  return blocksOf(doc).map((m) => ({ id: m.get('id') as string, kind: m.get('kind') as BlockKind, source: (m.get('text') as Y.Text).toString() }))
}

/** The notebook file's text as the document holds it now (DESIGN §2; byte-identical when nothing changed). */
export function notebookText(doc: Y.Doc): string {
  let out = ''
  for (const m of blocksOf(doc)) {
    const text = (m.get('text') as Y.Text).toString()
    const orig = m.get('orig') as string | undefined
    const kind = m.get('kind') as BlockKind
    let piece: string
    if (kind === 'front') piece = text
    else if (kind === 'prose') {
      const eol = (m.get('eol') as string | undefined) ?? '\n'
      const lead = (m.get('lead') as string | undefined) ?? ''
      const trail = (m.get('trail') as string | undefined) ?? '\n\n'
      piece = orig !== undefined && text === proseParts(orig).body.replace(/\r\n/g, '\n') ? orig : lead + text.replace(/\n/g, eol) + trail
    } else piece = codeText(m, text)
    // A block always starts on a line of its own.
    if (out !== '' && !out.endsWith('\n') && piece !== '') out += '\n'
    out += piece
  }
  return out
}

function codeText(m: Y.Map<unknown>, source: string): string {
  const saved = m.get('cell') as string | undefined
  const cell: CodeCell = saved
    ? (JSON.parse(saved) as CodeCell)
    : { type: 'code', id: m.get('id') as string, explicitId: true, lang: 'ts', info: (m.get('info') as string | undefined) ?? `ts #${m.get('id') as string}`, fence: '```', indent: '', source: '', line: 1, raw: '```' + ((m.get('info') as string | undefined) ?? `ts #${m.get('id') as string}`) + '\n```\n' }
  if (saved && source === m.get('orig')) return cell.raw
  // notebook.ts rebuilds the fence (longer if the code would close it) with the cell's own line endings.
  const one: Notebook = { path: '<shared>', frontMatter: null, settings: {}, blocks: [cell], cells: [cell] }
  return serializeNotebook(setCellSource(one, cell.id, source))
}

/** Adds a code or prose cell after the block with id `after` (null: at the top); the id must be new. */
export function addDocCell(doc: Y.Doc, after: string | null, kind: 'code' | 'prose', id: string, source: string, origin?: unknown): void {
  const cells = cellsOf(doc)
  const first = cells.length ? (cells.get(0) as unknown) : null
  const at = after === null ? (first instanceof Y.Map && first.get('kind') === 'front' ? 1 : 0) : cells.toArray().findIndex((m) => m instanceof Y.Map && m.get('id') === after) + 1
  const fields: Record<string, unknown> = kind === 'code' ? { id, kind, info: `ts #${id}` } : { id, kind, lead: '\n', trail: '\n\n' }
  if (kind === 'code') fields.lead = '\n'
  doc.transact(() => cells.insert(Math.max(at, 0), [block(fields, source)]), origin)
}

export function deleteDocCell(doc: Y.Doc, id: string, origin?: unknown): void {
  const i = cellsOf(doc).toArray().findIndex((m) => m instanceof Y.Map && m.get('id') === id)
  if (i >= 0) doc.transact(() => cellsOf(doc).delete(i, 1), origin)
}

/** Parses what the document holds (throws NotebookError when it does not parse). */
export function notebookOfDoc(doc: Y.Doc, path: string): Notebook {
  return parseNotebook(notebookText(doc), path)
}

/**
 * Makes the document hold `text`, a change that came another way (an edit
 * through the engine protocol). When the blocks are the same ones in the same
 * order, each keeps its Y.Text and takes the change as one small edit, so
 * typing under way elsewhere merges with it; otherwise the blocks are
 * replaced. Throws NotebookError when `text` does not parse.
 */
export function followText(doc: Y.Doc, text: string, path: string, origin: unknown): void {
  const nb = parseNotebook(text, path)
  const next = cellsOf(docFromNotebook(nb)).toArray()
  const cur = blocksOf(doc)
  const same = cur.length === cellsOf(doc).length && next.length === cur.length && next.every((m, i) => m.get('id') === cur[i]!.get('id') && m.get('kind') === cur[i]!.get('kind'))
  doc.transact(() => {
    if (!same) {
      cellsOf(doc).delete(0, cellsOf(doc).length)
      return fillDoc(doc, nb, origin)
    }
    next.forEach((m, i) => {
      const into = cur[i]!
      for (const [k, v] of m.entries()) {
        if (v instanceof Y.Text) replaceText(into.get(k) as Y.Text, v.toString())
        else if (into.get(k) !== v) into.set(k, v)
      }
    })
  }, origin)
}

/** One delete and one insert around what the old and new text share. */
function replaceText(text: Y.Text, value: string): void {
  const old = text.toString()
  if (old === value) return
  let start = 0
  while (start < old.length && start < value.length && old[start] === value[start]) start++
  let end = 0
  while (end < old.length - start && end < value.length - start && old[old.length - 1 - end] === value[value.length - 1 - end]) end++
  if (old.length - start - end > 0) text.delete(start, old.length - start - end)
  if (value.length - start - end > 0) text.insert(start, value.slice(start, value.length - end))
}
