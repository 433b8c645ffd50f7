// The shared document's shape (notebookDoc.ts), checked on the host: an edit
// guest can put anything into `cells` (a number, a bare Y.Text, a map whose
// `text` is a string). Such a block is junk: it is never read, never saved
// to the notebook file, and the host takes it out of the document.
import * as Y from 'yjs'

const KINDS = new Set(['code', 'prose', 'front'])
const OPTIONAL_STRINGS = ['info', 'cell', 'orig', 'lead', 'trail', 'eol']

/** What is wrong with one entry of `cells`, or null when it is a block the host can read and save. */
export function blockProblem(m: unknown): string | null {
  if (!(m instanceof Y.Map)) return `is not a map (${m instanceof Y.AbstractType ? m.constructor.name : typeof m}) but a block of the notebook must be`
  const id = m.get('id')
  if (typeof id !== 'string' || id === '' || id.length > 200) return "has no 'id' string"
  if (!KINDS.has(m.get('kind') as string)) return `(${id}) has a 'kind' other than code, prose or front`
  if (!(m.get('text') instanceof Y.Text)) return `(${id}) has a 'text' that is not a Y.Text`
  for (const field of OPTIONAL_STRINGS) {
    const v = m.get(field)
    if (v !== undefined && typeof v !== 'string') return `(${id}) has a '${field}' that is not a string`
  }
  const cell = m.get('cell') as string | undefined
  if (cell !== undefined && !isSavedCell(cell)) return `(${id}) has a 'cell' that is not a parsed code cell`
  return null
}

/** `cell`: the parsed cell a code block came from (JSON), with every field serializing it needs. */
function isSavedCell(json: string): boolean {
  let c: Record<string, unknown>
  try {
    c = JSON.parse(json) as Record<string, unknown>
  } catch {
    return false
  }
  if (c === null || typeof c !== 'object') return false
  const strings = ['id', 'lang', 'info', 'fence', 'indent', 'source', 'raw'].every((k) => typeof c[k] === 'string')
  return strings && c.type === 'code' && typeof c.explicitId === 'boolean' && Number.isSafeInteger(c.line)
}

/** The entries of `cells` that are junk, with their index and what is wrong. */
export function junkBlocks(cells: Y.Array<unknown>): { index: number; problem: string }[] {
  const junk: { index: number; problem: string }[] = []
  cells.toArray().forEach((m, index) => {
    const problem = blockProblem(m)
    if (problem) junk.push({ index, problem })
  })
  return junk
}
