// One cell through esbuild: native where the process may start a child,
// WebAssembly where it is confined, and a cell compiled before taken from
// memory or from the log (KeptCells) instead of compiled again.
import { createHash } from 'node:crypto'
import type { TransformOptions, TransformResult } from 'esbuild'
import { esbuild } from './esbuildNative.ts'
import type { Notebook, CodeCell } from './notebook.ts'
import { startWasmEsbuild, wasmTransform } from './esbuildWasm.ts'

/**
 * Native esbuild starts a child process; an engine process confined by
 * Node's permission model may not (DESIGN §9), so there the same esbuild
 * runs as WebAssembly — slower per cell, identical output.
 */
const confined = process.permission && !process.permission.has('child')
const transform = confined ? wasmTransform : esbuild.transform

/**
 * Starts the compiler before a cell needs it: the WebAssembly esbuild of a
 * confined engine takes ~0.2 s of CPU to start, which an engine whose cells
 * all come from its log (KeptCells) need not spend while it opens.
 */
export function warmCompiler(): void {
  if (confined) void startWasmEsbuild()
}

/** How every cell is compiled: part of a kept cell's key, with esbuild's version. */
const OPTIONS: TransformOptions = { loader: 'ts', format: 'esm', target: 'esnext', sourcemap: 'external' }

/**
 * Compiled cells kept between runs (a durable log keeps them, see
 * SqliteLog.keptCells), by a key that names everything the output depends on:
 * a cell compiled before loads without starting esbuild at all.
 */
export interface KeptCells {
  get(key: string): { code: string; map: string } | null
  put(key: string, cell: { code: string; map: string }): void
}

/** A compiled cell and its key, as KeptCells keeps it. */
export type KeptCell = [key: string, cell: { code: string; map: string }]

/**
 * Each code cell of `nb` compiled by native esbuild, keyed as the engine
 * keeps them: what a process that may start esbuild (loom serve, the desktop
 * app's main process) hands a confined engine process, which would take
 * ~0.2 s longer to start esbuild as WebAssembly. A cell that does not compile
 * is left out: the engine finds and reports its problem itself.
 */
export async function compileCellsNatively(nb: Notebook): Promise<KeptCell[]> {
  if (confined) return []
  const compiled = await Promise.allSettled(nb.cells.map((cell) => esbuild.transform(cell.source, { ...OPTIONS, sourcefile: cell.id })))
  return compiled.flatMap((r, i) => (r.status === 'fulfilled' ? [[keyOf(nb.cells[i]!), { code: r.value.code, map: r.value.map }] satisfies KeptCell] : []))
}

function keyOf(cell: CodeCell): string {
  return createHash('sha256').update(`esbuild ${esbuild.version}\0${JSON.stringify(OPTIONS)}\0${cell.id}\0${cell.source}`).digest('hex')
}

/** Cells compiled before, by id and source: an edit recompiles only the cell it changed. */
const compiledCells = new Map<string, Promise<TransformResult>>()
const MAX_COMPILED_CELLS = 500

/** The cell compiled: from memory, from `kept`, or by esbuild (then kept). */
export function transformCell(cell: CodeCell, kept?: KeptCells): Promise<TransformResult> {
  const key = `${cell.id}\0${cell.source}`
  let out = compiledCells.get(key)
  if (out) {
    // Most recently used last: the oldest go first.
    compiledCells.delete(key)
  } else {
    out = keptOrCompiled(cell, kept)
    out.catch(() => compiledCells.delete(key))
    if (compiledCells.size >= MAX_COMPILED_CELLS) compiledCells.delete(compiledCells.keys().next().value!)
  }
  compiledCells.set(key, out)
  return out
}

async function keptOrCompiled(cell: CodeCell, kept?: KeptCells): Promise<TransformResult> {
  const key = kept ? keyOf(cell) : ''
  const found = kept?.get(key)
  if (found) return { code: found.code, map: found.map, warnings: [], mangleCache: undefined, legalComments: undefined }
  const out = await transform(cell.source, { ...OPTIONS, sourcefile: cell.id })
  kept?.put(key, { code: out.code, map: out.map })
  return out
}
