// Small notebooks for tests: one behaviour each, built from cell sources.
import { spawn } from 'node:child_process'
import { Engine, type EngineOptions } from '../engine/runtime/engine.ts'

/** A notebook whose cells are `cells` (id → source), in order. */
export function notebook(cells: Record<string, string>, frontMatter = ''): string {
  const fm = frontMatter ? `---\n${frontMatter}\n---\n` : ''
  return fm + Object.entries(cells).map(([id, src]) => `Prose before ${id}.\n\n\`\`\`ts #${id}\n${src}\n\`\`\`\n`).join('\n')
}

/** One cell `c` that counts n up to 3 by ones, then waits: the notebook a live edit (`+ 1` → `+ 10`) is made to. */
export const COUNT_TO_THREE = notebook({ c: "const n = state.var('n', 0)\nexport function step() {\n  if (n.get() >= 3) sys.abort('enough')\n  n.set(n.get() + 1)\n}" })

export function open(cells: Record<string, string>, options: EngineOptions = {}, frontMatter = ''): Promise<Engine> {
  return Engine.fromSource(notebook(cells, frontMatter), { path: 'test.loom.md', clock: 'virtual', startTime: 1_000_000, ...options })
}

/** Values made inside the sandbox have its realm's prototypes; compare them as plain JSON. */
export function plain<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v))
}

/** The committed value of one state, as host-side plain data. */
export function value(engine: Engine, name: string): unknown {
  return plain(engine.state()[name]?.value)
}

/** The file line of `needle` inside the notebook built from `cells`. */
export function lineOf(cells: Record<string, string>, needle: string, frontMatter = ''): number {
  return notebook(cells, frontMatter).split('\n').findIndex((l) => l.includes(needle)) + 1
}

/** A seeded generator of numbers in [0, 1) (mulberry32): a fuzz or a kill schedule repeats from run to run. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `loom allow NB`, as a person does once before `loom run` or `loom serve` performs a notebook's effects. */
export async function allowEffects(path: string): Promise<void> {
  const { main } = await import('../engine/cli/main.ts')
  let said = ''
  const code = await main(['allow', path], { out: (t) => void (said += t), err: (t) => void (said += t), stdin: null })
  if (code !== 0) throw new Error(`loom allow ${path} exited ${code}: ${said}`)
}

/** `loom …` in a child process, without blocking this one (an HTTP server of the test's must answer meanwhile); killed after 90 s. `input` is its stdin. */
export function loomChild(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): { pid: number; done: Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['bin/loom.js', ...args], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t))
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t))
  child.stdin.on('error', () => {})
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  return { pid: child.pid!, done: new Promise((done) => child.on('close', (status, signal) => (clearTimeout(timer), done({ status, signal, stdout, stderr })))) }
}

/** `loomChild`, awaited. */
export function loomAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return loomChild(args).done
}
