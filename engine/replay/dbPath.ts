// Where a notebook's log is by default. Its own module: the process that
// starts an engine needs it (to allow writes there) without loading the runtime.

/** `bank.loom.md` → `bank.loom.db`. */
export function defaultDbPath(notebook: string): string {
  return notebook.endsWith('.loom.md') ? notebook.slice(0, -'.md'.length) + '.db' : notebook + '.loom.db'
}
