// A reporter for Node's test runner (scripts/test.js adds it after the spec reporter): once the run is over,
// how long each of the slowest test files took from its process's start to its end, load and imports included.
// What it prints is what SLOWEST_FIRST in scripts/test.js is kept up to date from.
import { relative } from 'node:path'

const SHOWN = 10

export default async function* fileTimes(source) {
  const seconds = new Map()
  for await (const event of source) {
    // A file run in its own process is reported as a test named after the file, completed when its process ends.
    if (event.type === 'test:complete' && event.data.file && event.data.name === event.data.file) {
      seconds.set(relative(process.cwd(), event.data.file), (event.data.details?.duration_ms ?? 0) / 1000)
    }
  }
  if (seconds.size < 2) return
  const slowest = [...seconds].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)
  yield `\nthe slowest test files (s, from start to end of each file's process):\n`
  for (const [file, s] of slowest) yield `${s.toFixed(1).padStart(8)}  ${file}\n`
}
