// How long `loom serve NB` takes from spawn until a WebSocket hello is
// answered (the engine process started, opened the notebook and its log),
// and whether the engine said it is confined. Standalone:
//   node --import tsx bench/engineStart.ts [runs] [sample]
import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { connectEngine } from '../engine/host/socketTransport.ts'
import { EngineClient } from '../engine/protocol/client.ts'

const REPO = resolve(import.meta.dirname, '..')

export async function serveToHello(sample = 'bank.loom.md'): Promise<{ ms: number; confined: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-start-'))
  const notebook = join(dir, sample)
  copyFileSync(join(REPO, 'samples', sample), notebook)
  const t0 = performance.now()
  const child = spawn(process.execPath, [join(REPO, 'bin', 'loom.js'), 'serve', notebook], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    const url = await new Promise<string>((ok, fail) => {
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const m = /at (http:\/\/\S+)\//.exec(out)
        if (m) ok(m[1]!)
      })
      child.once('exit', (code) => fail(new Error(`loom serve stopped (exit ${code})`)))
    })
    const client = new EngineClient(await connectEngine(`${url.replace('http', 'ws')}/engine`, url))
    const hello = await client.call('hello', {})
    const ms = performance.now() - t0
    client.close()
    return { ms, confined: !!hello.confined }
  } finally {
    child.kill('SIGINT')
    await new Promise((ok) => child.once('exit', ok))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const runs = Number(process.argv[2] ?? 7)
  const results = []
  for (let i = 0; i < runs; i++) results.push(await serveToHello(process.argv[3]))
  const ms = results.map((r) => Math.round(r.ms)).sort((a, b) => a - b)
  console.log(`loom serve → hello answered: median ${ms[Math.floor(ms.length / 2)]} ms over ${runs} runs (${ms.join(' ')}); engine ${results.every((r) => r.confined) ? 'confined' : 'NOT confined'}`)
}
