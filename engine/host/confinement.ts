// How this process is confined, asked of Node's permission model itself
// (process.permission.has) rather than taken from how it was started: what
// hello reports, so a UI or a test sees what actually holds.
import type { ConfinementView } from '../protocol/messages.ts'

const WRITE_FLAG = '--allow-fs-write='

export function confinement(): ConfinementView | null {
  const permission = process.permission
  if (!permission) return null
  // The paths granted are only known from the flags; each is listed if the model confirms it.
  const granted = process.execArgv.filter((a) => a.startsWith(WRITE_FLAG)).map((a) => a.slice(WRITE_FLAG.length))
  return {
    childProcess: permission.has('child'),
    worker: permission.has('worker'),
    // Node 20 has no scope to ask about addons; the flag is what allows them.
    addons: process.execArgv.includes('--allow-addons'),
    fsWriteAnywhere: permission.has('fs.write'),
    fsWrite: granted.filter((path) => permission.has('fs.write', path.endsWith('*') ? `${path.slice(0, -1)}x` : path)),
  }
}
