// `loom check NB`: what the editor underlines in a notebook's cells, found
// without a window — Loom's own compile problems (what the engine refuses to
// run) and the type errors of the TypeScript the editor runs (Monaco's, with
// the same settings and the same view of the cells: engine/protocol/cellTypes.ts),
// each at its file line and cell. Exit 1 when there is one. It runs no cell
// code: the compiler and TypeScript only read the cells.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Parsed } from './args.ts'
import type { Io } from './main.ts'
import { decodeNotebook, parseNotebook, type CodeCell, type Notebook } from '../runtime/notebook.ts'
import { compileNotebook, CompileError } from '../runtime/compile.ts'
import { API_TYPES_FILE, CELL_COMPILER_OPTIONS, cellFileName, cellNamesScript, IGNORED_DIAGNOSTICS, sharedNamesFileName } from '../protocol/cellTypes.ts'

const REPO = resolve(fileURLToPath(new URL('../../', import.meta.url)))
/** Monaco's TypeScript, the one the editor runs (loaded by path: the bundled CLI must not carry its 9 MB). */
const TS_SERVICES = join(REPO, 'node_modules/monaco-editor/esm/vs/languages/features/typescript/lib')

export interface CheckedProblem {
  cell: string
  /** 1-based line (and column, when known) in the notebook file. */
  line: number
  column: number | null
  /** TypeScript's error number; null for Loom's own problems. */
  code: number | null
  message: string
}

// The parts of TypeScript's API used here (Monaco's copy has no declarations of its own).
interface Ts {
  createLanguageService(host: object): { getSyntacticDiagnostics(f: string): Diagnostic[]; getSemanticDiagnostics(f: string): Diagnostic[] }
  flattenDiagnosticMessageText(text: unknown, newLine: string): string
  ScriptSnapshot: { fromString(text: string): unknown }
}
interface Diagnostic {
  code: number
  start?: number
  messageText: unknown
}

export async function checkCommand(p: Parsed, io: Io): Promise<number> {
  const path = p.args.notebook!
  const nb = parseNotebook(decodeNotebook(await readFile(path), path), path)
  const errors = [...(await compileProblems(nb)), ...(await typeErrors(nb.cells))].sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0))
  if (p.options.json) io.out(JSON.stringify(errors) + '\n')
  else {
    for (const e of errors) io.out(`${path}:${e.line}${e.column === null ? '' : `:${e.column}`} #${e.cell} error${e.code === null ? '' : ` TS${e.code}`}: ${e.message}\n`)
    io.err(errors.length ? `loom: ${errors.length} problem${errors.length === 1 ? '' : 's'} in ${path}\n` : `loom: no problems in ${path}\n`)
  }
  return errors.length ? 1 : 0
}

/** What the engine would refuse to run, as the editor shows it (compile.ts). */
async function compileProblems(nb: Notebook): Promise<CheckedProblem[]> {
  try {
    await compileNotebook(nb)
    return []
  } catch (err) {
    if (!(err instanceof CompileError)) throw err
    return err.problems.map((p) => ({ cell: p.location?.cell ?? '', line: p.location?.fileLine ?? 1, column: null, code: null, message: p.message }))
  }
}

/** The type errors in `cells`, in cell order, each at its notebook line. */
export async function typeErrors(cells: CodeCell[]): Promise<CheckedProblem[]> {
  const { typescript: ts } = (await import(pathToFileURL(join(TS_SERVICES, 'typescriptServices.js')).href)) as { typescript: Ts }
  const { libFileMap } = (await import(pathToFileURL(join(TS_SERVICES, 'lib.js')).href)) as { libFileMap: Record<string, string> }
  const files = new Map<string, string>([[API_TYPES_FILE, await readFile(join(REPO, 'renderer/notebook/loom-api.d.ts'), 'utf8')]])
  for (const cell of cells) {
    files.set(cellFileName(cell.id), cell.source)
    const shared = cellNamesScript(cell.source)
    if (shared !== null) files.set(sharedNamesFileName(cell.id), shared)
  }
  const text = (name: string) => files.get(name) ?? libFileMap[name.replace(/^.*\//, '')]
  const service = ts.createLanguageService({
    getCompilationSettings: () => ({ ...CELL_COMPILER_OPTIONS, lib: CELL_COMPILER_OPTIONS.lib.map((l) => `lib.${l}.d.ts`) }),
    getScriptFileNames: () => [...files.keys()],
    getScriptVersion: () => '1',
    getScriptSnapshot: (name: string) => {
      const t = text(name)
      return t === undefined ? undefined : ts.ScriptSnapshot.fromString(t)
    },
    getCurrentDirectory: () => '/',
    getDefaultLibFileName: () => 'lib.d.ts',
    fileExists: (name: string) => text(name) !== undefined,
    readFile: (name: string) => text(name),
  })
  const ignored = new Set(IGNORED_DIAGNOSTICS)
  const out: CheckedProblem[] = []
  for (const cell of cells) {
    const file = cellFileName(cell.id)
    for (const d of [...service.getSyntacticDiagnostics(file), ...service.getSemanticDiagnostics(file)]) {
      if (ignored.has(d.code)) continue
      const before = cell.source.slice(0, d.start ?? 0).split('\n')
      out.push({
        cell: cell.id,
        line: cell.line + before.length - 1,
        // Columns in the file: CommonMark took up to the fence's indent off each line.
        column: before[before.length - 1]!.length + 1 + cell.indent.length,
        code: d.code,
        message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      })
    }
  }
  return out
}
