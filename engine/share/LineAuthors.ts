// Who last changed each line of each cell, from the document's own updates:
// every character remembers the last edit that inserted it or deleted next to
// it, and a line's author is the one behind its most recent such edit.
// Remote updates carry their connection as the transaction's origin; `nameOf`
// turns that into a person's name.
import * as Y from 'yjs'
import { blocksOf, cellsOf } from './notebookDoc.ts'

interface Marks {
  /** Per character: the index of the last edit that touched it in `edits` (-1: as loaded). */
  chars: number[]
}

export class LineAuthors {
  private readonly marks = new WeakMap<Y.Text, Marks>()
  private readonly edits: string[] = []
  private readonly observer: (events: Y.YEvent<any>[], tr: Y.Transaction) => void

  constructor(private readonly doc: Y.Doc, private readonly nameOf: (origin: unknown, tr: Y.Transaction) => string) {
    this.observer = (events, tr) => {
      for (const e of events) if (e.target instanceof Y.Text) this.apply(e.target, e.delta, tr)
    }
    cellsOf(doc).observeDeep(this.observer)
  }

  private apply(text: Y.Text, delta: { insert?: unknown; retain?: number; delete?: number }[], tr: Y.Transaction): void {
    const old = this.marks.get(text)?.chars ?? new Array<number>(Math.max(0, text.length - insertedLength(delta) + deletedLength(delta))).fill(-1)
    const edit = this.edits.push(this.nameOf(tr.origin, tr)) - 1
    const chars: number[] = []
    let at = 0
    for (const op of delta) {
      if (op.retain !== undefined) {
        chars.push(...old.slice(at, at + op.retain))
        at += op.retain
      } else if (op.delete !== undefined) {
        at += op.delete
        // The character after a deletion (or before it, at the end) carries it.
        if (at < old.length) old[at] = edit
        else if (chars.length) chars[chars.length - 1] = edit
      } else if (typeof op.insert === 'string') {
        for (let i = 0; i < op.insert.length; i++) chars.push(edit)
      }
    }
    chars.push(...old.slice(at))
    this.marks.set(text, { chars })
  }

  /** Who last changed line `line` (1-based) of cell `id`, or null if nobody has since it was loaded. */
  authorOf(id: string, line: number): string | null {
    const block = blocksOf(this.doc).find((m) => m.get('id') === id)
    const text = block?.get('text') as Y.Text | undefined
    if (!text) return null
    const chars = this.marks.get(text)?.chars
    if (!chars) return null
    const s = text.toString()
    let start = 0
    for (let l = 1; l < line; l++) {
      const nl = s.indexOf('\n', start)
      if (nl < 0) return null
      start = nl + 1
    }
    const end = s.indexOf('\n', start)
    let last = -1
    for (let i = start; i <= (end < 0 ? s.length - 1 : end); i++) last = Math.max(last, chars[i] ?? -1)
    return last < 0 ? null : this.edits[last]!
  }

  close(): void {
    cellsOf(this.doc).unobserveDeep(this.observer)
  }
}

function insertedLength(delta: { insert?: unknown }[]): number {
  return delta.reduce((n, op) => n + (typeof op.insert === 'string' ? op.insert.length : 0), 0)
}
function deletedLength(delta: { delete?: number }[]): number {
  return delta.reduce((n, op) => n + (op.delete ?? 0), 0)
}
