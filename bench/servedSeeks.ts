// Seeks as the window asks for them: `state` at a moment, answered by the
// engine process `loom serve` runs, which reads the log through its log host
// (the link), on the history the durable figures built. What a person
// scrubbing the timeline waits for, link and all.
import { EngineSupervisor } from '../engine/host/EngineSupervisor.ts'
import { forkEngine } from '../engine/host/forkEngine.ts'
import { memoryPair } from '../engine/protocol/memoryTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'

export interface ServedSeeks {
  count: number
  p50Ms: number
  p99Ms: number
}

const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!

/**
 * `count` seeded-random `state` requests at moments of branch main of `db` (the counter's history of `steps`
 * steps, opened with `notebook`: the app is not run), each state checked as bench/history.ts checks it.
 */
export async function servedSeeks(notebook: string, db: string, steps: number, count: number): Promise<ServedSeeks> {
  const supervisor = new EngineSupervisor((o) => forkEngine(o), { notebook, db }, {})
  await supervisor.start()
  const [mine, theirs] = memoryPair()
  supervisor.connect(theirs)
  const client = new EngineClient(mine)
  try {
    const { status } = await client.call('hello', {})
    const head = status.head
    let x = 0x5eec
    const times: number[] = []
    // Untimed: the first answer also opens what the engine process reads the history with.
    await client.call('state', { at: 1 })
    for (let i = 0; i < count; i++) {
      x = (x ^ (x << 13)) >>> 0
      x = (x ^ (x >>> 17)) >>> 0
      x = (x ^ (x << 5)) >>> 0
      const seq = 1 + Math.floor((x / 2 ** 32) * head)
      const t0 = performance.now()
      const { values } = await client.call('state', { at: seq })
      times.push(performance.now() - t0)
      const n = Object.values(values)[0]?.value ?? 0
      if (n !== Math.max(0, steps - (head - seq))) throw new Error(`served seek to event ${seq}: count is ${JSON.stringify(n)}`)
    }
    times.sort((a, b) => a - b)
    return { count, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) }
  } finally {
    client.close?.()
    await supervisor.stop()
  }
}
