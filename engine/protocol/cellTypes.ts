// How TypeScript sees a notebook's cells: the editor's language service
// (renderer/notebook/monaco.ts) and `loom check` (engine/cli/check.ts) both
// take their settings from here, so the command reports exactly the errors the
// editor underlines.

/** Compiler options, with TypeScript's own enum values (ScriptTarget.ES2020, ModuleKind.ESNext). */
export const CELL_COMPILER_OPTIONS = {
  target: 7,
  module: 99,
  lib: ['es2022'],
  strict: true,
  // Methods are plain exported functions (`export function gui(agent)`): their parameters cannot be inferred.
  noImplicitAny: false,
  noEmit: true,
  allowNonTsExtensions: true,
} as const

/** Diagnostics that do not apply to cells. */
export const IGNORED_DIAGNOSTICS: readonly number[] = [
  1375, // top-level await: cells are not run as ES modules
  1208, // isolatedModules: each cell is compiled alone, on purpose
  2528, // a module cannot have multiple default exports (cells are not modules)
  7027, // unreachable code: not an error in a cell
]

/** Where a cell's source is, for TypeScript. */
export const cellFileName = (cell: string): string => `file:///cells/${encodeURIComponent(cell)}.ts`
/** Where a cell's names are shared with the other cells (cellNamesScript). */
export const sharedNamesFileName = (cell: string): string => `file:///loom/shared/${encodeURIComponent(cell)}.ts`
/** Where the cell API's declarations are. */
export const API_TYPES_FILE = 'file:///loom/loom-api.d.ts'

/**
 * A cell that exports something is a module to TypeScript, so its top-level
 * names would be invisible to the other cells — but the engine joins all cells
 * into one module. Such a cell is therefore also given to TypeScript as a
 * script with `export` removed: its names become visible to every cell, and
 * its own file (a module) shadows them without a conflict. Null: the cell is
 * already a script (its names are global), or has an export this cannot
 * rewrite (it stays a module).
 */
export function cellNamesScript(source: string): string | null {
  if (!/^\s*export\b/m.test(source)) return null
  const script = source.replace(/^(\s*)export\s+(default\s+)?(?=(async\s+)?function\b|const\b|let\b|var\b|class\b|interface\b|type\b|enum\b)/gm, '$1')
  return /^\s*(export|import)\b/m.test(script) ? null : script
}
