// Effects per second: actions (sys.http.send) round-tripped to a loopback HTTP
// server through Loom — committed, performed after the commit, each outcome an
// effect event handled by effect(result) — against the same POSTs made with
// plain fetch in Node, at the same number in flight.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Engine } from '../engine/runtime/engine.ts'
import { performEffect } from '../engine/runtime/effects/perform.ts'

export interface EffectFigures {
  actions: number
  loomPerSecond: number
  plainPerSecond: number
  /** CPU time of this process per action (ms), both sides: wall-clock rates drift on a loaded machine. */
  loomCpuMs: number
  plainCpuMs: number
  ratio: number
}

/** At most this many requests in flight on either side (Loom performs what it committed; plain fetch is held to the same). */
const IN_FLIGHT = 32

export async function measureEffects(quick: boolean): Promise<EffectFigures> {
  const actions = quick ? 500 : 2000
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.end('ok'))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charge`
  try {
    const loom = await throughLoom(url, actions)
    const plain = await plainFetch(url, actions)
    return { actions, loomPerSecond: loom.perSecond, plainPerSecond: plain.perSecond, loomCpuMs: loom.cpuMs, plainCpuMs: plain.cpuMs, ratio: loom.perSecond / plain.perSecond }
  } finally {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
}

async function throughLoom(url: string, actions: number): Promise<{ perSecond: number; cpuMs: number }> {
  // A step sends while fewer than IN_FLIGHT are unanswered; effect() counts each outcome.
  const text = `---
effects: { http: ['http://127.0.0.1:*'] }
---
\`\`\`ts #pay
const sent = state.counter('sent')
const done = state.counter('done')
export function step() {
  if (sent.get() >= ${actions} || sent.get() - done.get() >= ${IN_FLIGHT}) sys.abort('enough in flight')
  sys.http.send({ url: '${url}', body: { n: sent.get() } }, { attempts: 1 })
  sent.add(1)
}
export function effect(result) {
  if (!result.ok) throw new Error('the action failed: ' + (result.error ?? result.status))
  done.add(1)
}
\`\`\`
`
  const engine = await Engine.fromSource(text, { path: 'bench-effects.loom.md', performEffect: (r) => performEffect(r, '.').then((response) => ({ response })) })
  const cpu = process.cpuUsage()
  const began = performance.now()
  for (let i = 0; i < 100_000 && (engine.state().done?.value as number) < actions; i++) await engine.run({ untilIdle: true })
  const ms = performance.now() - began
  const used = process.cpuUsage(cpu)
  if ((engine.state().done?.value as number) !== actions) throw new Error(`effects bench: ${String(engine.state().done?.value)} of ${actions} outcomes`)
  return { perSecond: (actions * 1000) / ms, cpuMs: (used.user + used.system) / 1000 / actions }
}

async function plainFetch(url: string, actions: number): Promise<{ perSecond: number; cpuMs: number }> {
  const cpu = process.cpuUsage()
  const began = performance.now()
  let next = 0
  const worker = async () => {
    while (next < actions) {
      const n = next++
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': String(n) }, body: JSON.stringify({ n }) })
      if (!res.ok) throw new Error(`plain fetch: ${res.status}`)
      await res.text()
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  const ms = performance.now() - began
  const used = process.cpuUsage(cpu)
  return { perSecond: (actions * 1000) / ms, cpuMs: (used.user + used.system) / 1000 / actions }
}

export function effectsTable(f: EffectFigures): string {
  const row = (name: string, perSecond: number, cpuMs: number) => `${name.padEnd(64)} ${Math.round(perSecond).toLocaleString('en-US').padStart(8)} actions/s   ${cpuMs.toFixed(3)} ms CPU each`
  return [
    `Effects: ${f.actions.toLocaleString('en-US')} POSTs to a loopback server, at most ${IN_FLIGHT} in flight`,
    row('  loom (in-process, in-memory log): send, commit, perform, effect()', f.loomPerSecond, f.loomCpuMs),
    row('  plain fetch in Node', f.plainPerSecond, f.plainCpuMs),
    `  loom ÷ plain ${f.ratio.toFixed(2)}×`,
  ].join('\n')
}
