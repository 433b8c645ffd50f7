// A shard of a parallel exploration in a thread of its own (shardRunner.ts):
// its setup is the first message, then the main thread's requests. It opens
// no log: a moment to explore from comes read already (it may run confined,
// DESIGN §9).
import { parentPort } from 'node:worker_threads'
import { ShardRunner, type ShardSetup, type ToShard } from './shardRunner.ts'

const port = parentPort!
const post = (m: unknown) => port.postMessage(m)
let runner: Promise<ShardRunner> | null = null

// One listener from the start: a request that comes while the shard still starts waits for it, in order.
port.on('message', (m: ShardSetup | ToShard) => {
  if (!runner) {
    runner = ShardRunner.start(m as ShardSetup, post)
    runner.catch((err: Error) => post({ type: 'error', message: err.message }))
    return
  }
  const request = m as ToShard
  void runner.then(async (r) => {
    await r.handle(request)
    // Closed: its levels' files let go, the thread ends by itself.
    if (request.type === 'close') port.close()
  }, () => request.type === 'close' && port.close())
})
