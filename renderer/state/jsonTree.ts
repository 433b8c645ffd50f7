// A read-only tree of plain data: objects and arrays fold, leaves are coloured
// by type. Which folds are open is kept by path, so a refresh keeps the view.
import type { Json } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'

export function jsonTree(value: Json, path: string, open: Set<string>, label?: Node): HTMLElement {
  const entries: [string, Json][] | null = value === null || typeof value !== 'object' ? null : Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value)
  if (!entries?.length) return h('div.jt-row.jt-leaf', null, label, entries ? h('span.jt-empty', null, Array.isArray(value) ? '[]' : '{}') : leaf(value))
  const details = h('details.jt-node', { 'data-path': path })
  details.open = open.has(path)
  details.addEventListener('toggle', () => (details.open ? open.add(path) : open.delete(path)))
  const summary = h('summary.jt-row', null, h('span.jt-twisty.codicon.codicon-chevron-right'), label, h('span.jt-preview', null, preview(value)))
  details.append(summary)
  for (const [k, v] of entries) {
    details.append(jsonTree(v, `${path}/${k}`, open, h('span.jt-key', null, Array.isArray(value) ? `${k}` : k, h('span.jt-colon', null, ': '))))
  }
  return details
}

function leaf(value: Json): HTMLElement {
  if (value === null) return h('span.jt-null', null, 'null')
  if (typeof value === 'string') return h('span.jt-string', null, shownString(value))
  if (typeof value === 'number') return h('span.jt-number', null, String(value))
  return h('span.jt-bool', null, String(value))
}

/** Past this many characters a string is drawn cut (Chromium draws a single run of millions of characters as nothing at all). */
const SHOWN_STRING = 1000

/** A string as JSON text, cut with its length said when it is long: the whole is in the editor's input. */
export function shownString(value: string): string {
  if (value.length <= SHOWN_STRING) return JSON.stringify(value)
  return `${JSON.stringify(value.slice(0, SHOWN_STRING)).slice(0, -1)}…" (${value.length.toLocaleString('en')} characters)`
}

/** A one-line summary of a value, cut to `max` characters. */
export function preview(value: Json, max = 80): string {
  let s: string
  if (Array.isArray(value)) s = value.length === 0 ? '[]' : `[${value.length}] ${short(value)}`
  else if (value !== null && typeof value === 'object') s = short(value)
  else s = JSON.stringify(value)
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

function short(value: Json): string {
  return JSON.stringify(value).replace(/"([A-Za-z_$][\w$]*)":/g, '$1: ').replace(/,(?=\S)/g, ', ')
}
