// A notebook's code as the executor holds it: its compiled app, its methods
// and tests once loaded, and what is wrong when it cannot load.
import { basename } from 'node:path'
import type { CompiledApp, MethodName } from './compile.ts'
import type { Notebook } from './notebook.ts'
import type { SourceLocation } from './event.ts'
import { loomError, LoomFailure, type LoomErrorCode, type Where } from '../protocol/loomError.ts'

/** A code version loaded into the sandbox. */
export interface AppVersion {
  app: CompiledApp
  filename: string
  methods: Partial<Record<MethodName, (...args: unknown[]) => unknown>>
  tests: { name: string; property: () => unknown; at: SourceLocation | null }[]
}

/** A notebook whose code loaded but whose top level is wrong (duplicate state, a thrown error…). */
export class LoadError extends LoomFailure {
  constructor(message: string, where?: Where, code: LoomErrorCode = 'load') {
    super(loomError(code, message, where))
  }
}

/** The seed of `sys.random` and of the fair agent: the notebook's `seed:` setting, else one made from the file name. */
export function notebookSeed(notebook: Notebook, path: string): string {
  return notebook.settings.seed !== undefined ? String(notebook.settings.seed) : `loom:${basename(path)}`
}

/** The file name the sandbox compiles an app under: stack frames name it, so errors find their cell. */
export function appFilename(app: CompiledApp): string {
  return `loom:app/${app.codeHash.slice(0, 16)}.js`
}
