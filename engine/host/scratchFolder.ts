// A folder of its own that a confined process may write — the one place: a
// big exploration's levels go to files there (engine/replay/frontier.ts).
// Made by the launcher in the system's temporary folder, named after the
// launcher's pid, and removed when the job ends. The files in it never have
// a name (O_TMPFILE), so nothing of the job's data outlives its process; a
// launcher killed with SIGKILL leaves only the empty folder, which the next
// launcher removes (its pid is gone). A pid means something only in its own
// pid namespace, so the name carries the namespace too: a launcher in another
// one (a container sharing /tmp) is never taken for gone, and its folder is
// left to it.
import { mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PREFIX = 'loom-scratch-'

export interface ScratchFolder {
  readonly path: string
  /** Removes it with whatever is in it; again does nothing. */
  remove(): void
}

export function scratchFolder(): ScratchFolder {
  const space = pidSpace()
  sweep(space)
  // By its real path: the permission model and the OS sandbox are given that.
  const path = realpathSync(mkdtempSync(join(tmpdir(), `${PREFIX}${space}-${process.pid}-`)))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** This process's pid namespace, as a number ('0' where there is none to read). */
function pidSpace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0'
  } catch {
    return '0'
  }
}

/** Removes the folders of launchers of this pid namespace that are gone (killed before they could remove their own). */
function sweep(space: string): void {
  let names: string[]
  try {
    names = readdirSync(tmpdir())
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue
    const [from, id] = name.slice(PREFIX.length).split('-')
    if (from !== space) continue
    const pid = Number(id)
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
