// Starts the REPL's and the queries' evaluator process (evaluatorProcess.ts)
// when it is first asked, and again after it ended: an expression that ran
// out of its heap ends only that process, and this says so to the asker with
// a `died` line (evaluator.ts). Runs where processes may be started — the
// `loom` command, or `loom serve`'s supervisor, which relays the confined
// engine process's fd 5 here (relayEvaluator) since the engine may start none.
import { spawn, type ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import { evaluatorLaunch, evalMemoryMb } from './engineLaunch.ts'
import { Evaluator, type EvaluatorDied, type EvaluatorPipe } from './evaluator.ts'
import { watchHeapDeath } from './heapDeath.ts'
import { killConfined } from './killConfined.ts'

export interface EvaluatorProcesses extends EvaluatorPipe {
  readonly memoryMb: number
  /** Writes to the evaluator process; false: its pipe is full, and `drained` calls back once it has room (or it ended). */
  write(text: string): boolean
  drained(fn: () => void): void
  /** Stops (true) or goes on (false) reading its answers: whoever relays them waits for its own reader. */
  pauseAnswers(paused: boolean): void
  /** Starts the evaluator process now, if none runs: it boots while the asker reads the log. */
  warm(): void
  /** Ends the evaluator process, if one runs; the next write starts another. */
  close(): void
}

export function evaluatorProcesses(memoryMb = evalMemoryMb()): EvaluatorProcesses {
  let child: ChildProcess | null = null
  const receivers: ((text: string) => void)[] = []
  let busy = false
  let paused = false
  let drainWaiters: (() => void)[] = []
  const drain = () => {
    const waiters = drainWaiters
    drainWaiters = []
    waiters.forEach((fn) => fn())
  }
  const start = (): ChildProcess => {
    const launch = evaluatorLaunch(memoryMb)
    const c = spawn(launch.command, launch.args, { env: launch.env, stdio: ['pipe', 'pipe', 'pipe'] })
    // What it says is not shown (its asker is told instead); only whether V8 reported an exhausted heap counts.
    const heap = watchHeapDeath(c.stderr!, () => {})
    c.stdout!.setEncoding('utf8').on('data', (t: string) => receivers.forEach((fn) => fn(t)))
    c.stdin!.on('error', () => {}) // written to as it died: its exit says so
    c.stdin!.on('drain', drain)
    if (paused) c.stdout!.pause()
    c.on('error', () => {})
    // Once its output is all read: an answer it sent before it ended is still an answer.
    c.on('close', (code, signal) => {
      if (child === c) child = null
      const died: EvaluatorDied = { oom: heap.outOfMemory(code, signal), how: signal ? `signal ${signal}` : `exit code ${code}` }
      receivers.forEach((fn) => fn(`\n${JSON.stringify({ died })}\n`))
      drain() // what was waiting to be written goes to the next one
    })
    hold(c, busy)
    return c
  }
  return {
    memoryMb,
    write(text) {
      child ??= start()
      return child.stdin!.write(text)
    },
    drained(fn) {
      if (child?.stdin?.writableNeedDrain) drainWaiters.push(fn)
      else fn()
    },
    pauseAnswers(p) {
      paused = p
      if (child) p ? child.stdout!.pause() : child.stdout!.resume()
    },
    onData(fn) {
      receivers.push(fn)
    },
    warm() {
      child ??= start()
    },
    hold(b) {
      busy = b
      if (child) hold(child, b)
    },
    close() {
      if (child) killConfined(child)
      child = null
    },
  }
}

/** A process the asker does not wait for keeps no one alive while nothing is asked of it. */
function hold(c: ChildProcess, busy: boolean): void {
  for (const s of [c, c.stdin, c.stdout, c.stderr] as { ref?: () => void; unref?: () => void }[]) (busy ? s.ref : s.unref)?.call(s)
}

/** An evaluator for this process, in a process of its own (started at once). */
export function spawnedEvaluator(memoryMb = evalMemoryMb()): Evaluator & { end(): void } {
  const processes = evaluatorProcesses(memoryMb)
  processes.warm()
  return Object.assign(new Evaluator(processes, memoryMb), { end: () => processes.close() })
}

/**
 * The supervisor's side of an engine process's evaluator pipe: bytes relayed
 * both ways unread, to an evaluator process started when asked and again after
 * it ended; ended with the engine's end of the pipe.
 */
export function relayEvaluator(socket: Socket, memoryMb = evalMemoryMb()): void {
  const processes = evaluatorProcesses(memoryMb)
  // With backpressure both ways: an engine that floods the pipe, or stops reading its answers, waits;
  // this process (loom serve) keeps no more than the pipes' buffers for it.
  let waiting = false
  processes.onData((text) => {
    if (!socket.destroyed && !socket.write(text) && !waiting) {
      waiting = true
      processes.pauseAnswers(true)
      socket.once('drain', () => {
        waiting = false
        processes.pauseAnswers(false)
      })
    }
  })
  socket.setEncoding('utf8')
  socket.on('data', (text: string) => {
    if (!processes.write(text)) {
      socket.pause()
      processes.drained(() => socket.resume())
    }
  })
  socket.on('error', () => {})
  socket.on('close', () => processes.close())
}
