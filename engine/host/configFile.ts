// The small JSON files Loom keeps for this person in their config folder
// ($XDG_CONFIG_HOME/loom/, else ~/.config/loom/): the recent notebooks, the
// grants they allowed. Read only when a regular file of bounded size (opened
// without blocking: one replaced by a link to /dev/zero or by a FIFO would
// otherwise hang the reader), written whole or not at all.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/** A file in Loom's config folder. */
export function configPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(config, 'loom', name)
}

/** The text of a regular file of at most `maxBytes`, or a throw. */
export function readConfigFile(file: string, maxBytes: number): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile() || stat.size > maxBytes) throw new Error(`${file} is not a file Loom wrote`)
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}

/** Writes `value` as the file's JSON: two Looms writing at once each write their own temporary file, then rename it over. Throws when it cannot. */
export function writeConfigFile(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(value, null, 1) + '\n')
  renameSync(temp, file)
}
