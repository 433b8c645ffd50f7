/** The folder Loom is installed in (holding its package.json), from a module's import.meta.url. */
export function repoRoot(moduleUrl: string): string
