// The engine process's start message with the notebook's cells compiled
// already, when it has no log yet. A confined engine may not start native
// esbuild (a child process) and runs it as WebAssembly, which takes ~0.2 s of
// CPU to start: the launcher, which may, compiles the cells while the engine
// process boots, and the engine keeps them in its log (KeptCells). Once there
// is a log the cells are in it, and compiling them here would only compete
// with the window for the CPU.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { defaultDbPath } from '../replay/dbPath.ts'
import type { EngineProcess, ToEngine } from './engineLink.ts'
import type { HostOptions } from './EngineHost.ts'

/** Past this, the engine starts without them (and compiles as it would have). */
const WAIT_MS = 1000

/** `child`, whose start message carries the notebook's compiled cells when it has no log; later messages wait behind it. */
export function sendCompiledCells(child: EngineProcess): EngineProcess {
  let waiting: ToEngine[] | null = null
  return {
    get pid() {
      return child.pid
    },
    send(message) {
      if (waiting) return void waiting.push(message)
      if (!('start' in message) || hasLog(message.start)) return child.send(message)
      waiting = []
      void withCompiledCells(message.start).then((start) => {
        child.send({ start })
        for (const m of waiting!.splice(0)) child.send(m)
        waiting = null
      })
    },
    onMessage: (fn) => child.onMessage(fn),
    onExit: (fn) => child.onExit(fn),
    kill: () => child.kill(),
  }
}

function hasLog(options: HostOptions): boolean {
  return existsSync(options.db ?? defaultDbPath(options.notebook))
}

async function withCompiledCells(options: HostOptions): Promise<HostOptions> {
  const compiled = (async () => {
    // Loaded here, not at the top: the parser and the compiler are the engine's, and load only to start one.
    const [{ decodeNotebook, parseNotebook }, { compileCellsNatively }] = await Promise.all([import('../runtime/notebook.ts'), import('../runtime/transformCell.ts')])
    return compileCellsNatively(parseNotebook(decodeNotebook(await readFile(options.notebook), options.notebook), options.notebook))
  })()
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), WAIT_MS)))
  try {
    // A notebook that does not parse or compile is the engine's to report: it starts without them.
    const cells = await Promise.race([compiled, late]).catch(() => null)
    return cells?.length ? { ...options, compiled: cells } : options
  } finally {
    clearTimeout(timer)
  }
}
