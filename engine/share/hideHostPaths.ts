// What a guest is sent names the notebook by its file name only: the
// folders on the host's machine (its user name, its layout) are not the
// guests' business. The notebook's folder is cut from every string of an
// answer or a notice about the notebook; events and tty output are the
// app's own data and pass untouched.
import { dirname, resolve, sep } from 'node:path'
import type { Message } from '../protocol/messages.ts'

/** `m` with the folder of `notebook` cut from its strings (the same object when there was none). */
export function hideHostPaths(m: Message, notebook: string): Message {
  if (m.kind === 'notice' && (m.notice.type === 'events' || m.notice.type === 'tty')) return m
  const folder = dirname(resolve(notebook)) + sep
  return cut(m, folder) as Message
}

function cut(value: unknown, folder: string): unknown {
  if (typeof value === 'string') return value.includes(folder) ? value.split(folder).join('') : value
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null
    value.forEach((v, i) => {
      const next = cut(v, folder)
      if (next !== v) (copy ??= [...value])[i] = next
    })
    return copy ?? value
  }
  let copy: Record<string, unknown> | null = null
  for (const [k, v] of Object.entries(value)) {
    const next = cut(v, folder)
    // defineProperty: a key named __proto__ stays a plain key.
    if (next !== v) Object.defineProperty((copy ??= { ...value }), k, { value: next, enumerable: true, writable: true, configurable: true })
  }
  return copy ?? value
}
