// The notebooks this person opened last (loom serve, and switching from the
// window), kept in a small JSON file in their config folder:
// $XDG_CONFIG_HOME/loom/recent.json, else ~/.config/loom/recent.json. A file
// that cannot be read or is not the list is ignored (and replaced at the next
// open): the list is a convenience, never a reason to fail.
import { statSync } from 'node:fs'
import { configPath, readConfigFile, updateConfigFile } from './configFile.ts'

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
  return configPath('recent.json', env)
}

/** The list, newest first; notebooks that are no longer there are left out. */
export function readRecent(file = recentFile()): RecentNotebook[] {
  let text: string | null
  try {
    text = readConfigFile(file, MAX_FILE_BYTES)
  } catch {
    return []
  }
  return listIn(text)
}

/** The list in a file's text (null: no file). */
function listIn(text: string | null): RecentNotebook[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text ?? '')
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
    updateConfigFile(file, MAX_FILE_BYTES, (text) => ({ recent: [{ path, at: Date.now() }, ...listIn(text).filter((r) => r.path !== path)].slice(0, RECENT_MAX) }))
  } catch {
    // a read-only home, a full disk: the list is a convenience
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}
