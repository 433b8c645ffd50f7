// V8 keeps each loaded module's source text on the heap for as long as its
// code lives, at one byte per character only when every character is within
// Latin-1: a single '—' makes the whole text two bytes per character. esbuild
// escapes every other character outside ASCII (charset 'ascii') but copies the
// comments it keeps (those inside classes and object literals) as they are,
// so one dash in a comment doubled what the engine bundle's text held (0.7 MB
// for the history process: measured with a heap snapshot, bench/bundledHistory.ts).
import { tokenizer } from 'acorn'

/** Look-alikes for the characters Loom's comments use; any other becomes '?'. */
const STAND_IN: Record<string, string> = { '—': '-', '–': '-', '…': '.', '→': '>', '←': '<', '≈': '~', '≤': '<', '≥': '>', '≠': '!', '‘': "'", '’': "'", '“': '"', '”': '"' }

/**
 * `code` with each character beyond Latin-1 inside a comment replaced by one
 * ASCII character: columns stay where they were, so the bundle's source maps
 * still hold. Characters elsewhere (a regular expression, String.raw) are left.
 */
export function oneByteSource(code: string): string {
  if (!/[^\0-\xff]/.test(code)) return code
  const chars = code.split('')
  const onComment = (_block: boolean, _text: string, start: number, end: number) => {
    for (let i = start; i < end; i++) if (code.charCodeAt(i) > 0xff) chars[i] = STAND_IN[code[i]!] ?? '?'
  }
  for (const _ of tokenizer(code, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true, onComment }));
  return chars.join('')
}
