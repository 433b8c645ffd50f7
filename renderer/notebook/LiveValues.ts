// The live value of each state a cell declares, shown beside its declaration:
// at the end of the line when it fits there, else on a line of its own just
// below (a view zone), so that a value never makes a cell scroll sideways.
import type { StateValue } from '../../engine/protocol/messages.ts'
import { preview } from '../state/jsonTree.ts'
import { monaco } from './monaco.ts'

/** The shortest a value may be cut to beside its line before it moves below it. */
const MIN_INLINE = 28

interface Placed {
  name: string
  line: number
  text: string
  inline: boolean
}

export class LiveValues {
  private readonly inline: monaco.editor.IEditorDecorationsCollection
  private zones: { id: string; node: HTMLElement }[] = []
  private zoneLines = ''

  constructor(private readonly editor: monaco.editor.IStandaloneCodeEditor, private readonly model: monaco.editor.ITextModel) {
    this.inline = editor.createDecorationsCollection()
  }

  show(declares: string[], values: Record<string, StateValue>): void {
    const text = this.model.getValue()
    const charWidth = this.editor.getOption(monaco.editor.EditorOption.fontInfo).typicalHalfwidthCharacterWidth || 8
    const columns = Math.floor(this.editor.getLayoutInfo().contentWidth / charWidth) - 2
    const placed: Placed[] = []
    for (const name of declares) {
      const v = values[name]
      const at = declarationEnd(text, name)
      if (!v || at === null) continue
      const line = this.model.getPositionAt(at).lineNumber
      const room = columns - this.model.getLineLength(line) - name.length - 5
      const full = preview(v.value, 200)
      if (room >= Math.min(full.length, MIN_INLINE)) placed.push({ name, line, text: `${name} = ${preview(v.value, room)}`, inline: true })
      else placed.push({ name, line, text: `${name} = ${preview(v.value, Math.max(MIN_INLINE, columns - name.length - 8))}`, inline: false })
    }
    this.inline.set(placed.filter((p) => p.inline).map((p) => {
      const end = this.model.getLineMaxColumn(p.line)
      return {
        range: new monaco.Range(p.line, end, p.line, end),
        options: { showIfCollapsed: true, after: { content: `  ${p.text}`, inlineClassName: 'loom-live-value', cursorStops: monaco.editor.InjectedTextCursorStops.None } },
      }
    }))
    this.showZones(placed.filter((p) => !p.inline), charWidth)
  }

  dispose(): void {
    this.showZones([], 0)
    this.inline.clear()
  }

  private showZones(below: Placed[], charWidth: number): void {
    const lines = below.map((p) => p.line).join()
    if (lines === this.zoneLines) {
      below.forEach((p, i) => (this.zones[i]!.node.textContent = `↳ ${p.text}`))
      return
    }
    this.zoneLines = lines
    this.editor.changeViewZones((zones) => {
      for (const z of this.zones) zones.removeZone(z.id)
      this.zones = below.map((p) => {
        const node = document.createElement('div')
        node.className = 'loom-live-zone'
        node.style.paddingLeft = `${(this.model.getLineFirstNonWhitespaceColumn(p.line) || 1) * charWidth - charWidth}px`
        node.textContent = `↳ ${p.text}`
        return { id: zones.addZone({ afterLineNumber: p.line, heightInLines: 1, domNode: node, suppressMouseDown: false }), node }
      })
    })
  }
}

/** The offset just after the declaration of state `name` (its closing parenthesis), or null. */
export function declarationEnd(text: string, name: string): number | null {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const re = new RegExp(`\\bstate\\s*\\.\\s*(?:var|map|queue|bag|counter)\\s*(?:<[^(]*?>)?\\s*\\(\\s*(['"\`])${escaped}\\1`)
  const m = re.exec(text)
  if (!m) return null
  let depth = 0
  let quote: string | null = null
  for (let i = text.indexOf('(', m.index); i < text.length; i++) {
    const c = text[i]!
    if (quote) {
      if (c === '\\') i++
      else if (c === quote) quote = null
    } else if (c === '"' || c === "'" || c === '`') quote = c
    else if (c === '(' || c === '[' || c === '{') depth++
    else if (c === ')' || c === ']' || c === '}') {
      depth--
      if (depth === 0) return i + 1
    }
  }
  return null
}
