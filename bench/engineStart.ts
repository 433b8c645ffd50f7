// How long `loom serve NB` takes from spawn until a WebSocket hello is
// answered (the engine process started, opened the notebook and its log),
// and whether the engine said it is confined. Standalone:
//   node --import tsx bench/engineStart.ts [runs] [sample]
import { copyFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'
import { serveNotebook } from '../test/browser.ts'

const REPO = resolve(import.meta.dirname, '..')

export async function serveToHello(sample = 'bank.loom.md'): Promise<{ ms: number; confined: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-start-'))
  const notebook = join(dir, sample)
  copyFileSync(join(REPO, 'samples', sample), notebook)
  const t0 = performance.now()
  const server = await serveNotebook(notebook, undefined, dir)
  try {
    const origin = server.origin
    const client = new EngineClient(await connectEngine(`${origin.replace('http', 'ws')}/engine`, origin))
    const hello = await client.call('hello', { token: server.token })
    const ms = performance.now() - t0
    client.close()
    return { ms, confined: !!hello.confined }
  } finally {
    await server.stop()
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const runs = Number(process.argv[2] ?? 7)
  const results = []
  for (let i = 0; i < runs; i++) results.push(await serveToHello(process.argv[3]))
  const ms = results.map((r) => Math.round(r.ms)).sort((a, b) => a - b)
  console.log(`loom serve → hello answered: median ${ms[Math.floor(ms.length / 2)]} ms over ${runs} runs (${ms.join(' ')}); engine ${results.every((r) => r.confined) ? 'confined' : 'NOT confined'}`)
}
