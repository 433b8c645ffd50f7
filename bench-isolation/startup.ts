// (d) What bubblewrap adds to starting a process: `node -e 0` plain, with the permission flags, and wrapped
// as osSandbox.ts wraps the confined engine (10 alternating runs each; median and spread in ms).
// usage: node --import tsx bench-isolation/startup.ts
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { osSandbox } from '../engine/host/osSandbox.ts'
const REPO = resolve(import.meta.dirname, '..')
const os = osSandbox()
const perm = ['--experimental-permission', `--allow-fs-read=${REPO}`, '--disable-warning=ExperimentalWarning', '-e', '0']
const wrapped = os.wrap(process.execPath, perm, [REPO], REPO)
const kinds: Record<string, [string, string[]]> = { plain: [process.execPath, ['-e', '0']], permission: [process.execPath, perm], [`permission+${os.kind}`]: [wrapped.command, wrapped.args] }
const times: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]))
for (let i = 0; i < 10; i++) for (const [k, [cmd, args]] of Object.entries(kinds)) {
  const t0 = performance.now(); const r = spawnSync(cmd, args, { env: {} }); times[k]!.push(performance.now() - t0)
  if (r.status !== 0) throw new Error(`${k}: ${r.stderr}`)
}
const stat = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return `median ${s[5]!.toFixed(0)} (min ${s[0]!.toFixed(0)}, max ${s[9]!.toFixed(0)})` }
for (const [k, a] of Object.entries(times)) console.log(`${k.padEnd(22)} ${stat(a)} ms`)
