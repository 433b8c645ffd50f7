// What the desktop app remembers between runs, in a small JSON file in
// Electron's userData folder: the last window's bounds and the recent
// notebooks. A missing or damaged file means starting fresh, never an error.
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

const MAX_RECENT = 10

/** @typedef {{ x?: number, y?: number, width: number, height: number }} Bounds */
/** @typedef {{ bounds: Bounds | null, maximized: boolean, recent: string[] }} WindowState */

/** @returns {WindowState} */
export function loadWindowState(file) {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8'))
    const b = s.bounds
    const ok = (n) => Number.isFinite(n)
    return {
      bounds: b && ok(b.width) && ok(b.height) && b.width >= 200 && b.height >= 150 ? { width: b.width, height: b.height, ...(ok(b.x) && ok(b.y) ? { x: b.x, y: b.y } : {}) } : null,
      maximized: s.maximized === true,
      recent: Array.isArray(s.recent) ? s.recent.filter((p) => typeof p === 'string').slice(0, MAX_RECENT) : [],
    }
  } catch {
    return { bounds: null, maximized: false, recent: [] }
  }
}

/** Writes the state atomically (a crash mid-write leaves the old file). */
export function saveWindowState(file, state) {
  mkdirSync(dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(state, null, 2) + '\n')
  renameSync(temp, file)
}

/** The recent list with `path` first. */
export function withRecent(recent, path) {
  return [path, ...recent.filter((p) => p !== path)].slice(0, MAX_RECENT)
}

/**
 * Bounds that are on one of the screens now attached (a window restored onto
 * a monitor that has since been unplugged would be invisible).
 * @param {Bounds | null} bounds
 * @param {{ x: number, y: number, width: number, height: number }[]} workAreas
 */
export function visibleBounds(bounds, workAreas) {
  if (!bounds) return null
  if (bounds.x === undefined || bounds.y === undefined) return bounds
  const onScreen = workAreas.some((a) => bounds.x < a.x + a.width - 50 && bounds.x + bounds.width > a.x + 50 && bounds.y >= a.y - 10 && bounds.y < a.y + a.height - 50)
  return onScreen ? bounds : { width: bounds.width, height: bounds.height }
}
