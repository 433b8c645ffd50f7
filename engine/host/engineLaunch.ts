// How an engine process is started, confined by Node's permission model
// (DESIGN §9) and, where there is one, the OS sandbox (osSandbox.ts). For
// `loom serve` and the desktop app (engineLaunch, a Node child of the
// supervisor: forkEngine.ts): no native addons — the SQLite log stays with
// the supervisor, which serves it over the link on fd 4
// (engine/replay/logHost.ts) — no child processes, no threads, no WASI, no
// file writes at all (the supervisor writes the notebook on Save, that file
// only); reads of Loom's code and the notebook file. For `loom
// run`/`test`/`replay` (runLaunch): the same.
//
// What stays open, honestly:
// - Node 20's model does not restrict the network (under serve the app's HTTP
//   is the engine's own): only the OS sandbox does, where there is one.
// - A broken engine can still ask, through its links, for what the UI may ask:
//   Save the notebook with any text, switch, fork, promote and import branches,
//   and append events to the branch it runs — never another file, never a
//   forged hash, never a branch it did not make deleted (logHost.ts).
// Cell code itself runs in a node:vm context with no require, process or import
// (engine/runtime/sandbox.ts): it has no way to reach an addon, fs or a thread.
import { existsSync, realpathSync } from 'node:fs'
import { totalmem } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { HostOptions } from './EngineHost.ts'
import { ensureEngineBundle } from '../../scripts/build-engine.ts'
import { osSandbox, type OsSandbox } from './osSandbox.ts'

const REPO = resolve(fileURLToPath(new URL('../../', import.meta.url)))

export interface EngineLaunch {
  /** The bundled engine process (plain JavaScript: no TypeScript loader, which would start esbuild's process). */
  entry: string
  execArgv: string[]
  env: Record<string, string>
  /** The OS sandbox to start it in: what it sees (read-only), and the folders it may write (none). */
  os: { sandbox: OsSandbox; read: string[]; writable: string[] }
  /** Its heap limit (MB). */
  memoryMb: number
}

export interface LaunchOptions {
  /** Lines for the person running it (that the bundle was built). Default: stderr. */
  say?: (line: string) => void
  /** Tests only: a module the engine process imports before its entry, under the same confinement. */
  preload?: string
  /**
   * `loom explore --workers W`: the confined process may start threads (its shards). A thread has
   * exactly the process's confinement (the same permission model, the same OS sandbox, no log):
   * it can do nothing the process cannot.
   */
  threads?: boolean
  /** The process's heap limit in MB (--max-old-space-size): default engineMemoryMb(). */
  memoryMb?: number
  /**
   * `loom explore`: a folder of its own (scratchFolder.ts) that the confined process may write, and no
   * other: where a big exploration's levels go to files (the job names it: the process has no environment).
   */
  scratch?: string
}

/**
 * The heap limit of the process that runs cells: LOOM_ENGINE_MEMORY_MB, or a
 * quarter of the machine's memory, between 2048 MB (about Node's own default)
 * and 4096 MB — explicit, so that when a cell allocates without end the
 * launcher can say which limit it reached.
 */
export function engineMemoryMb(env: NodeJS.ProcessEnv = process.env): number {
  return megabytes(env.LOOM_ENGINE_MEMORY_MB) ?? Math.min(4096, Math.max(2048, Math.floor(totalmem() / 4 / 2 ** 20)))
}

/** The heap limit of the REPL's and the queries' evaluator process (evaluatorProcess.ts): LOOM_EVAL_MEMORY_MB, or 256 MB. */
export function evalMemoryMb(env: NodeJS.ProcessEnv = process.env): number {
  return megabytes(env.LOOM_EVAL_MEMORY_MB) ?? 256
}

function megabytes(text: string | undefined): number | undefined {
  const n = Number(text)
  return text && Number.isSafeInteger(n) && n >= 16 ? n : undefined
}

export function engineLaunch(options: HostOptions, launch: LaunchOptions = {}): EngineLaunch {
  const say = launch.say ?? ((line: string) => void process.stderr.write(`loom: ${line}\n`))
  const entry = ensureEngineBundle(say)
  const notebook = resolve(options.notebook)
  // A packaged desktop app keeps its code in app.asar, and the files Node loads itself beside it.
  // node_modules named apart: it may be a symlink to elsewhere (a git worktree sharing one install), which REPO's real path does not cover.
  const code = [REPO, join(REPO, 'node_modules'), ...(REPO.endsWith('.asar') ? [`${REPO}.unpacked`] : [])]
  // Of the session, only the notebook file: the log is the supervisor's (over fd 4), and so is Save (forkEngine.ts).
  const read = [...code, notebook]
  const preload = launch.preload ?? testBreach()
  const memoryMb = launch.memoryMb ?? engineMemoryMb()
  const execArgv = [
    permissionFlag(),
    ...withRealPaths(read).map((p) => `--allow-fs-read=${p}`),
    // No --allow-fs-write: it writes no file (Save and the log go through the supervisor).
    // Both warnings are the note above, printed on every start; hello's `confined` says what holds.
    ...known('--disable-warning', '=ExperimentalWarning'),
    ...known('--disable-warning', '=SecurityWarning'),
    // Cells compile with esbuild as WebAssembly here (no child process). V8's baseline
    // compiler alone: the first cell compiles in ~80 ms instead of ~230 with optimising
    // tier-up, and later cells as fast (measured with Node 20 on the samples' cells).
    '--liftoff-only',
    // No --enable-source-maps: a crash's stack is mapped when printed (originalStack.ts).
    `--max-old-space-size=${memoryMb}`,
    ...(preload ? [`--import=${pathToFileURL(preload).href}`] : []),
  ]
  return {
    entry,
    memoryMb,
    execArgv,
    // Nothing of the user's environment (tokens, keys, paths): the notebook's configuration reaches sys.env
    // through the options.
    env: {},
    // The notebook's folder, read-only: a Save renames a new file over the notebook, which a bind of the file would not show.
    os: { sandbox: osSandbox(), read: withRealPaths([...code, dirname(notebook)]), writable: [] },
  }
}

/** Node 20 calls it --experimental-permission; from Node 22.13 it is --permission. */
function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission'
}

/** A confined process to spawn: `command args` with `env`, the link to its log on fd 3 (answers) and fd 4 (its frames). */
export interface ConfinedLaunch {
  command: string
  args: string[]
  env: Record<string, string>
  /** What the OS adds to Node's permission model here. */
  os: OsSandbox
  /** Its heap limit (MB): running out of it ends the process (V8 aborts). */
  memoryMb: number
}

/**
 * The process that runs a notebook's cells for `loom run` (DESIGN §9): Node's
 * permission model with no addons (SQLite stays with the launcher, see
 * engine/replay/logHost.ts), no child processes, no threads (but
 * exploration's shards, `threads`) and no file
 * writes at all (but exploration's own folder, `scratch`); reads of Loom's code and the notebook file only; an empty
 * environment (the notebook's configuration reaches sys.env through the log
 * link, not the process's environment); and the OS sandbox where there is one
 * (osSandbox.ts): no network, no other files.
 */
export function runLaunch(notebookPath: string | null, launch: LaunchOptions = {}): ConfinedLaunch {
  // A replay reads no notebook: its code comes from the log, over the link.
  return confinedLaunch('runProcess.js', notebookPath === null ? null : resolve(notebookPath), launch)
}

/**
 * The REPL's and the queries' evaluator process (evaluatorProcess.ts), spawned
 * by whoever holds the log (evaluatorSpawn.ts): confined as runLaunch's, reading
 * no notebook, with a heap limit of its own (`memoryMb`).
 */
export function evaluatorLaunch(memoryMb: number, launch: LaunchOptions = {}): ConfinedLaunch {
  // ArrayBuffers live outside the heap its limit counts: the process's address space is limited too
  // (Node itself reserves about 1 GB), so that a huge one is refused (a RangeError) rather than filling the machine.
  return confinedLaunch('evaluatorProcess.js', null, { ...launch, memoryMb }, ADDRESS_SPACE_MB + memoryMb)
}

/** The address space of the evaluator process beyond its heap: Node's own reservations and a bounded room for ArrayBuffers. */
const ADDRESS_SPACE_MB = 2048

/** util-linux's prlimit, which sets a limit of the process it starts (Node has no setrlimit). */
function prlimit(): string | undefined {
  return process.platform === 'linux' ? ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p)) : undefined
}

function confinedLaunch(entryName: string, notebook: string | null, launch: LaunchOptions, addressSpaceMb?: number): ConfinedLaunch {
  const say = launch.say ?? ((line: string) => void process.stderr.write(`loom: ${line}\n`))
  const entry = join(dirname(ensureEngineBundle(say)), entryName)
  // node_modules by its real path too: a checkout may link it from elsewhere (the OS sandbox binds real paths).
  // The notebook file alone, not its folder (cells cannot import files): a notebook kept in the home
  // folder must not open the home folder to a broken engine.
  const read = withRealPaths([REPO, join(REPO, 'node_modules'), ...(REPO.endsWith('.asar') ? [`${REPO}.unpacked`] : []), ...(notebook ? [notebook] : [])])
  const preload = launch.preload ?? testBreach()
  const nodeArgs = [
    permissionFlag(),
    ...read.map((p) => `--allow-fs-read=${p}`),
    // A thread's own CPU time (transaction/cpuClock.ts): what tells a transaction that ran away from one the machine stalled.
    ...(process.platform === 'linux' ? ['--allow-fs-read=/proc/thread-self/stat'] : []),
    // No --allow-fs-write (but exploration's own scratch folder), --allow-addons, --allow-child-process, --allow-wasi; threads only for exploration's shards.
    // (A file opened to be written back is read too: the folder is granted both.)
    ...(launch.scratch ? [`--allow-fs-read=${launch.scratch}`, `--allow-fs-write=${launch.scratch}`] : []),
    // Node warns that threads could invalidate the model: they get this process's grants, which hold no more than read.
    ...(launch.threads ? ['--allow-worker', ...known('--disable-warning', '=SecurityWarning')] : []),
    ...known('--disable-warning', '=ExperimentalWarning'),
    '--liftoff-only',
    `--max-old-space-size=${launch.memoryMb ?? engineMemoryMb()}`,
    ...(preload ? [`--import=${pathToFileURL(preload).href}`] : []),
    entry,
  ]
  const os = osSandbox()
  const limiter = addressSpaceMb ? prlimit() : undefined
  const limited = addressSpaceMb && limiter ? { command: limiter, args: [`--as=${addressSpaceMb * 2 ** 20}`, '--', process.execPath, ...nodeArgs] } : { command: process.execPath, args: nodeArgs }
  // Node's own folder is seen by the OS sandbox as well when prlimit, not node, is what it starts.
  const wrapped = os.wrap(limited.command, limited.args, limiter ? [...read, dirname(realpathSync(process.execPath))] : read, '/', launch.scratch ? [launch.scratch] : [])
  return { command: wrapped.command, args: wrapped.args, env: {}, os, memoryMb: launch.memoryMb ?? engineMemoryMb() }
}

/**
 * Tests only (test/attacks/): a module that hands cell code the engine
 * process's own `process` and `require`, to check that the confinement holds
 * when the node:vm sandbox is broken. Taken only from the launcher's own
 * environment and only from a source checkout that has the test file: a
 * notebook or a log cannot reach either.
 */
function testBreach(): string | undefined {
  if (process.env.LOOM_TEST_BREACH !== '1') return undefined
  const module = join(REPO, 'test', 'attacks', 'breach.preload.js')
  return !REPO.endsWith('.asar') && existsSync(module) ? module : undefined
}

/** A flag only where this Node has it (an older Node 20 lacks these, and would refuse to start). */
function known(flag: string, value = ''): string[] {
  return process.allowedNodeEnvironmentFlags.has(flag) ? [flag + value] : []
}

/** Each path, and its real path when a symlink leads there (Node checks module files by their real path). */
function withRealPaths(paths: string[]): string[] {
  const all = new Set<string>()
  for (const path of paths) {
    all.add(path)
    const star = path.endsWith('*')
    try {
      const real = realpathSync(star ? dirname(path) : path)
      all.add(star ? join(real, basename(path)) : real)
    } catch {
      // Not there yet (a new log): the path as given is the one that will be used.
    }
  }
  return [...all]
}
