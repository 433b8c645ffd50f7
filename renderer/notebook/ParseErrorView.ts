// A notebook that does not parse: the error with its line, and the file's
// text (read-only) with that line marked. Nothing is saved while it shows.
import type { NotebookView } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import { monaco } from './monaco.ts'

export class ParseErrorView {
  readonly element: HTMLElement
  private readonly editor: monaco.editor.IStandaloneCodeEditor
  private readonly model: monaco.editor.ITextModel

  constructor(nb: NotebookView) {
    const problem = nb.parseError!
    const line = problem.where?.fileLine ?? problem.where?.line ?? null
    const host = h('div.source-view')
    this.element = h('div.parse-error', { role: 'alert' },
      h('div.parse-error-head', null,
        h('span.codicon.codicon-error'),
        h('div', null,
          h('div.parse-error-title', null, `This notebook does not parse${line ? ` (line ${line})` : ''}`),
          h('div.parse-error-message', null, problem.message),
          h('div.parse-error-note', null, 'The app is not running and the file will not be overwritten. Fix the file in an editor; it reloads when it parses.'),
        ),
      ),
      host,
    )
    this.model = monaco.editor.createModel(nb.text, 'markdown')
    this.editor = monaco.editor.create(host, {
      model: this.model,
      readOnly: true,
      theme: 'loom-dark',
      automaticLayout: true,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      fontSize: 13,
      lineHeight: 20,
      renderValidationDecorations: 'on',
      ariaLabel: 'Notebook source (read-only)',
    })
    if (line) {
      const l = Math.min(line, this.model.getLineCount())
      monaco.editor.setModelMarkers(this.model, 'loom', [{ message: problem.message, severity: monaco.MarkerSeverity.Error, startLineNumber: l, endLineNumber: l, startColumn: 1, endColumn: this.model.getLineMaxColumn(l) }])
      this.editor.createDecorationsCollection([{ range: new monaco.Range(l, 1, l, 1), options: { isWholeLine: true, className: 'parse-error-line' } }])
      this.editor.revealLineInCenter(l)
    }
  }

  dispose(): void {
    this.editor.dispose()
    this.model.dispose()
  }
}
