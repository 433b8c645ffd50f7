// kill -9 of a serving `loom run` under load: every request that got its
// answer (answers are sent only once durable) is in the log after a restart,
// and the app continues from there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { seek } from '../engine/replay/seek.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-httpcrash-'))
const nb = join(dir, 'orders.loom.md')
writeFileSync(nb, `# Orders

\`\`\`ts #orders
const orders = state.map<number>('orders')
export function http(req: { body: string }) {
  const { id } = JSON.parse(req.body)
  orders.set(id, (orders.get(id) ?? 0) + 1)
  return { status: 201, body: { id } }
}
\`\`\`
`)
const db = join(dir, 'orders.loom.db')

function start(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/loom.js', 'run', nb, '--db', db, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d
      const m = /serving (http:\/\/[0-9.:]+)/.exec(err)
      if (m) resolve({ child, url: m[1]! })
    })
    child.on('exit', (code) => reject(new Error(`loom run exited (${code}): ${err}`)))
  })
}

test('kill -9 of the server under load: no acknowledged request is missing after a restart, and the app continues', { timeout: 120_000 }, async () => {
  const acked = new Set<string>()
  for (let round = 1; round <= 4; round++) {
    const { child, url } = await start()
    const atStart = acked.size
    let killed = false
    const clients = Array.from({ length: 16 }, async (_, c) => {
      for (let i = 0; !killed; i++) {
        const id = `r${round}-c${c}-${i}`
        try {
          const res = await fetch(`${url}/orders`, { method: 'POST', body: JSON.stringify({ id }) })
          if (res.status === 201) acked.add(id)
          await res.text()
        } catch {
          return // the server is gone
        }
      }
    })
    await new Promise((r) => setTimeout(r, 300 + round * 150))
    // And not before this round has acknowledged some (a loaded machine serves fewer in the same time): killed under load, never idle.
    for (let i = 0; i < 600 && acked.size - atStart < 30; i++) await new Promise((r) => setTimeout(r, 100))
    child.kill('SIGKILL')
    killed = true
    await Promise.all(clients)
    await new Promise((r) => child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r))
    const log = SqliteLog.open(db)
    const orders = seek(log, { branch: 'main', seq: log.head }).orders!.value as Record<string, number>
    for (const id of acked) assert.equal(orders[id], 1, `round ${round}: acknowledged ${id} is in the state exactly once`)
    const r = await verifyBranch(log, 'main')
    assert.equal(r.ok, true, JSON.stringify(r.failure))
    log.close()
  }
  assert.ok(acked.size > 100, `enough load: ${acked.size} acknowledged requests`)
})
