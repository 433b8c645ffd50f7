// `explore --coverage`: which lines of each cell exploration ran. Cells run
// confined, where V8's own coverage (the inspector) is closed, so the app's
// module code is instrumented instead: before each statement, one store into
// a slot the sandbox keeps (`$loom$at.hits[i]=1`, as runaway markers note a
// line). Only exploration runs the instrumented code; a saved trace runs the
// app's own.
import { parse, type Node } from 'acorn'
import { createHash } from 'node:crypto'
import type { CompiledApp } from '../runtime/compile.ts'
import { insertMarkers } from '../runtime/runawayMarkers.ts'

/** A statement, at its line of a cell. */
export interface Point {
  cell: string
  line: number
}

/** Per cell, in the notebook's order: its lines with statements, how many ran (every statement on them), the ones none ran on, and those where some did. */
export interface Coverage {
  cell: string
  lines: number
  run: number
  missed: number[]
  /** Lines where a statement ran and another never did: a branch on one line (`if (x) return y`) never taken. */
  partly: number[]
}

const STATEMENT_LISTS: Record<string, string> = { Program: 'body', BlockStatement: 'body', StaticBlock: 'body', SwitchCase: 'consequent' }
/** Statements that stand alone as a branch or a loop body: wrapped in a block with their marker. */
const BODIES: Record<string, string[]> = { IfStatement: ['consequent', 'alternate'], WhileStatement: ['body'], DoWhileStatement: ['body'], ForStatement: ['body'], ForInStatement: ['body'], ForOfStatement: ['body'], LabeledStatement: [], WithStatement: ['body'] }

/** The app with a marker before each statement, and the cell line each marker stands for. */
export function instrument(app: CompiledApp): { app: CompiledApp; points: Point[] } {
  const program = parse(app.code, { ecmaVersion: 'latest', sourceType: 'script', locations: true }) as Node
  const points: Point[] = []
  const markers: [number, string][] = []
  const slot = (node: Node): number | null => {
    // Located by its first name or value: a keyword (`else if`, `return`) may have no place of its own in the source map.
    const leaf = leftmostLeaf(node)
    const at = app.locate(leaf.loc!.start.line, leaf.loc!.start.column)
    if (!at) return null
    return points.push({ cell: at.cell, line: at.line }) - 1
  }
  const isStatement = (n: any) => typeof n?.type === 'string' && (n.type.endsWith('Statement') || n.type.endsWith('Declaration')) && n.type !== 'FunctionDeclaration' && n.type !== 'ClassDeclaration'
  const visit = (node: any, top: boolean): void => {
    const list = STATEMENT_LISTS[node.type]
    const bodies = BODIES[node.type] ?? []
    for (const key in node) {
      if (key === 'loc') continue
      const value = node[key]
      if (Array.isArray(value)) {
        for (const child of value) {
          if (!child || typeof child.type !== 'string') continue
          // The module's own wrapper (the top-level function expression) is not the user's.
          if (key === list && !top && isStatement(child)) {
            const i = slot(child)
            if (i !== null) markers.push([child.start, `$loom$at.hits[${i}]=1;`])
          }
          visit(child, false)
        }
      } else if (value && typeof value.type === 'string') {
        if (bodies.includes(key) && value.type !== 'BlockStatement' && isStatement(value)) {
          const i = slot(value)
          if (i !== null) {
            markers.push([value.start, `{$loom$at.hits[${i}]=1;`])
            markers.push([value.end, '}'])
          }
        }
        visit(value, top && node.type === 'Program')
      }
    }
  }
  visit(program, true)
  // Stable by offset: a block closed at an offset comes before one opened there (both were pushed in source order).
  const sorted = markers.map((m, i) => ({ m, i })).sort((a, b) => a.m[0] - b.m[0] || closing(b.m[1]) - closing(a.m[1]) || a.i - b.i).map(({ m }) => m)
  const code = insertMarkers(app.code, sorted)
  return { app: { ...app, code, codeHash: createHash('sha256').update(code).digest('hex') }, points }
}

/** Down the leftmost child, to a node with none (a name, a value): as deep as the statement, no deeper. */
function leftmostLeaf(node: Node): Node {
  for (let n: any = node; ; ) {
    let first: any = null
    for (const key in n) {
      if (key === 'loc') continue
      const v = n[key]
      for (const c of Array.isArray(v) ? v : [v]) if (c && typeof c.type === 'string' && (!first || c.start < first.start)) first = c
    }
    if (!first) return n
    n = first
  }
}

const closing = (marker: string) => (marker === '}' ? 1 : 0)

/** The points hit, per cell, in the order the cells come. */
export function coverageOf(points: readonly Point[], hit: readonly boolean[], cells: readonly string[]): Coverage[] {
  return cells.flatMap((cell) => {
    const mine = points.map((p, i) => ({ ...p, hit: hit[i]! })).filter((p) => p.cell === cell)
    if (!mine.length) return []
    const lines = [...new Set(mine.map((p) => p.line))].sort((a, b) => a - b)
    const on = (l: number) => mine.filter((p) => p.line === l)
    const missed = lines.filter((l) => on(l).every((p) => !p.hit))
    const partly = lines.filter((l) => on(l).some((p) => p.hit) && on(l).some((p) => !p.hit))
    return [{ cell, lines: lines.length, run: lines.length - missed.length - partly.length, missed, partly }]
  })
}
