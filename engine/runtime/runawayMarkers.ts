// The marks that say where a runaway transaction was cut off: which
// statements note their file line first, and the one pass that inserts them.
import type { Node } from 'acorn'

const LOOPS = new Set(['WhileStatement', 'DoWhileStatement', 'ForStatement', 'ForInStatement', 'ForOfStatement'])
const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'])
/** The keys that hold a list of statements (a class body's list holds methods). */
const STATEMENT_LISTS: Record<string, string> = { Program: 'body', BlockStatement: 'body', StaticBlock: 'body', SwitchCase: 'consequent' }

/**
 * Where a runaway is located: the time limit stops V8 from outside (vm's
 * watchdog), which leaves no stack, and the inspector is closed to a confined
 * engine. So each loop, and each statement inside a loop's body, first notes
 * its file line in a number the sandbox keeps (one store to a sealed object);
 * the line noted last when the limit cut the transaction off is where it was.
 * Statements in order, by position; a function inside a loop starts afresh.
 */
export function runawayMarkers(program: Node): Node[] {
  const out: Node[] = []
  const visit = (node: any, inLoop: boolean): void => {
    const list = STATEMENT_LISTS[node.type]
    for (const key in node) {
      if (key === 'loc') continue
      const value = node[key]
      const inside = FUNCTIONS.has(node.type) ? false : inLoop || (LOOPS.has(node.type) && key === 'body')
      if (Array.isArray(value)) {
        for (const child of value) {
          if (!child || typeof child.type !== 'string') continue
          const loop = LOOPS.has(child.type) || (child.type === 'LabeledStatement' && LOOPS.has(child.body.type))
          if (key === list && (inside || loop)) out.push(child)
          visit(child, inside)
        }
      } else if (value && typeof value.type === 'string') visit(value, inside)
    }
  }
  visit(program, false)
  return out.sort((a, b) => a.start - b.start)
}

/** `text` with each marker inserted at its offset (offsets ascending), in one pass: a cell may hold thousands. */
export function insertMarkers(text: string, markers: [at: number, marker: string][]): string {
  const parts: string[] = []
  let from = 0
  for (const [at, marker] of markers) {
    parts.push(text.slice(from, at), marker)
    from = at
  }
  parts.push(text.slice(from))
  return parts.join('')
}
