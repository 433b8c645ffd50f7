// Errors as the UI shows them: a message and where (file, cell, line). Every
// refusal the host sends goes through here, whatever threw it.
import { CompileError } from '../runtime/compile.ts'
import { NotebookError } from '../runtime/notebook.ts'
import type { ProblemView, Where } from '../protocol/messages.ts'

/** A refusal with a message the user can act on; the host answers it as an error response. */
export class Refusal extends Error {
  constructor(message: string, readonly where?: Where) {
    super(message)
  }
}

/** `path:12 (cell #step, line 3): message`, the way formatLocation writes it. */
const LOCATED = /^(.*?):(\d+) \(cell #([A-Za-z][\w-]*), line (\d+)\): ([\s\S]*)$/

/** Every problem an error stands for (a compile error has one per broken place). */
export function problemsOf(err: unknown, file?: string): ProblemView[] {
  if (err instanceof CompileError) {
    return err.problems.map((p) => ({
      message: p.message,
      where: p.location ? { file: err.path, cell: p.location.cell, line: p.location.line, fileLine: p.location.fileLine } : { file: err.path },
    }))
  }
  if (err instanceof NotebookError) return [parseProblem(err)]
  if (err instanceof Refusal) return [{ message: err.message, ...(err.where ? { where: err.where } : {}) }]
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n').filter(Boolean).map((line) => problemFromMessage(line, file))
}

export function problemOf(err: unknown, file?: string): ProblemView {
  const all = problemsOf(err, file)
  if (all.length <= 1) return all[0] ?? { message: 'unknown error' }
  // One response carries one problem: the first says where, the message keeps them all.
  return { message: all.map((p) => p.message).join('\n'), ...(all[0]!.where ? { where: all[0]!.where } : {}) }
}

/** A notebook that does not parse: the message without the path prefix, at its file line. */
export function parseProblem(err: NotebookError): ProblemView {
  const prefix = err.line > 0 ? `${err.path}:${err.line}: ` : `${err.path}: `
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message
  const where: Where = { file: err.path }
  if (err.line > 0) where.fileLine = err.line
  if (err.cellId !== undefined) where.cell = err.cellId
  return { message, where }
}

/** An engine message that names its place (load errors, switch() refusals) becomes a located problem. */
export function problemFromMessage(message: string, file?: string): ProblemView {
  const m = LOCATED.exec(message)
  if (!m) return { message, ...(file ? { where: { file } } : {}) }
  return { message: m[5]!, where: { file: m[1]!, cell: m[3]!, line: Number(m[4]), fileLine: Number(m[2]) } }
}
