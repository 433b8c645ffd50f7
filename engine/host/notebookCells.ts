// The notebook as the UI sees it — code cells and prose, each with an id —
// and the structural edits (add, delete, move, change a cell), each made on
// the file's text so that everything not touched keeps its bytes.
import { parseNotebook, setCellSource, type Block, type Notebook } from '../runtime/notebook.ts'
import type { CellView } from '../protocol/messages.ts'
import { Refusal } from './problems.ts'

interface Placed {
  view: CellView
  block: Block
  /** Where the block's text starts in the file. */
  start: number
  end: number
}

const DECLARE = /\bstate\s*\.\s*(?:var|map|queue|bag|counter)\s*(?:<[\s\S]*?>)?\s*\(\s*(['"`])([^'"`\n]+)\1/g
const BINDING = /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*state\s*\.\s*(?:var|map|queue|bag|counter)\s*(?:<[\s\S]*?>)?\s*\(\s*(['"`])([^'"`\n]+)\2/g

/** The state names a cell declares (`state.map('accounts', …)` → accounts), for the live values beside it. */
export function declaredStates(source: string): string[] {
  return [...new Set([...source.matchAll(DECLARE)].map((m) => m[2]!))]
}

/** Variable name → state name, where a cell binds a declaration to a name (`const accts = state.map('accounts')`). */
export function stateBindings(nb: { cells: readonly { source: string }[] }): Map<string, string> {
  const out = new Map<string, string>()
  for (const cell of nb.cells) for (const m of cell.source.matchAll(BINDING)) out.set(m[1]!, m[3]!)
  return out
}

/** Prose keeps its blank lines around it in the file; the UI edits what is between them. */
function proseParts(text: string): { lead: string; body: string; trail: string } {
  const lead = /^\uFEFF?(?:[ \t]*\r?\n)*/.exec(text)![0]
  const rest = text.slice(lead.length)
  const trail = /(?:\r?\n[ \t]*)*$/.exec(rest)![0]
  return { lead, body: rest.slice(0, rest.length - trail.length), trail }
}

/** Each visible block with its id: code cells by their id, prose as prose-N (the N-th prose shown). */
export function placedCells(nb: Notebook): Placed[] {
  const out: Placed[] = []
  let offset = nb.frontMatter?.length ?? 0
  let prose = 0
  for (const block of nb.blocks) {
    const text = block.type === 'prose' ? block.text : block.raw
    const start = offset
    offset += text.length
    if (block.type === 'code') {
      out.push({ view: { id: block.id, kind: 'code', source: block.source, declares: declaredStates(block.source) }, block, start, end: offset })
    } else {
      const body = proseParts(text).body
      // Blank space between two cells is not a cell of its own.
      if (body.trim() !== '') out.push({ view: { id: `prose-${++prose}`, kind: 'prose', source: body }, block, start, end: offset })
    }
  }
  return out
}

export function cellViews(nb: Notebook): CellView[] {
  return placedCells(nb).map((p) => p.view)
}

function find(nb: Notebook, id: string): Placed {
  const placed = placedCells(nb).find((p) => p.view.id === id)
  if (!placed) throw new Refusal(`there is no cell '${id}' in ${nb.path}; the notebook may have changed — reload it`, { file: nb.path, cell: id }, 'badInput')
  return placed
}

function eolOf(text: string): string {
  return /\r\n/.test(text) ? '\r\n' : '\n'
}

function textOf(nb: Notebook): string {
  return (nb.frontMatter ?? '') + nb.blocks.map((b) => (b.type === 'prose' ? b.text : b.raw)).join('')
}

/** The file's text with cell `id` holding `source`; only that cell's bytes change. */
export function withCellSource(nb: Notebook, id: string, source: string): string {
  const placed = find(nb, id)
  if (placed.block.type === 'code') return textOf(setCellSource(nb, id, source))
  const text = textOf(nb)
  const { lead, trail } = proseParts(placed.block.text)
  const eol = eolOf(placed.block.text)
  return text.slice(0, placed.start) + lead + source.replace(/\r\n|\r|\n/g, eol) + trail + text.slice(placed.end)
}

/** Inserts a block's text at `at`, with a blank line on either side; returns the text and where the block begins. */
function insertAt(text: string, at: number, block: string, eol: string, bodyStart: number): { text: string; at: number } {
  let before = text.slice(0, at)
  let after = text.slice(at)
  if (before && !before.endsWith('\n')) before += eol
  // A blank line between cells, but none added after the front matter (deleting the cell could not tell it from one of the author's).
  if (before && !before.endsWith(eol + eol) && !/^\uFEFF?$/.test(before) && at > bodyStart) before += eol
  if (!block.endsWith('\n')) block += eol
  if (after && !after.startsWith('\n') && !after.startsWith('\r\n')) after = eol + after
  return { text: before + block + after, at: before.length }
}

/** The id of the visible cell whose text holds offset `at` of the new text. */
function cellAt(text: string, path: string, at: number): string {
  const nb = parseNotebook(text, path)
  const placed = placedCells(nb).find((p) => at >= p.start && at < p.end) ?? placedCells(nb).find((p) => p.start >= at)
  if (!placed) throw new Refusal('the new cell could not be found after adding it')
  return placed.view.id
}

/** Adds a cell after cell `after` (null: at the top). */
export function withCellAdded(nb: Notebook, after: string | null, kind: 'code' | 'prose', source: string): { text: string; cell: string } {
  const text = textOf(nb)
  const eol = eolOf(text)
  const at = after === null ? (nb.frontMatter?.length ?? 0) : find(nb, after).end
  const block = kind === 'code' ? '```ts #' + newCellId(nb, source) + eol + '```' + eol : source.replace(/\r\n|\r|\n/g, eol)
  const inserted = insertAt(text, at, block, eol, nb.frontMatter?.length ?? 0)
  const cell = cellAt(inserted.text, nb.path, inserted.at)
  if (kind === 'prose' || source === '') return { text: inserted.text, cell }
  return { text: textOf(setCellSource(parseNotebook(inserted.text, nb.path), cell, source)), cell }
}

/**
 * An id for a new code cell, written into its fence so that it stays the
 * same when cells move: named after what the cell exports or declares when
 * that name is free (`#bonus`), else `code-N`.
 */
function newCellId(nb: Notebook, source: string): string {
  const taken = new Set(nb.cells.map((c) => c.id))
  const named = /\bexport\s+function\s+([A-Za-z][\w-]*)/.exec(source)?.[1] ?? declaredStates(source)[0]
  if (named && /^[A-Za-z][A-Za-z0-9_-]*$/.test(named) && !taken.has(named) && !/^cell-\d+$/.test(named)) return named
  let n = 1
  while (taken.has(`code-${n}`)) n++
  return `code-${n}`
}

/**
 * Removes a cell and the blank line that separated it, so that adding a cell
 * and deleting it again gives back the text as it was: at most one blank line
 * where it was, none left at the top of the body or the end of the file.
 */
function without(text: string, start: number, end: number, eol: string, bodyStart: number): string {
  let before = text.slice(0, start)
  let after = text.slice(end)
  const atTop = start <= bodyStart || /^\uFEFF?$/.test(before)
  if ((before.endsWith(eol + eol) || atTop) && after.startsWith(eol)) after = after.slice(eol.length)
  if (after === '') while (before.endsWith(eol + eol)) before = before.slice(0, -eol.length)
  // A prose cell takes its blank lines with it: the cells it stood between keep one between them.
  else if (!atTop && !before.endsWith(eol + eol) && !after.startsWith(eol)) before += eol
  return before + after
}

export function withCellDeleted(nb: Notebook, id: string): string {
  const placed = find(nb, id)
  const text = textOf(nb)
  return without(text, placed.start, placed.end, eolOf(text), nb.frontMatter?.length ?? 0)
}

/** Moves a cell to position `to` among the visible cells (counted without it). */
export function withCellMoved(nb: Notebook, id: string, to: number): { text: string; cell: string } {
  const placed = find(nb, id)
  const text = textOf(nb)
  const eol = eolOf(text)
  const block = placed.block.type === 'code' ? placed.block.raw : placed.view.source
  const rest = parseNotebook(without(text, placed.start, placed.end, eol, nb.frontMatter?.length ?? 0), nb.path)
  const others = placedCells(rest)
  const target = others[Math.min(to, others.length)]
  const restText = textOf(rest)
  const inserted = insertAt(restText, target ? target.start : restText.length, block, eol, rest.frontMatter?.length ?? 0)
  return { text: inserted.text, cell: cellAt(inserted.text, nb.path, inserted.at) }
}
