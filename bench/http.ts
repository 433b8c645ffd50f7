// HTTP requests per second for the todo sample with durable commits, against
// the same handler as a plain Node server on SQLite. Both servers and the load
// generator (autocannon) run as separate processes on loopback.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Each server is compared with the one that makes the same promise when it
 * answers: durable on disk (fsync: Loom's default, SQLite's synchronous=FULL,
 * SQLite's default), or only handed to the OS (survives a crash of the
 * process, not a power loss: loom run --no-fsync, synchronous=NORMAL).
 */
export interface HttpFigures {
  connections: number
  seconds: number
  loom: Load
  plain: Load
  ratio: number
  loomNoFsync: Load
  plainNormal: Load
  ratioNoFsync: number
}

export interface Load {
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  errors: number
  non2xx: number
}

const root = fileURLToPath(new URL('..', import.meta.url))

function start(args: string[], input: 'stdout' | 'stderr'): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child[input]!.setEncoding('utf8').on('data', (d: string) => {
      text += d
      const m = /serving (http:\/\/[0-9.:]+)/.exec(text)
      if (m) resolve({ child, url: m[1]! })
    })
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${text}`)))
  })
}

function load(url: string, connections: number, seconds: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const args = [join(root, 'node_modules/autocannon/autocannon.js'), '-c', String(connections), '-d', String(seconds), '-m', 'POST',
      '-H', 'content-type=application/json', '-b', '{"title":"bench"}', '--json', `${url}/todos`]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.on('exit', () => {
      try {
        const r = JSON.parse(out)
        resolve({ requestsPerSecond: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx })
      } catch (err) {
        reject(new Error(`autocannon: ${(err as Error).message}: ${out.slice(0, 200)}`))
      }
    })
  })
}

async function measure(args: string[], input: 'stdout' | 'stderr', connections: number, seconds: number): Promise<Load> {
  const { child, url } = await start(args, input)
  try {
    await load(url, connections, 1) // warm-up
    return await load(url, connections, seconds)
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
}

export async function measureHttp(quick: boolean): Promise<HttpFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-http-'))
  const connections = 32
  const seconds = quick ? 3 : 8
  try {
    const loomRun = (db: string, ...flags: string[]) => ['bin/loom.js', 'run', 'samples/todo.loom.md', '--db', join(dir, db), '--port', '0', ...flags]
    const plainRun = (db: string, sync: string) => ['--import', 'tsx', 'bench/plainTodoServer.ts', join(dir, db), sync]
    const loom = await measure(loomRun('todo.loom.db'), 'stderr', connections, seconds)
    const plain = await measure(plainRun('plain.db', 'FULL'), 'stdout', connections, seconds)
    const loomNoFsync = await measure(loomRun('todo-os.loom.db', '--no-fsync'), 'stderr', connections, seconds)
    const plainNormal = await measure(plainRun('plain-os.db', 'NORMAL'), 'stdout', connections, seconds)
    return {
      connections, seconds, loom, plain, ratio: loom.requestsPerSecond / plain.requestsPerSecond,
      loomNoFsync, plainNormal, ratioNoFsync: loomNoFsync.requestsPerSecond / plainNormal.requestsPerSecond,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function httpTable(f: HttpFigures): string {
  const row = (name: string, l: Load) =>
    `${name.padEnd(64)} ${Math.round(l.requestsPerSecond).toLocaleString('en-US').padStart(8)} req/s   p50 ${String(l.p50Ms).padStart(3)} ms   p99 ${String(l.p99Ms).padStart(4)} ms${l.errors || l.non2xx ? `   (${l.errors} errors, ${l.non2xx} non-2xx)` : ''}`
  return [
    `HTTP: todo sample, POST /todos, autocannon -c ${f.connections} for ${f.seconds} s in its own process, loopback`,
    '',
    'answered once on disk (fsync):',
    row('  loom run samples/todo.loom.md (fsync per group commit)', f.loom),
    row('  plain node http + SQLite, a transaction per request (FULL)', f.plain),
    `  loom ÷ plain ${f.ratio.toFixed(2)}×`,
    'answered once handed to the OS (survives a crash, not a power loss):',
    row('  loom run samples/todo.loom.md --no-fsync', f.loomNoFsync),
    row('  plain node http + SQLite, a transaction per request (NORMAL)', f.plainNormal),
    `  loom ÷ plain ${f.ratioNoFsync.toFixed(2)}×`,
    '',
    `target Loom with durable commits at least as fast as the plain server that also answers only once on disk: ${f.ratio >= 1 ? 'met' : 'NOT met'} (${f.ratio.toFixed(2)}×)`,
    `without fsync on either side: ${f.ratioNoFsync >= 1 ? 'Loom as fast or faster' : 'the plain server is faster'} (${f.ratioNoFsync.toFixed(2)}×)`,
  ].join('\n')
}
