// The one error of Loom (DESIGN §7): what went wrong, of which kind, and
// where, made where it happens and carried as it is to the UI and the CLI —
// never flattened to text and read back. Shared by engine/ and renderer/.
import type { SourceLocation } from '../runtime/event.ts'

/**
 * What kind of error, for code that reacts to it (people read the message).
 * The four kebab-case codes are a message refused unread (validate.ts).
 */
export type LoomErrorCode =
  /** The notebook does not parse (or is not UTF-8). */
  | 'parse'
  /** A cell does not compile. */
  | 'compile'
  /** The code compiled, but loading it failed: a duplicate state, a top-level throw, a switch() that failed. */
  | 'load'
  /** New code waits: its switch() aborted, and it takes over once what it read changes. */
  | 'parked'
  /** The new text compiles to the code that runs already: nothing to load. */
  | 'unchanged'
  /** A method threw while it ran. */
  | 'runtime'
  /** A test (an invariant over state) failed after an event. */
  | 'test'
  /** Something ran past its time limit. */
  | 'timeLimit'
  /** A value, an edit or a parameter that does not fit. */
  | 'badInput'
  /** The history: no such branch or event, a damaged log. */
  | 'history'
  /** A request that cannot be done now (the app runs, the notebook is broken, the engine closes, a role does not allow it). */
  | 'refused'
  /** The notebook's file changed on disk since Loom read or wrote it (another editor): a save would overwrite that change. */
  | 'changedOnDisk'
  /** The app or the connection stopped. */
  | 'stopped'
  /** A fault of Loom itself or of the machine (a log that could not be written): said as it was thrown. */
  | 'internal'
  | 'not-json' | 'too-large' | 'too-deep' | 'bad-request'

export const LOOM_ERROR_CODES: readonly LoomErrorCode[] = [
  'parse', 'compile', 'load', 'parked', 'unchanged', 'runtime', 'test', 'timeLimit', 'badInput', 'history', 'refused', 'changedOnDisk', 'stopped', 'internal',
  'not-json', 'too-large', 'too-deep', 'bad-request',
]

/** Where an error is, in the user's terms; every part is optional. */
export interface Where {
  /** The notebook (or log) file. */
  file?: string
  /** The cell's id. */
  cell?: string
  /** 1-based line inside the cell. */
  line?: number
  /** 1-based column inside that line. */
  column?: number
  /** 1-based line of the notebook file. */
  fileLine?: number
  /** The branch and event the error is about. */
  branch?: string
  event?: number
}

export interface LoomError {
  code: LoomErrorCode
  message: string
  where?: Where
}

/** The longest message and where-text a LoomError may carry: a client refuses a longer one unread (validate.ts). */
export const MAX_ERROR_TEXT = 1 << 20
export const MAX_WHERE_TEXT = 4096

/**
 * A LoomError with its where left out when it says nothing. Text a request
 * supplied (a branch name of 100,000 characters) is cut to what a client
 * reads, so the error still arrives.
 */
export function loomError(code: LoomErrorCode, message: string, where?: Where): LoomError {
  const text = cut(message, MAX_ERROR_TEXT)
  if (!where || !Object.keys(where).length) return { code, message: text }
  const bounded: Where = { ...where }
  for (const k of ['file', 'cell', 'branch'] as const) if (bounded[k] !== undefined) bounded[k] = cut(bounded[k]!, MAX_WHERE_TEXT)
  return { code, message: text, where: bounded }
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 40)}… (${s.length - max + 40} characters cut)`
}

/**
 * A place as the CLI prints it: `file:12 (cell #step, line 3)` with a cell
 * line, `file:12` with a file line only, else the file (or nothing).
 */
export function located(where: Where | undefined): string {
  if (!where) return ''
  const file = where.file ?? ''
  if (where.cell !== undefined && where.line !== undefined && where.fileLine !== undefined) return `${file}:${where.fileLine} (cell #${where.cell}, line ${where.line})`
  if (where.fileLine !== undefined) return `${file}:${where.fileLine}`
  return file
}

/** One error as one line of text: its place, then its message. */
export function describe(error: LoomError): string {
  const at = located(error.where)
  return at ? `${at}: ${error.message}` : error.message
}

/**
 * A LoomError thrown: one error or several (a notebook with two broken
 * cells). Its message is what the CLI prints, one error a line.
 */
export class LoomFailure extends Error {
  readonly errors: LoomError[]
  constructor(errors: LoomError | LoomError[]) {
    const list = Array.isArray(errors) ? errors : [errors]
    super(list.map(describe).join('\n'))
    this.errors = list
  }

  /** The first error: the one a single answer carries. */
  get error(): LoomError {
    return this.errors[0]!
  }
}

/** Where a located thing (a compile problem, a declaration, a throw) is: the file, and its cell and lines when known. */
export function whereAt(file: string, at: SourceLocation | null | undefined): Where {
  return at ? { file, cell: at.cell, line: at.line, fileLine: at.fileLine } : { file }
}
