// The notebooks this person opened last (loom serve, and switching from the
// window), kept in a small JSON file in their config folder:
// $XDG_CONFIG_HOME/loom/recent.json, else ~/.config/loom/recent.json. A file
// that cannot be read or is not the list is ignored (and replaced at the next
// open): the list is a convenience, never a reason to fail.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/** How many notebooks the list keeps. */
export const RECENT_MAX = 10
/** A recent.json larger than this is not read (it was not written by Loom). */
const MAX_FILE_BYTES = 256 * 1024

export interface RecentNotebook {
  path: string
  /** When it was last opened (ms since the epoch). */
  at: number
}

export function recentFile(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(config, 'loom', 'recent.json')
}

/** The list, newest first; notebooks that are no longer there are left out. */
export function readRecent(file = recentFile()): RecentNotebook[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(readSmallFile(file))
  } catch {
    return []
  }
  const list = Array.isArray((parsed as { recent?: unknown })?.recent) ? (parsed as { recent: unknown[] }).recent : []
  const seen = new Set<string>()
  const out: RecentNotebook[] = []
  for (const r of list) {
    const { path, at } = (r ?? {}) as Partial<RecentNotebook>
    if (typeof path !== 'string' || !path.startsWith('/') || path.length > 4096 || path.includes('\0') || seen.has(path)) continue
    seen.add(path)
    if (isFile(path)) out.push({ path, at: typeof at === 'number' && Number.isFinite(at) ? at : 0 })
    if (out.length === RECENT_MAX) break
  }
  return out
}

/** Puts `path` first in the list. Never throws: a list that cannot be written is only not kept. */
export function rememberNotebook(path: string, file = recentFile()): void {
  try {
    const recent = [{ path, at: Date.now() }, ...readRecent(file).filter((r) => r.path !== path)].slice(0, RECENT_MAX)
    mkdirSync(dirname(file), { recursive: true })
    // Whole or not at all: two Looms opening notebooks at once each write their own temporary file.
    const temp = `${file}.${process.pid}.tmp`
    writeFileSync(temp, JSON.stringify({ recent }, null, 1) + '\n')
    renameSync(temp, file)
  } catch {
    // a read-only home, a full disk: the list is a convenience
  }
}

/**
 * The text of a regular file of at most MAX_FILE_BYTES, or a throw. Checked on
 * the opened file, and opened without blocking: a list replaced by a link to
 * /dev/zero or by a FIFO would otherwise hang loom serve as it starts.
 */
function readSmallFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) throw new Error(`${file} is not the list`)
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}
