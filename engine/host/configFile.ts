// The small JSON files Loom keeps for this person in their config folder
// ($XDG_CONFIG_HOME/loom/, else ~/.config/loom/): the recent notebooks, the
// grants they allowed. Read only when a regular file of bounded size (opened
// without blocking: one replaced by a link to /dev/zero or by a FIFO would
// otherwise hang the reader), written whole or not at all.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
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

/** What parsed reads of each file last found, keyed by the file as it was then. */
const parsedCache = new Map<string, { key: string; value: unknown }>()

/**
 * `parse` of the file's text (null when there is none Loom could read), read again only once the file changed:
 * another inode (every write renames a new file over it), size, modification or change time. A reader asked
 * before every effect (allowedGrants.ts) then costs a stat, not a read and a parse. `parse`'s result is shared:
 * not to be changed.
 */
export function readConfigFileParsed<T>(file: string, maxBytes: number, parse: (text: string | null) => T): T {
  let key = 'none'
  try {
    const s = statSync(file)
    key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`
  } catch {
    // none: parsed as null, read again once there is one
  }
  const hit = parsedCache.get(file)
  if (hit?.key === key) return hit.value as T
  let text: string | null = null
  try {
    text = readConfigFile(file, maxBytes)
  } catch {
    // not one Loom wrote: parsed as none
  }
  const value = parse(text)
  parsedCache.set(file, { key, value })
  return value
}

/** Writes `value` as the file's JSON: two Looms writing at once each write their own temporary file, then rename it over. Throws when it cannot. */
function writeConfigFile(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(value, null, 1) + '\n')
  renameSync(temp, file)
}

/** A lock older than this was left by a process that died holding it. */
const STALE_LOCK_MS = 10_000

/**
 * Reads the file, changes it and writes it back while holding `FILE.lock`
 * (made exclusively), so that two Looms changing it at once do not lose one
 * change: the second waits for the first. `change` gets the current text, or
 * null when there is none Loom could read. Throws when it cannot write.
 */
export function updateConfigFile(file: string, maxBytes: number, change: (text: string | null) => unknown): void {
  mkdirSync(dirname(file), { recursive: true })
  const lock = `${file}.lock`
  const wait = new Int32Array(new SharedArrayBuffer(4))
  for (let tries = 0; ; tries++) {
    try {
      closeSync(openSync(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const age = (() => { try { return Date.now() - statSync(lock).mtimeMs } catch { return 0 } })()
      if (age > STALE_LOCK_MS || tries > 500) rmSync(lock, { force: true })
      else Atomics.wait(wait, 0, 0, 10)
    }
  }
  try {
    let text: string | null = null
    try {
      text = readConfigFile(file, maxBytes)
    } catch {
      // none yet, or not one Loom wrote: replaced
    }
    writeConfigFile(file, change(text))
  } finally {
    rmSync(lock, { force: true })
  }
}
