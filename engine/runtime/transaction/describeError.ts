// What went wrong in cell code, in words, and where in the notebook: the
// innermost frame of the app's own code (named `loom:app/<hash>.js`).
import { callSites } from '../callSites.ts'
import type { CompiledApp } from '../compile.ts'
import type { SourceLocation } from '../event.ts'

/** V8's words for a write to a frozen object: what a cell that keeps state in a module-level value meets. */
const FROZEN = /^TypeError: (Cannot assign to read only property|Cannot add property .*object is not extensible|Cannot delete property|Cannot define property)/

/** The code versions the sandbox has compiled, by file name: to map a stack frame back to its cell. */
export type AppsByFile = ReadonlyMap<string, CompiledApp>

/** What went wrong, in words, and where in the notebook (the innermost app frame of its stack). */
export function describeError(err: unknown, app: CompiledApp, apps: AppsByFile): { reason: string; location: SourceLocation | null } {
  let reason: string
  let stack = ''
  try {
    if (err !== null && typeof err === 'object' && typeof (err as Error).message === 'string') {
      const e = err as Error
      reason = e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message
      stack = typeof e.stack === 'string' ? e.stack : ''
    } else reason = `threw ${describeValue(err)}`
  } catch {
    reason = 'threw a value that cannot be described'
  }
  if (FROZEN.test(reason)) reason += ' (values outside state are read-only once the app has loaded: keep what changes between transactions in state.var, state.map, …)'
  return { reason, location: locateStack(stack, apps, app) }
}

/** The notebook place of the innermost app frame in `stack`. */
function locateStack(stack: string, apps: AppsByFile, fallback?: CompiledApp): SourceLocation | null {
  for (const m of stack.matchAll(/(loom:app\/[0-9a-f]+\.js):(\d+):(\d+)/g)) {
    const app = apps.get(m[1]!) ?? fallback
    const at = app?.locate(Number(m[2]), Number(m[3]) - 1)
    if (at) return at
  }
  return null
}

/** Where in the notebook the cell code that called into the host is: its innermost app frame. */
export function callerInCell(apps: AppsByFile): SourceLocation | null {
  for (const site of callSites()) {
    const file = site.getFileName()
    if (!file?.startsWith('loom:app/')) continue
    const at = apps.get(file)?.locate(site.getLineNumber() ?? 0, (site.getColumnNumber() ?? 1) - 1)
    if (at) return at
  }
  return null
}

export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'function') return 'a function'
  if (Array.isArray(v)) return 'an array'
  if (v === null || typeof v !== 'object') return String(v)
  return 'an object'
}
