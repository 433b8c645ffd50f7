// `loom explore`'s progress while it runs, on stderr about every second:
// states found, depth, states/s and memory — one line, on a terminal
// rewritten in place, otherwise one plain line each time. Output only: what
// it shows never decides anything (exploration's budget is counted work).
import type { Progress } from '../replay/explore.ts'

/** How the progress is shown: rewritten in place on a terminal ('tty'), plain lines ('lines'), or not at all. */
export type ProgressMode = 'tty' | 'lines' | null

/** Up one line and clear it: the next progress line takes the last one's place. */
const UNDO_LINE = '\x1b[1A\x1b[2K'

export interface ProgressLine {
  /** The counts so far (shown at the next tick). */
  update(p: Progress): void
  /** No more lines; on a terminal the last one is cleared, so the report stands alone. Once is enough; again does nothing. */
  end(): void
}

export function progressLine(mode: ProgressMode, write: (text: string) => void, everyMs = 1000): ProgressLine {
  let now: Progress = { states: 0, transitions: 0, depth: 0 }
  if (!mode) return { update: () => {}, end: () => {} }
  let shown = false
  let last = { at: performance.now(), states: 0 }
  const timer = setInterval(() => {
    const at = performance.now()
    const rate = Math.round(((now.states - last.states) * 1000) / Math.max(1, at - last.at))
    last = { at, states: now.states }
    const mb = Math.round(process.memoryUsage().rss / 2 ** 20)
    const line = `loom: exploring: ${now.states.toLocaleString('en')} states, ${now.transitions.toLocaleString('en')} transitions, depth ${now.depth}, ${rate.toLocaleString('en')} states/s, ${mb.toLocaleString('en')} MB`
    write((mode === 'tty' && shown ? UNDO_LINE : '') + line + '\n')
    shown = true
  }, everyMs)
  timer.unref()
  return {
    update: (p) => void (now = p),
    end: () => {
      clearInterval(timer)
      if (mode === 'tty' && shown) write(UNDO_LINE)
      shown = false
    },
  }
}
