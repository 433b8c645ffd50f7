// The operating system's sandbox around a confined engine process (DESIGN §9),
// where the machine has one. Node's permission model (engineLaunch.ts) stops
// addons, child processes and file access from JavaScript; it does not stop
// the network, and it holds only as long as Node itself is not broken. The OS
// sandbox is the layer that still holds when it is:
//
// Linux, bubblewrap (bwrap) found and working: new network namespace (no
//   network at all, not even the host's 127.0.0.1), new pid/ipc/uts/user
//   namespaces, an empty environment, a filesystem made only of read-only
//   binds of the system's libraries, Node, Loom's code and the notebook
//   file (no home folder, no /tmp, a read-only /dev, the sandbox's own root
//   read-only; for `loom explore` one folder of its own, scratchFolder.ts), no capabilities,
//   its own session (no terminal injection), killed with its parent.
// Linux without bwrap, macOS, Windows: Node's permission model only — said in
//   one line (`notice`) each time a confined process starts.
import { spawnSync } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'

export interface OsSandbox {
  /**
   * The command to run instead of `node ...args`, and its arguments before node's.
   * `binds` are seen read-only; `writable` (folders) read-write; `env` is all the environment node gets.
   */
  wrap(node: string, args: string[], binds: string[], cwd: string, writable?: string[], env?: Record<string, string>): { command: string; args: string[] }
  /** What holds: for hello, tests and the docs. */
  readonly kind: 'bwrap' | 'none'
  /** One line for the person running it when something is not enforced (null: nothing to say). */
  readonly notice: string | null
}

const SYSTEM = ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin', '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/localtime']

let cached: OsSandbox | undefined

/** The sandbox this machine offers (probed once per process: bwrap is started once, ~10 ms). */
export function osSandbox(env: NodeJS.ProcessEnv = process.env): OsSandbox {
  if (env.LOOM_NO_OS_SANDBOX === '1') return none('the OS sandbox is turned off (LOOM_NO_OS_SANDBOX=1)')
  if (cached) return cached
  cached = probe(env)
  return cached
}

function probe(env: NodeJS.ProcessEnv): OsSandbox {
  if (process.platform === 'darwin') return none('macOS: the app runs under Node\'s permission model only; its network is not blocked (no OS sandbox yet)')
  if (process.platform === 'win32') return none('Windows: the app runs under Node\'s permission model only; its network is not blocked (no OS sandbox yet)')
  if (process.platform !== 'linux') return none(`${process.platform}: the app runs under Node's permission model only; its network is not blocked`)
  const bwrap = findOnPath('bwrap', env)
  if (!bwrap) return none('no bubblewrap (bwrap) on this machine: the app runs under Node\'s permission model only; its network is not blocked (install bubblewrap)')
  const tried = spawnSync(bwrap, [...baseArgs(), '--ro-bind', '/', '/', '--', '/bin/true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 })
  if (tried.status !== 0) {
    const why = tried.stderr?.toString().trim().split('\n')[0] || `exit ${tried.status}`
    return none(`bubblewrap cannot make namespaces here (${why}): the app runs under Node's permission model only; its network is not blocked`)
  }
  return {
    kind: 'bwrap',
    notice: null,
    wrap(node, args, binds, cwd, writable = [], env = {}) {
      const mounts: string[] = []
      for (const path of SYSTEM) if (existsSync(path)) mounts.push('--ro-bind', path, path)
      // Node itself, wherever it is installed (nvm, a packaged app), and what the process reads.
      const nodeReal = realpathSync(node)
      // By real path (a symlink inside one bind leads to another), and a folder inside another bound one only once.
      const real = [...new Set([dirname(nodeReal), ...binds].filter((p) => existsSync(p)).map((p) => realpathSync(p)))].sort()
      const outer = real.filter((p) => !real.some((q) => q !== p && p.startsWith(q.endsWith('/') ? q : `${q}/`)))
      for (const path of outer) mounts.push('--ro-bind', path, path)
      // Writable folders last, parents first: a later mount lies over an earlier one (a notebook inside Loom's own folder).
      const rw = [...new Set(writable.filter((p) => existsSync(p)).map((p) => realpathSync(p)))].sort((a, b) => a.length - b.length)
      for (const path of rw) mounts.push('--bind', path, path)
      // The sandbox's own root (a tmpfs holding the mount points) read-only too: the folders above are all it may write.
      mounts.push('--remount-ro', '/')
      const vars = Object.entries(env)
      return {
        command: bwrap,
        // bwrap sets PWD after --clearenv; `env -i` starts node with only `env`.
        args: [...baseArgs(), ...vars.flatMap(([k, v]) => ['--setenv', k, v]), '--proc', '/proc', '--dev', '/dev', '--remount-ro', '/dev', ...mounts, '--chdir', cwd, '--', ...(existsSync('/usr/bin/env') ? ['/usr/bin/env', '-i', ...vars.map(([k, v]) => `${k}=${v}`)] : []), nodeReal, ...args],
      }
    },
  }
}

/** Namespaces, session, death with the parent, no capabilities, no environment. */
function baseArgs(): string[] {
  return [
    '--unshare-all', // user (where allowed), ipc, pid, net, uts, cgroup
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    '--clearenv',
  ]
}

function none(notice: string): OsSandbox {
  return {
    kind: 'none',
    notice,
    wrap: (node, args) => ({ command: node, args }),
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of [...(env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin', '/bin']) {
    if (!dir) continue
    const path = join(dir, name)
    if (existsSync(path)) return path
  }
  return null
}
