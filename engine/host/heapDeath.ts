// Whether a process that runs cells ended because it ran out of its heap
// (--max-old-space-size, engineLaunch.ts): V8 then prints its own report to
// stderr and aborts. The report (tens of lines of GC traces and native frames)
// is held back from the person running Loom, who is told instead what limit
// was reached and what was committed.
import type { Readable } from 'node:stream'

/** The first line of V8's report when a heap limit is reached: only a dying process prints it. */
const BANNER = /<--- Last few GCs --->|FATAL ERROR: .*(heap out of memory|Allocation failed)|Fatal process out of memory/

export interface HeapDeathWatch {
  /** True once V8's report has begun. */
  readonly reported: boolean
  /** Did the process that ended with `code`/`signal` run out of its heap? */
  outOfMemory(code: number | null, signal: NodeJS.Signals | null): boolean
}

/** Passes `stderr` on to `write` until V8's out-of-memory report begins, and keeps what comes after to itself. */
export function watchHeapDeath(stderr: Readable, write: (text: string) => void): HeapDeathWatch {
  let reported = false
  let partial = ''
  stderr.setEncoding('utf8')
  stderr.on('data', (text: string) => {
    if (reported) return
    const lines = (partial + text).split('\n')
    partial = lines.pop()!
    const at = lines.findIndex((line) => BANNER.test(line))
    if (at < 0 && !BANNER.test(partial)) {
      if (lines.length) write(lines.join('\n') + '\n')
      // A long line with no end yet is passed on as it is.
      if (partial.length > 4096) (write(partial), (partial = ''))
      return
    }
    reported = true
    // V8 starts its report with an empty line.
    const before = lines.slice(0, at < 0 ? lines.length : at).join('\n').trimEnd()
    if (before) write(before + '\n')
  })
  stderr.on('end', () => void (!reported && partial && write(partial)))
  return {
    get reported() {
      return reported
    },
    // V8 aborts after its report: SIGABRT, or 134 from bubblewrap, which passes its child's end on as a code.
    outOfMemory: (code, signal) => reported && (signal === 'SIGABRT' || code === 134),
  }
}

/** How an out-of-memory end is said: `who` ran out, at which limit, `where` (what it was doing), and how to set the limit. */
export function ranOutOfMemory(who: string, limitMb: number, where = ''): string {
  return `${who} ran out of memory at its limit of ${limitMb} MB${where}; LOOM_ENGINE_MEMORY_MB=N sets the limit`
}
