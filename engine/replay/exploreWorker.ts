// A shard of a parallel exploration in a thread of its own (shardRunner.ts):
// its setup is the first message, then the main thread's requests. It opens
// no log: a moment to explore from comes read already (it may run confined,
// DESIGN §9).
import { parentPort } from 'node:worker_threads'
import { ShardRunner, type ShardSetup, type ToShard } from './shardRunner.ts'

const port = parentPort!

port.once('message', async (setup: ShardSetup) => {
  try {
    const runner = await ShardRunner.start(setup, (m) => port.postMessage(m))
    port.on('message', (m: ToShard) => {
      void runner.handle(m)
      if (m.type === 'close') port.close()
    })
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message })
  }
})
