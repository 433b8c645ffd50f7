// Notebook → app: each code cell is compiled by esbuild on its own (so syntax
// errors point into the right cell), checked, and joined into one module
// whose every line maps back to (cell id, line in cell).
import { createHash } from 'node:crypto'
import type { Message } from 'esbuild'
import { parse, type Node } from 'acorn'
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping'
import type { Notebook, CodeCell } from './notebook.ts'
import type { SourceLocation } from './event.ts'
import { transformCell, type KeptCells } from './transformCell.ts'
import { insertMarkers, runawayMarkers } from './runawayMarkers.ts'
import { located, loomError, LoomFailure, whereAt } from '../protocol/loomError.ts'

/** The methods an app may export (DESIGN §3). */
export const METHODS = ['start', 'step', 'http', 'gui', 'switch', 'clients', 'effect'] as const
export type MethodName = (typeof METHODS)[number]

export interface Problem {
  message: string
  location: SourceLocation | null
}

/** A notebook that does not compile: every problem, each with its cell and line. */
export class CompileError extends LoomFailure {
  constructor(readonly path: string, readonly problems: Problem[]) {
    super(problems.map((p) => loomError('compile', p.message, whereAt(path, p.location))))
  }
}

/** `path:12 (cell #step, line 3)`: a place as the CLI prints it. */
export function formatLocation(path: string, at: SourceLocation | null): string {
  return located(whereAt(path, at))
}

interface CompiledCell {
  id: string
  /** File line of the cell's first code line. */
  line: number
  source: string
  /** First line of this cell inside the generated module (1-based). */
  start: number
  lines: number
  map: TraceMap
}

export interface CompiledApp {
  path: string
  /** sha256 of `code`: the app's identity. */
  codeHash: string
  /** A function expression `(function (state, sys, test, seal) {...})` returning the methods. */
  code: string
  methods: MethodName[]
  /** Where each method is exported: what a time-out or a load error points at. */
  methodAt: Partial<Record<MethodName, SourceLocation>>
  /** Where each top-level name is declared: what a load error about a module-level value points at. */
  declaredAt: Record<string, SourceLocation>
  /** The cells as written, so the code can be stored and errors located later. */
  sources: { id: string; line: number; source: string }[]
  /** Maps a (line, column) of `code` (1-based line, 0-based column) back to the notebook. */
  locate(line: number, column: number): SourceLocation | null
}

const NO_DEFAULT_EXPORT = `a cell cannot have a default export; export a method by name (${METHODS.join(', ')})`
const HEADER = '(function (state, sys, test, $loom$seal, $loom$at) { "use strict";\n'

/** `kept`: where compiled cells are kept between runs (a durable log's). */
export async function compileNotebook(nb: Notebook, kept?: KeptCells): Promise<CompiledApp> {
  const problems: Problem[] = []
  const compiled = await Promise.all(nb.cells.map((cell) => compileCell(cell, problems, kept)))
  if (problems.length) throw new CompileError(nb.path, problems)

  // Names declared at the top level of two cells collide in the one module.
  const declaredIn = new Map<string, SourceLocation>()
  const exported = new Map<string, { local: string; at: SourceLocation }>()
  for (const cell of compiled) {
    for (const [name, at] of cell!.declared) {
      const first = declaredIn.get(name)
      if (first && first.cell !== at.cell) {
        problems.push({ message: `'${name}' is declared in cell #${first.cell} (line ${first.line}) and again here; rename one`, location: at })
      } else if (!first) declaredIn.set(name, at)
    }
    for (const [name, exp] of cell!.exports) {
      const first = exported.get(name)
      if (first) problems.push({ message: `method '${name}' is exported by cell #${first.at.cell} (line ${first.at.line}) and again here; an app has one '${name}'`, location: exp.at })
      else exported.set(name, exp)
    }
  }
  if (problems.length) throw new CompileError(nb.path, problems)

  let code = HEADER
  let line = HEADER.split('\n').length
  const cells: CompiledCell[] = []
  for (const cell of compiled) {
    const js = cell!.js.endsWith('\n') ? cell!.js : cell!.js + '\n'
    const lines = js.split('\n').length - 1
    cells.push({ id: cell!.id, line: cell!.line, source: cell!.source, start: line, lines, map: cell!.map })
    code += js
    line += lines
  }
  const methods = [...exported.keys()] as MethodName[]
  // Values outside state are made read-only once the module has run: a
  // module-level array or object that changed would carry state between
  // transactions, survive aborts and make replay diverge (DESIGN §3).
  if (declaredIn.size) code += `$loom$seal({ ${[...declaredIn.keys()].join(', ')} });\n`
  code += `return { ${[...exported].map(([name, e]) => `${JSON.stringify(name)}: ${e.local}`).join(', ')} };\n})`

  return {
    path: nb.path,
    codeHash: createHash('sha256').update(code).digest('hex'),
    code,
    methods,
    methodAt: Object.fromEntries([...exported].map(([name, e]) => [name, e.at])),
    declaredAt: Object.fromEntries(declaredIn),
    sources: nb.cells.map((c) => ({ id: c.id, line: c.line, source: c.source })),
    locate(genLine, column) {
      const cell = cells.find((c) => genLine >= c.start && genLine < c.start + c.lines)
      if (!cell) return null
      const pos = originalPositionFor(cell.map, { line: genLine - cell.start + 1, column: Math.max(0, column) })
      const inCell = pos.line ?? nearestLine(cell.map, genLine - cell.start + 1)
      return { cell: cell.id, line: inCell, fileLine: cell.line + inCell - 1 }
    },
  }
}

function nearestLine(map: TraceMap, line: number): number {
  for (let l = line; l >= 1; l--) {
    const pos = originalPositionFor(map, { line: l, column: 0 })
    if (pos.line != null) return pos.line
  }
  return 1
}

interface CellResult {
  id: string
  line: number
  source: string
  js: string
  map: TraceMap
  declared: [string, SourceLocation][]
  exports: [string, { local: string; at: SourceLocation }][]
}

async function compileCell(cell: CodeCell, problems: Problem[], kept?: KeptCells): Promise<CellResult | null> {
  const at = (line: number): SourceLocation => ({ cell: cell.id, line, fileLine: cell.line + line - 1 })
  let js: string, mapText: string
  try {
    const out = await transformCell(cell, kept)
    js = out.code
    mapText = out.map
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors ?? []
    if (!errors.length) throw err
    for (const e of errors) problems.push({ message: e.text, location: at(e.location?.line ?? 1) })
    return null
  }
  const map = new TraceMap(mapText)
  let program: Node & { body: Node[] }
  try {
    program = parse(js, { ecmaVersion: 'latest', sourceType: 'module', locations: true }) as Node & { body: Node[] }
  } catch (err) {
    problems.push({ message: `cannot compile: ${(err as Error).message}`, location: at(1) })
    return null
  }
  const sourceLine = (node: Node): number | null => {
    const loc = node.loc!.start
    return originalPositionFor(map, { line: loc.line, column: loc.column }).line
  }
  const where = (node: Node): SourceLocation => at(sourceLine(node) ?? nearestLine(map, node.loc!.start.line))
  const sourceLines = cell.source.split('\n')

  const declared: CellResult['declared'] = []
  const exports: CellResult['exports'] = []
  /** Top-level variables bound to what is plainly not a function (a literal, an object, an array): a method exported so cannot run. */
  const values = new Set<string>()
  const NOT_FUNCTIONS = new Set(['Literal', 'ObjectExpression', 'ArrayExpression', 'TemplateLiteral'])
  const noteValues = (decl: { declarations: { id: { type: string; name?: string }; init?: { type: string } | null }[] }) => {
    for (const d of decl.declarations) if (d.id.type === 'Identifier' && d.id.name && d.init && NOT_FUNCTIONS.has(d.init.type)) values.add(d.id.name)
  }
  const blanks: [number, number][] = []
  const fail = (node: Node, message: string) => problems.push({ message, location: where(node) })

  for (const stmt of program.body) {
    const s = stmt as any
    switch (stmt.type) {
      case 'ImportDeclaration':
        fail(stmt, 'a cell cannot import modules: the app is the notebook\'s cells, with state, sys and test in scope')
        continue
      case 'ExportDefaultDeclaration':
        fail(stmt, NO_DEFAULT_EXPORT)
        continue
      case 'ExportAllDeclaration':
        fail(stmt, 'a cell cannot re-export modules')
        continue
      case 'ExportNamedDeclaration':
        if (s.source) {
          fail(stmt, 'a cell cannot re-export modules')
          continue
        }
        if (s.declaration) {
          blanks.push([s.start, s.declaration.start])
          for (const name of declaredNames(s.declaration)) exports.push([name, { local: name, at: where(stmt) }])
          if (s.declaration.type === 'VariableDeclaration') noteValues(s.declaration)
          collectDeclared(s.declaration)
        } else {
          blanks.push([s.start, s.end])
          for (const spec of s.specifiers) {
            const name = spec.exported.type === 'Identifier' ? spec.exported.name : String(spec.exported.value)
            exports.push([name, { local: spec.local.name, at: where(stmt) }])
          }
        }
        continue
      default:
        if (stmt.type === 'VariableDeclaration') noteValues(stmt as unknown as Parameters<typeof noteValues>[0])
        collectDeclared(stmt)
    }
  }
  for (const [name, e] of exports) {
    // A method is a function: `export const step = 5` is refused here, at its line, not when the code loads.
    if ((METHODS as readonly string[]).includes(name) && values.has(e.local)) {
      problems.push({ message: `the export '${name}' is not a function: a method is \`export function ${name}() { … }\``, location: e.at })
    }
    if (name === 'default') {
      problems.push({ message: NO_DEFAULT_EXPORT, location: e.at })
    } else if (!(METHODS as readonly string[]).includes(name)) {
      problems.push({ message: `'${name}' is not a method an app can export; the methods are ${METHODS.join(', ')}`, location: e.at })
    }
  }
  walk(program, (node) => {
    const n = node as any
    if ((n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression') && n.async) {
      fail(node, 'a transaction is synchronous: async functions cannot run in a cell (use sys.time.await or abort-and-retry to wait)')
    } else if (n.type === 'AwaitExpression') {
      fail(node, 'a transaction is synchronous: await cannot be used in a cell')
    } else if (n.type === 'Identifier' && n.name === 'globalThis') {
      fail(node, 'globalThis is not state: values kept there are lost on reload and not undone by an abort; use state.var')
    } else if (n.type === 'ImportExpression' || (n.type === 'MetaProperty' && n.meta.name === 'import')) {
      fail(node, 'a cell cannot load modules')
    }
  })

  function collectDeclared(stmt: Node): void {
    const s = stmt as any
    if (stmt.type === 'VariableDeclaration' && s.kind !== 'const') {
      const line = sourceLine(stmt)
      // esbuild emits `var` for enums and helpers; only what the user wrote counts.
      const written = line != null && /^\s*(export\s+)?(let|var)\b/.test(sourceLines[line - 1] ?? '')
      if (written) {
        fail(stmt, `a top-level '${s.kind}' is not state: it is lost on reload and not undone when a transaction aborts; use state.var(name, initial) or a const`)
      }
      if (!written) return
    }
    for (const name of declaredNames(stmt)) declared.push([name, where(stmt)])
  }

  let out = js
  for (const [from, to] of blanks.sort((a, b) => b[0] - a[0])) {
    out = out.slice(0, from) + out.slice(from, to).replace(/[^\n]/g, ' ') + out.slice(to)
  }
  // Inserted on the statement's own line (blanks keep every offset): lines still map to the cell.
  out = insertMarkers(out, runawayMarkers(program).map((node) => [node.start, `$loom$at.line=${where(node).fileLine};`]))
  return { id: cell.id, line: cell.line, source: cell.source, js: out, map, declared, exports }
}

function declaredNames(node: Node): string[] {
  const n = node as any
  switch (node.type) {
    case 'FunctionDeclaration':
    case 'ClassDeclaration':
      return n.id ? [n.id.name] : []
    case 'VariableDeclaration':
      return n.declarations.flatMap((d: any) => patternNames(d.id))
    default:
      return []
  }
}

function patternNames(p: any): string[] {
  switch (p?.type) {
    case 'Identifier':
      return [p.name]
    case 'ObjectPattern':
      return p.properties.flatMap((prop: any) => patternNames(prop.type === 'RestElement' ? prop.argument : prop.value))
    case 'ArrayPattern':
      return p.elements.flatMap((e: any) => (e ? patternNames(e) : []))
    case 'RestElement':
      return patternNames(p.argument)
    case 'AssignmentPattern':
      return patternNames(p.left)
    default:
      return []
  }
}


function walk(node: Node, visit: (node: Node) => void): void {
  visit(node)
  for (const key in node) {
    if (key === 'loc') continue
    const value = (node as any)[key]
    if (Array.isArray(value)) {
      for (const child of value) if (child && typeof child.type === 'string') walk(child, visit)
    } else if (value && typeof value.type === 'string') walk(value, visit)
  }
}

/** The notebook place of file line `fileLine` in `app` (null when it is in no cell). */
export function placeOf(app: CompiledApp, fileLine: number): SourceLocation | null {
  for (const c of app.sources) {
    const line = fileLine - c.line + 1
    if (line >= 1 && line <= c.source.split('\n').length) return { cell: c.id, line, fileLine }
  }
  return null
}
