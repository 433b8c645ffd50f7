// A folder of its own that a confined process may write — the one place: a
// big exploration's levels go to files there (engine/replay/frontier.ts).
// Made by the launcher in the system's temporary folder, named after the
// launcher's pid, and removed when the job ends. The files in it never have
// a name (O_TMPFILE), so nothing of the job's data outlives its process; a
// launcher killed with SIGKILL leaves only the empty folder, which the next
// launcher removes (its pid is gone).
import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PREFIX = 'loom-scratch-'

export interface ScratchFolder {
  readonly path: string
  /** Removes it with whatever is in it; again does nothing. */
  remove(): void
}

export function scratchFolder(): ScratchFolder {
  sweep()
  // By its real path: the permission model and the OS sandbox are given that.
  const path = realpathSync(mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`)))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** Removes the folders of launchers that are gone (killed before they could remove their own). */
function sweep(): void {
  let names: string[]
  try {
    names = readdirSync(tmpdir())
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue
    const pid = Number(name.slice(PREFIX.length).split('-')[0])
    if (!Number.isSafeInteger(pid) || pid <= 0 || alive(pid)) continue
    try {
      rmSync(join(tmpdir(), name), { recursive: true, force: true })
    } catch {
      // Another user's: theirs to remove.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: someone else's process, alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
