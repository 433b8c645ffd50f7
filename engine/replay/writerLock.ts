// One writer per log: the process that appends to a log (`loom run`, the
// engine of `loom serve` or of the desktop app) holds NAME.loom.db.lock,
// which names it. A second writer is refused at once, with who holds the log
// and what to do, instead of finding out at its first commit that another
// process moved the branch under it. Readers (`loom log`, `state`, `replay
// --verify`) take no lock. A lock left by a process that is gone is taken over.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { LogFormatError } from './logErrors.ts'
import { lockPath } from './dbPath.ts'

/** What a lock file says of its holder. */
interface Holder {
  pid: number
  command: string
  since: number
}

/** Another live process writes this log. */
export class LogBusyError extends LogFormatError {}

/** Takes the log's writer lock; returns how to let it go. Throws LogBusyError naming the holder. */
export function takeWriterLock(dbPath: string): () => void {
  // By its full path: one process may name the log relatively in one place and absolutely in another.
  const path = lockPath(resolve(dbPath))
  // Ours already (the same process opened the log again, e.g. an engine restarted under one supervisor): shared,
  // and the file goes only when the last handle lets go — the first close must not unlock a log still being written.
  const held = heldHere.get(path)
  if (held) {
    held.handles++
    return held.release()
  }
  const me: Holder = { pid: process.pid, command: commandLine(), since: Date.now() }
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      fd = openSync(path, 'wx')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = readHolder(path)
      // Being written this very moment by a process that just took it: not stale.
      if (!holder && Date.now() - mtime(path) < 2000) throw new LogBusyError(`${dbPath}: another Loom is starting on it (${path}); one process writes a log at a time`)
      // Ours, left by a handle this process no longer counts: taken again below like a stale one.
      if (holder && holder.pid !== process.pid && alive(holder.pid)) {
        throw new LogBusyError(`${dbPath} is being written by another Loom (pid ${holder.pid}: ${holder.command}, since ${new Date(holder.since).toISOString()}): one process writes a log at a time. Stop that one first; meanwhile loom log, state and replay --verify read the log as it grows`)
      }
      // Its holder is gone (a crash, kill -9): the lock is stale. Removed, then taken like a new one, so two
      // processes that find it stale at once cannot both take it.
      try {
        unlinkSync(path)
      } catch {
        // Another process removed it first; the next attempt tells who won.
      }
      continue
    }
    writeSync(fd, JSON.stringify(me) + '\n')
    closeSync(fd)
    const held = { handles: 1, release: () => once(() => letGo(path, held)) }
    heldHere.set(path, held)
    return held.release()
  }
  throw new LogBusyError(`${dbPath}: could not take its writer lock (${path}); another Loom is starting on it`)
}

/** The locks this process holds, by lock file, with how many open logs share each. */
const heldHere = new Map<string, { handles: number; release: () => () => void }>()

/** One handle lets go; the last one removes the lock file. */
function letGo(path: string, held: { handles: number }): void {
  if (--held.handles > 0) return
  heldHere.delete(path)
  // Only our own lock goes: if it was taken over meanwhile (we were thought gone), it is the other's now.
  if (readHolder(path)?.pid === process.pid) {
    try {
      unlinkSync(path)
    } catch {
      // Already gone.
    }
  }
}

/** `fn`, callable many times, run once: a log closed twice lets go of its lock once. */
function once(fn: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    fn()
  }
}

function readHolder(path: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>
    return Number.isSafeInteger(h.pid) && typeof h.command === 'string' && typeof h.since === 'number' ? (h as Holder) : null
  } catch {
    // Unreadable or half-written: a process that died while writing it, or one writing it right now.
    return null
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/** Whether process `pid` runs. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function commandLine(): string {
  const args = process.argv.slice(2)
  return args.length ? `loom ${args.join(' ')}`.slice(0, 200) : process.title
}
