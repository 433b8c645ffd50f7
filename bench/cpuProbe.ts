// One figure's CPU time (user + system of this process, all its threads) beside its wall time, printed as one
// line of JSON: `node --import tsx bench/cpuProbe.ts FIGURE`. Run in two checkouts alternately (`npm run bench --
// --base REV --cpu`) it compares them in a way a loaded machine barely moves: waiting for a core costs wall time, not
// CPU time, and a thread blocking (a voluntary context switch, "waits") happens as often however busy the machine is.
// FIGURE: steps (the counter in memory at 1k, 10k, 20k, 200k), durable (200k steps on the durable log),
// confined (`loom run`, 20k + 200k steps, the CPU of the launcher and of its confined cell process), history (build 100k,
// replay --verify, 1,000 seeded-random seeks).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawn } from 'node:child_process'
import { openSession } from '../engine/replay/session.ts'
import { SqliteLog } from '../engine/replay/sqliteLog.ts'
import { seek } from '../engine/replay/seek.ts'
import { verifyBranch } from '../engine/replay/replay.ts'
import { Engine } from '../engine/runtime/engine.ts'
import { counterSource, SAMPLE } from './loom.ts'
import { settledHeapMB } from './memory.ts'

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000

/** CPU and wall milliseconds of `f`. */
async function timed<T>(f: () => Promise<T> | T): Promise<{ cpuMs: number; wallMs: number; waits: number; value: T }> {
  const c0 = process.cpuUsage()
  const w0 = process.resourceUsage().voluntaryContextSwitches
  const t0 = performance.now()
  const value = await f()
  const wallMs = performance.now() - t0
  // Voluntary context switches: how often a thread of the process blocked (on I/O, a lock, another thread) — a count a loaded machine does not change.
  return { wallMs, cpuMs: cpuMs(process.cpuUsage(c0)), waits: process.resourceUsage().voluntaryContextSwitches - w0, value }
}

/** Polls every 10 ms the CPU (user + system, ms) of `pid` and its descendants, as last seen before each ended: a
 * confined cell process is not always waited for by its parent, so its time never reaches this process's children's. */
function watchTree(pid: number): { stop: () => { launcherMs: number; cellsMs: number; waits: number } } {
  const seen = new Map<number, { cpuMs: number; waits: number }>()
  const stat = (p: string) => {
    try {
      const x = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')
      return { ppid: Number(x[1]), cpuMs: (Number(x[11]) + Number(x[12])) * 10 }
    } catch {
      return null
    }
  }
  const poll = () => {
    const all = new Map<number, { ppid: number; cpuMs: number }>()
    for (const d of readdirSync('/proc')) if (/^\d+$/.test(d)) { const s = stat(d); if (s) all.set(Number(d), s) }
    const mine = new Set([pid])
    for (let grew = true; grew; ) {
      grew = false
      for (const [p, s] of all) if (!mine.has(p) && mine.has(s.ppid)) { mine.add(p); grew = true }
    }
    for (const p of mine) {
      const s = all.get(p)
      if (!s) continue
      let waits = seen.get(p)?.waits ?? 0
      try {
        waits = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? waits)
      } catch {}
      seen.set(p, { cpuMs: s.cpuMs, waits })
    }
  }
  const timer = setInterval(poll, 10)
  return {
    stop: () => {
      clearInterval(timer)
      const others = [...seen].filter(([p]) => p !== pid).map(([, s]) => s)
      return { launcherMs: seen.get(pid)?.cpuMs ?? 0, cellsMs: others.reduce((a, s) => a + s.cpuMs, 0), waits: [...seen.values()].reduce((a, s) => a + s.waits, 0) }
    },
  }
}

const figure = process.argv[2]
const out: Record<string, number> = {}
const dir = mkdtempSync(join(tmpdir(), 'loom-cpu-'))
try {
  if (figure === 'steps') {
    const { text } = await counterSource()
    const run = async (steps: number) => {
      const engine = await Engine.fromSource(text, { path: 'counter.loom.md' })
      const t = await timed(() => engine.run({ steps }))
      if (t.value.steps !== steps) throw new Error(`steps: ${t.value.steps} of ${steps}`)
      return t
    }
    for (let i = 0; i < 3; i++) await run(20_000)
    for (const n of [1_000, 10_000, 20_000, 200_000]) {
      const t = await run(n)
      out[`steps${n / 1000}k.cpuMs`] = t.cpuMs
      out[`steps${n / 1000}k.wallMs`] = t.wallMs
      out[`steps${n / 1000}k.waits`] = t.waits
    }
  } else if (figure === 'durable') {
    const { engine, log } = await openSession(SAMPLE, { db: join(dir, 'd.loom.db') })
    try {
      await engine.run({ steps: 20_000 })
      const t = await timed(() => engine.run({ steps: 200_000 }))
      if (t.value.steps !== 200_000) throw new Error('durable: not every step committed')
      out['durable.cpuMs'] = t.cpuMs
      out['durable.wallMs'] = t.wallMs
      out['durable.waits'] = t.waits
    } finally {
      log.close()
    }
  } else if (figure === 'confined') {
    const loom = resolve(import.meta.dirname, '..', 'bin', 'loom.js')
    const t0 = performance.now()
    const child = spawn(process.execPath, [loom, 'run', SAMPLE, '--db', join(dir, 'c.loom.db'), '--steps', '220000', '--json'], { stdio: ['ignore', 'ignore', 'inherit'] })
    const watch = watchTree(child.pid!)
    const code = await new Promise((done) => child.on('exit', done))
    if (code !== 0) throw new Error(`loom run exited with ${code}`)
    out['confined.wallMs'] = performance.now() - t0
    const { launcherMs, cellsMs, waits } = watch.stop()
    // The main threads' voluntary context switches: each process blocking, mostly on the other's message.
    out['confined.waits'] = waits
    out['confined.launcherCpuMs'] = launcherMs
    out['confined.cellsCpuMs'] = cellsMs
    out['confined.cpuMs'] = launcherMs + cellsMs
    const log = SqliteLog.open(join(dir, 'c.loom.db'), { create: false })
    out['confined.loggedMs'] = log.event('main', 220_001)!.time - log.event('main', 20_001)!.time
    log.close()
  } else if (figure === 'history') {
    const db = join(dir, 'h.loom.db')
    const { engine, log } = await openSession(SAMPLE, { db })
    try {
      await engine.run({ steps: 1_000 })
      const t = await timed(() => engine.run({ steps: 99_000 }))
      out['build.cpuMs'] = t.cpuMs
      out['build.wallMs'] = t.wallMs
      out['build.waits'] = t.waits
    } finally {
      log.close()
    }
    const read = SqliteLog.open(db, { create: false })
    try {
      const v = await timed(() => verifyBranch(read, 'main'))
      if (!v.value.ok) throw new Error('verify failed')
      out['verify.cpuMs'] = v.cpuMs
      out['verify.wallMs'] = v.wallMs
      out['verify.waits'] = v.waits
      // As bench/durableBench.ts does: the building's and the verify's garbage is not collected during the seeks.
      await settledHeapMB()
      let x = 0x100a
      const head = read.branchInfo('main')!.head
      const w0 = process.resourceUsage().voluntaryContextSwitches
      const cpu: number[] = []
      const wall: number[] = []
      for (let i = 0; i < 1_000; i++) {
        x = (x ^ (x << 13)) >>> 0
        x = (x ^ (x >>> 17)) >>> 0
        x = (x ^ (x << 5)) >>> 0
        const seq = 1 + Math.floor((x / 2 ** 32) * head)
        const s = await timed(() => seek(read, { branch: 'main', seq }))
        cpu.push(s.cpuMs)
        wall.push(s.wallMs)
      }
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
      const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1]!
      out['seek.waits'] = process.resourceUsage().voluntaryContextSwitches - w0
      out['seek.cpuTotalMs'] = sum(cpu)
      out['seek.wallTotalMs'] = sum(wall)
      out['seek.cpuP50Ms'] = p(cpu, 0.5)
      out['seek.cpuP99Ms'] = p(cpu, 0.99)
      out['seek.cpuMaxMs'] = p(cpu, 1)
      out['seek.wallP99Ms'] = p(wall, 0.99)
    } finally {
      read.close()
    }
  } else throw new Error(`cpuProbe: no figure '${figure}'`)
  console.log(JSON.stringify(out))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
