// The colours of other people's cursors and selections in Monaco. y-monaco
// marks them with the classes `yRemoteSelection-<client>` (the selection)
// and `yRemoteSelectionHead-<client>` (the caret); the rules that colour
// them live in a constructed style sheet, which the page's CSP allows (it is
// CSSOM, not an inline <style>), one pair of rules per person.
import type { Person } from './ShareSession.ts'

const sheet = new CSSStyleSheet()
let adopted = false
let shown = ''

/** A CSS string literal: a name in quotes, with nothing that could end it early. */
function cssString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\n\r\f]/g, ' ')}"`
}

export function showRemoteCursors(people: Person[]): void {
  const others = people.filter((p) => !p.me)
  const key = others.map((p) => `${p.client}:${p.colour}:${p.name}`).join('|')
  if (key === shown) return
  shown = key
  if (!adopted) {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]
    adopted = true
  }
  const rules = [
    // The caret: a bar the height of the line, with the person's name on a tab above it.
    '.yRemoteSelectionHead { position: absolute; height: 100%; box-sizing: border-box; margin-left: -1px; z-index: 2; }',
    '.yRemoteSelectionHead::after { position: absolute; left: -2px; top: -11px; padding: 0 3px; border-radius: 3px 3px 3px 0; font: 600 9px/11px system-ui, sans-serif; color: #10131a; white-space: nowrap; pointer-events: none; }',
  ]
  rules.push(...others.flatMap((p) => [
    `.yRemoteSelection-${p.client} { background-color: ${p.colour}40; }`,
    `.yRemoteSelectionHead-${p.client} { border-left: 2px solid ${p.colour}; }`,
    `.yRemoteSelectionHead-${p.client}::after { content: ${cssString(p.name)}; background: ${p.colour}; }`,
  ]))
  sheet.replaceSync(rules.join('\n'))
}
