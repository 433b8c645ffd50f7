// How the main thread talks to a shard of a parallel exploration, wherever it
// runs: in a thread of its own (exploreWorker.ts) or in the main thread itself
// (on the model the main thread compiled: no start-up, a memo already warm).
// Either way its answers come in order through `next`; a shard's counts in the
// middle of a level go to `onProgress` instead.
import { Worker } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { ShardRunner, type ShardSetup, type ToShard } from './shardRunner.ts'
import type { Model } from './model.ts'

export interface ShardProgress {
  states: number
  transitions: number
  heapFull?: boolean
}

export interface ShardHandle {
  send(m: ToShard): void
  /** The shard's next answer (its first: 'ready'); rejects with the shard's error. */
  next(): Promise<any>
  /** Its 'ready' has arrived: it can take part in the next level. */
  readonly ready: boolean
  /** Ends it; resolves once it has let its levels' files go. */
  close(): Promise<void>
}

/** Answers in order: each `next` takes the oldest not taken, or waits for it. */
function answers(onProgress: (m: ShardProgress) => void) {
  const queue: any[] = []
  const takers: ((m: any) => void)[] = []
  const state = { ready: false }
  const put = (m: any) => {
    // A shard's counts in the middle of a level: progress only, no answer.
    if (m.type === 'progress') return onProgress(m)
    if (m.type === 'ready') state.ready = true
    takers.length ? takers.shift()!(m) : queue.push(m)
  }
  const next = () => new Promise<any>((resolve, reject) => {
    const settle = (m: any) => (m.type === 'error' ? reject(new Error(m.message)) : resolve(m))
    queue.length ? settle(queue.shift()) : takers.push(settle)
  })
  return { put, next, state }
}

/** How long a thread told to close may take before it is ended from outside. */
const CLOSE_MS = 5000

/** A shard in a thread of its own. */
export function threadShard(setup: ShardSetup, onProgress: (m: ShardProgress) => void): ShardHandle {
  const { put, next, state } = answers(onProgress)
  const worker = startThread(new URL('./exploreWorker.boot.js', import.meta.url))
  const fail = (err: Error) => put({ type: 'error', message: err.message })
  worker.on('message', put)
  worker.on('error', fail)
  const ended = new Promise<void>((resolve) => worker.on('exit', (code) => (resolve(), code !== 0 && fail(new Error(`an exploration thread stopped (exit ${code})`)))))
  worker.postMessage(setup, setup.peers.filter((p): p is MessagePort => p !== null))
  /** Whether it was given a level: only then may it hold a file. */
  let expanding = false
  return {
    send: (m) => {
      expanding ||= m.type === 'expand'
      worker.postMessage(m)
    },
    next,
    get ready() {
      return state.ready
    },
    close: () => {
      // A thread that was given a level lets its files go and ends by itself (a file it opened is the
      // process's, not the thread's: ending it from outside would leave the file held); ended from outside
      // if it hangs. One that never took part holds none: ended at once.
      worker.postMessage({ type: 'close' } satisfies ToShard)
      const hung = setTimeout(() => void worker.terminate(), expanding ? CLOSE_MS : 0)
      return ended.finally(() => clearTimeout(hung))
    },
  }
}

/**
 * A thread that loads the engine itself (its boot file takes the bundle, or registers tsx when the bundle is
 * stale): a tsx loader this process was started with (`node --import tsx`, as the bench and tests are) is left
 * out, or every thread would register it again for nothing, about 0.1 s of CPU time each. A thread takes no
 * V8 flag, so if another flag is one, the thread gets them all as this process has them.
 */
function startThread(url: URL): Worker {
  const argv = process.execArgv
  const tsx = argv.flatMap((a, i) => (/^--(import|require|loader|experimental-loader)(=.*)?$/.test(a) && /\btsx\b/.test(a.includes('=') ? a : argv[i + 1] ?? '') ? (a.includes('=') ? [i] : [i, i + 1]) : []))
  if (!tsx.length) return new Worker(url)
  try {
    return new Worker(url, { execArgv: argv.filter((_, i) => !tsx.includes(i)) })
  } catch {
    return new Worker(url)
  }
}

/** A shard in the main thread, on `model` when given; a level runs in batches with the event loop's turns between them. */
export function localShard(setup: ShardSetup, onProgress: (m: ShardProgress) => void, model?: Model): ShardHandle {
  const { put, next, state } = answers(onProgress)
  const fail = (err: unknown) => put({ type: 'error', message: (err as Error).message })
  const runner = ShardRunner.start(setup, put, { model, local: true })
  runner.catch(fail)
  return {
    send: (m) => void runner.then((r) => r.handle(m)).catch(fail),
    next,
    get ready() {
      return state.ready
    },
    close: () => runner.then((r) => r.handle({ type: 'close' })).catch(() => {}),
  }
}
