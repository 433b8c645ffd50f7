// The evaluator process: the REPL's and the queries' vm contexts, in a
// process of their own with a heap limit (--max-old-space-size), confined like
// the engine (engineLaunch.ts evaluatorLaunch: reads only Loom's code, writes
// nothing, no network where the OS sandbox is). A worker thread's
// resourceLimits do not hold here: one large allocation (`Array.from({length:
// 1e9})`) is a fatal V8 error for the whole process the worker is in. JSON
// lines on stdin, answers on stdout, one request at a time (evaluator.ts).
import { replContext, runInReplContext } from './evaluate.ts'

const contexts = new Map<number, ReturnType<typeof replContext>>()

// An expression may leave a rejected promise behind (`Promise.reject(1)`, an async function that throws, an
// `import()` the context refuses): its value was answered already, and Node's default would end this process
// for it, failing the next question of whoever shares it. Nothing of Loom's own here is asynchronous.
process.on('unhandledRejection', () => {})

function handle(m: Record<string, unknown>): Record<string, unknown> | null {
  const ctx = Number(m.ctx)
  if (m.op === 'close') {
    contexts.delete(ctx)
    return null
  }
  if (m.op === 'open') {
    contexts.set(ctx, replContext(String(m.state), String(m.bindings), String(m.moment)))
    return { ok: true }
  }
  if (m.op === 'run') {
    const context = contexts.get(ctx)
    if (!context) return { error: `no context ${ctx}` }
    return runInReplContext(context, { ...(typeof m.batch === 'string' ? { batch: m.batch } : { script: String(m.script) }), filename: String(m.filename), lineOffset: Number(m.lineOffset ?? 0), timeout: Number(m.timeout), source: typeof m.source === 'string' ? m.source : undefined })
  }
  return { error: `no op ${String(m.op)}` }
}

let partial = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (text: string) => {
  const lines = (partial + text).split('\n')
  partial = lines.pop()!
  for (const line of lines) {
    let m: unknown
    try {
      m = JSON.parse(line)
    } catch {
      continue // the rest of a line meant for an evaluator that ended
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m)) continue
    let answer: Record<string, unknown> | null
    try {
      answer = handle(m as Record<string, unknown>)
    } catch (err) {
      answer = { error: `the evaluator could not do that: ${(err as Error).message}`.slice(0, 500) }
    }
    const id = (m as { id?: unknown }).id
    if (answer && typeof id === 'number') process.stdout.write(JSON.stringify({ id, ...answer }) + '\n')
  }
  // Answers nobody reads would pile up here until the heap limit ended this process: read no more requests until they go.
  if (process.stdout.writableNeedDrain) {
    process.stdin.pause()
    process.stdout.once('drain', () => process.stdin.resume())
  }
})
process.stdin.on('end', () => process.exit(0))
