// The folder Loom is installed in (the one holding its package.json), found
// from a module's own URL: the same code runs from its source folder and
// bundled into dist/engine/, at other depths.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** @param {string} moduleUrl a module's import.meta.url */
export function repoRoot(moduleUrl) {
  let dir = dirname(fileURLToPath(moduleUrl))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}: Loom's files are not where it expects them`)
    dir = up
  }
  return dir
}
