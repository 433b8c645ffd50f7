import { openSession } from '../engine/replay/session.ts'
const { engine, log } = await openSession('samples/counter.loom.md', { db: process.argv[2]! })
await engine.run({ steps: Number(process.argv[3]) })
log.close()
