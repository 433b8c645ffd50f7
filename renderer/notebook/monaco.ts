// Monaco, set up once for Loom's cells: workers loaded from the app's own
// files (no CDN, CSP-clean), TypeScript that knows the cell API, and a theme
// that matches the app.
import * as monaco from 'monaco-editor/editor'
import 'monaco-editor/features/register.all'
import 'monaco-editor/languages/definitions/typescript/register'
import { ModuleKind, ScriptTarget, typescriptDefaults } from 'monaco-editor/languages/features/typescript/register'
import apiTypes from 'loom:api-types'
import { followTheme } from '../shell/theme.ts'
import { API_TYPES_FILE, CELL_COMPILER_OPTIONS, cellNamesScript, IGNORED_DIAGNOSTICS, sharedNamesFileName } from '../../engine/protocol/cellTypes.ts'

export { monaco }

declare global {
  // eslint-disable-next-line no-var
  var MonacoEnvironment: monaco.Environment | undefined
}

/**
 * TypeScript's worker is a 7 MB script that takes a core ~0.25 s to compile:
 * it starts when someone first presses a key, or LANGUAGE_SERVICE_AFTER_MS
 * after the page loaded, not while the window is still being put on screen.
 * What asks for it meanwhile (a diagnostic, a completion) waits for it.
 */
const LANGUAGE_SERVICE_AFTER_MS = 2000
const languageServiceMayStart = new Promise<void>((resolve) => {
  setTimeout(resolve, LANGUAGE_SERVICE_AFTER_MS)
  addEventListener('keydown', () => resolve(), { once: true, capture: true })
})

globalThis.MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    if (label === 'typescript' || label === 'javascript') {
      return languageServiceMayStart.then(() => new Worker(new URL('ts.worker.js', document.baseURI), { name: label }))
    }
    return new Worker(new URL('editor.worker.js', document.baseURI), { name: label })
  },
}

// The same settings as `loom check` (engine/protocol/cellTypes.ts), in Monaco's enums.
typescriptDefaults.setCompilerOptions({
  ...CELL_COMPILER_OPTIONS,
  lib: [...CELL_COMPILER_OPTIONS.lib],
  target: CELL_COMPILER_OPTIONS.target as ScriptTarget,
  module: CELL_COMPILER_OPTIONS.module as ModuleKind,
})
typescriptDefaults.setDiagnosticsOptions({
  noSemanticValidation: false,
  noSyntaxValidation: false,
  diagnosticCodesToIgnore: [...IGNORED_DIAGNOSTICS],
})
typescriptDefaults.setEagerModelSync(true)
typescriptDefaults.addExtraLib(apiTypes, API_TYPES_FILE)

/** Each cell's names, shared with the other cells (cellNamesScript says why). */
const cellGlobals = new Map<string, monaco.IDisposable>()
export function shareCellNames(cell: string, source: string): void {
  cellGlobals.get(cell)?.dispose()
  cellGlobals.delete(cell)
  const script = cellNamesScript(source)
  if (script !== null) cellGlobals.set(cell, typescriptDefaults.addExtraLib(script, sharedNamesFileName(cell)))
}

export function forgetCellNames(cell: string): void {
  cellGlobals.get(cell)?.dispose()
  cellGlobals.delete(cell)
}

/** Loom's two Monaco themes: each token's colour, and the editor's own (the dark one as it always was). */
const THEMES: Record<'loom-dark' | 'loom-light', { base: monaco.editor.BuiltinTheme; tokens: Record<string, string>; colors: Record<string, string> }> = {
  'loom-dark': {
    base: 'vs-dark',
    tokens: { comment: '6b7280', keyword: 'c792ea', string: 'a5d6a7', number: 'f7b267', type: '7dd3fc', identifier: 'd7dae0' },
    colors: {
      'editor.background': '#181b21',
      'editor.foreground': '#d7dae0',
      'editorLineNumber.foreground': '#4b5260',
      'editorLineNumber.activeForeground': '#9aa3b2',
      'editor.lineHighlightBackground': '#1f232b',
      'editor.lineHighlightBorder': '#00000000',
      'editor.selectionBackground': '#2f4a6b',
      'editorCursor.foreground': '#7aa2f7',
      'editorIndentGuide.background1': '#252a33',
      'editorWidget.background': '#1d2128',
      'editorWidget.border': '#30363f',
      'editorSuggestWidget.background': '#1d2128',
      'editorSuggestWidget.border': '#30363f',
      'editorSuggestWidget.selectedBackground': '#2a3a52',
      'editorHoverWidget.background': '#1d2128',
      'editorHoverWidget.border': '#30363f',
      'editorGutter.background': '#181b21',
      'scrollbarSlider.background': '#ffffff14',
      'scrollbarSlider.hoverBackground': '#ffffff24',
    },
  },
  'loom-light': {
    base: 'vs',
    tokens: { comment: '6e7781', keyword: '8250df', string: '0a7a3b', number: 'b35900', type: '0969da', identifier: '24292f' },
    colors: {
      'editor.background': '#ffffff',
      'editor.foreground': '#24292f',
      'editorLineNumber.foreground': '#a0a7b2',
      'editorLineNumber.activeForeground': '#57606a',
      'editor.lineHighlightBackground': '#f3f5f8',
      'editor.lineHighlightBorder': '#00000000',
      'editor.selectionBackground': '#b6cdf5',
      'editorCursor.foreground': '#3b6fd8',
      'editorIndentGuide.background1': '#e4e7ec',
      'editorWidget.background': '#f6f7f9',
      'editorWidget.border': '#d0d5dd',
      'editorGutter.background': '#ffffff',
    },
  },
}
for (const [name, { base, tokens, colors }] of Object.entries(THEMES)) {
  const rules = Object.entries(tokens).map(([token, foreground]) => ({ token, foreground, ...(token === 'comment' ? { fontStyle: 'italic' } : {}) }))
  monaco.editor.defineTheme(name, { base, inherit: true, rules, colors })
}

/** The Monaco theme of the window's colour scheme (renderer/shell/theme.ts); every editor follows it live. */
export function monacoTheme(): string {
  return document.documentElement.dataset.theme === 'light' ? 'loom-light' : 'loom-dark'
}
followTheme((t) => monaco.editor.setTheme(t === 'light' ? 'loom-light' : 'loom-dark'))
