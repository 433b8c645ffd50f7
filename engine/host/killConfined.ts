// Ends a process started through the OS sandbox (osSandbox.ts), the sandbox's
// own first process with it. bwrap binds that process (PID 1 of the new
// namespaces) to die with it only once it has set the namespaces up: killed
// before then, bwrap leaves it waiting for ever for a setup that will not
// come, a process no signal but SIGKILL from outside ends (seen after test
// runs that closed an evaluator as it started). So its children go too.
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export function killConfined(child: ChildProcess): void {
  const pid = child.pid
  if (process.platform === 'linux' && pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      // Stopped first (and waited for: a signal takes effect when it is next scheduled), so that it starts no
      // child between the look and the kill.
      process.kill(pid, 'SIGSTOP')
      waitStopped(pid)
      for (const c of childrenOf(pid)) process.kill(c, 'SIGKILL')
    } catch {
      // Gone meanwhile: its children were bound to it by then, or never started.
    }
  }
  child.kill('SIGKILL')
}

/** Waits, at most 200 ms, until `pid` is stopped or gone. */
function waitStopped(pid: number): void {
  const nap = new Int32Array(new SharedArrayBuffer(4))
  for (let i = 0; i < 200; i++) {
    let state: string
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    } catch {
      return
    }
    if ('TtZX'.includes(state)) return
    Atomics.wait(nap, 0, 0, 1)
  }
}

/** The processes whose parent is `pid`, from /proc (a look at every process: only when one is killed). */
function childrenOf(pid: number): number[] {
  const found: number[] = []
  let names: string[]
  try {
    names = readdirSync('/proc')
  } catch {
    return found
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue
    }
    // "pid (name) state ppid …": the name may hold spaces and parentheses, so the fields are read after the last ')'.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(name))
  }
  return found
}
