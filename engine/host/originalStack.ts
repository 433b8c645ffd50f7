// A crash's stack with each place in the engine bundle (dist/engine/*.js,
// scripts/build-engine.ts) put back in its TypeScript source, read from the
// map beside the bundle when the stack is printed. The engine's processes do
// not run with --enable-source-maps: with it Node decodes a bundle file's whole
// map the first time any stack passes through it (the first error a cell
// throws), and keeps it: 10 MB of heap for the process's life and a pause of
// 0.15–0.3 s, though only a crash's stack is ever read by a person.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping'

const PLACE = /(file:\/\/\/[^\s()]+?\.js):(\d+):(\d+)/g

/** `stack` with its bundle places as source places; those without a map stay as they are. */
export function originalStack(stack: string): string {
  const maps = new Map<string, TraceMap | null>()
  return stack.replace(PLACE, (place, url: string, line: string, column: string) => {
    if (!maps.has(url)) maps.set(url, mapOf(url))
    const map = maps.get(url)
    const at = map ? originalPositionFor(map, { line: Number(line), column: Number(column) - 1 }) : null
    if (!at?.source || at.line === null) return place
    return `${at.source.startsWith('file:') ? fileURLToPath(at.source) : at.source}:${at.line}:${at.column + 1}`
  })
}

function mapOf(url: string): TraceMap | null {
  try {
    return new TraceMap(readFileSync(`${fileURLToPath(url)}.map`, 'utf8'), url)
  } catch {
    return null
  }
}
