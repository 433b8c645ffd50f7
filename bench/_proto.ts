import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { seek } from '../engine/replay/seek.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
const dir = mkdtempSync(tmpdir() + '/loom-bench-')
const N = Number(process.argv[2] ?? 100000)
const db = dir + '/h.loom.db'
let { engine, log } = await openSession('samples/counter.loom.md', { db })
let t = performance.now()
await engine.run({ steps: N })
console.log('build', N / ((performance.now() - t) / 1000), engine.head, process.memoryUsage().heapUsed / 1e6)
log.close()
const size = statSync(db).size + (existsSync(db + '-wal') ? statSync(db + '-wal').size : 0)
console.log('bytes/event', size / N)
const l = SqliteLog.open(db, { create: false })
const ts: number[] = []
const head = l.head
for (let i = 0; i < 1000; i++) { const s = 1 + Math.floor(Math.random() * head); const a = performance.now(); seek(l, { branch: 'main', seq: s }); ts.push(performance.now() - a) }
ts.sort((a, b) => a - b)
console.log('seek p50', ts[500], 'p99', ts[990], 'max', ts[999])
t = performance.now()
const r = await verifyBranch(l, 'main')
console.log('verify', r.ok, r.events, r.events / ((performance.now() - t) / 1000))
l.close()
rmSync(dir, { recursive: true })
